"""What the regression gate needs from a case: every benchmark's item scores (the student's for each
training seed, the base's and the reference's), and, with ``--agora-repeats K``, the K-1 further students
trained on the same data with seeds train-seed+1 .. train-seed+K-1 (generation is not repeated).

PGR over K seeds is their mean with a two-level bootstrap interval (gate/stats.py). Judged benchmarks enter
that mean, and the gate's comparisons, through their per-item judged scores; their single-seed PGR keeps
the benchmark's own metric (AlpacaEval's length-controlled fit, Arena-Hard's pooled win rate).
"""

from __future__ import annotations

from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.pipeline import evaluate, train
from pytest_agorabench.pipeline.evaluate import Models, Scored
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.pipeline.students import served
from pytest_agorabench.serving import Servers
from pytest_agorabench.store import Store


def _column(rows: Any) -> dict[str, float]:
    if isinstance(rows, dict):
        return {str(k): float(v) for k, v in rows.items()}
    return {str(r["id"]): float(r["score"]) for r in rows}


def item_scores(scored: list[Scored]) -> dict[str, dict[str, Any]]:
    """benchmark -> {"ids", "student": [per seed], "base", "reference", "judged"} from the first seed."""
    out = {}
    for s in scored:
        if s.triple is None:
            continue
        student, base, reference = (_column(rows) for rows in s.triple)
        ids = sorted(student)
        out[s.outcome.name] = {
            "ids": ids,
            "student": [[student[i] for i in ids]],
            "base": [base[i] for i in ids],
            "reference": [reference[i] for i in ids],
            "judged": s.judgments_cached is not None,
            "benchmark_items": s.outcome.items,
        }
    return out


def more_seeds(
    store: Store, base: str, rows: list[dict], domain: str, models: Models, names: list[str],
    scores: dict[str, dict[str, Any]], config: RunConfig, clock: Clock, servers: Servers,
) -> list[dict[str, Any]]:
    """Train and evaluate the students of the further seeds; their item scores are appended to ``scores``.
    Returns each seed's training stats."""
    stats = []
    for seed in config.training_seeds[1:]:
        trained = train.train(store, base, rows, config, clock, "training", domain, seed=seed)
        stats.append({"seed": seed, **trained.manifest.get("stats", {})})
        student = served(str(trained.path / "model"), config)
        for name in names:
            if name not in scores:
                continue
            items = evaluate.benchmark_items(name, config)
            answers = evaluate.evaluate(store, student, name, items, config, clock, "evaluation", servers)
            if scores[name]["judged"]:
                base_answers = evaluate.evaluate(store, models.base, name, items, config, clock, "baseline_base", servers)
                ref_answers = evaluate.evaluate(
                    store, models.reference, name, items, config, clock, "baseline_reference", servers
                )
                judged = evaluate.judged(store, name, items, (answers, base_answers, ref_answers), config, clock,
                                         models.reference_source)
                if judged.triple is None:
                    continue
                answers = judged.triple[0]
            column = _column(answers)
            scores[name]["student"].append([column.get(i, float("nan")) for i in scores[name]["ids"]])
    servers.release_role("student")
    return stats


def to_items(scores: dict[str, dict[str, Any]]) -> list[Any]:
    """gate.stats.Items per benchmark, in name order; an item some seed has no usable score for is left out."""
    import numpy as np

    from pytest_agorabench.gate.stats import Items

    out = []
    for name in sorted(scores):
        entry = scores[name]
        student = np.asarray(entry["student"], dtype=float)
        keep = np.all(np.isfinite(student), axis=0)
        ids = tuple(i for i, k in zip(entry["ids"], keep) if k)
        out.append(Items(ids, student[:, keep], np.asarray(entry["base"])[keep], np.asarray(entry["reference"])[keep]))
    return out


def mean_over_seeds(scores: dict[str, dict[str, Any]], config: RunConfig, training: list[dict]) -> tuple[Any, dict]:
    """The case's PGR over its seeds (an Estimate) and the report's ``repeats`` block."""
    from pytest_agorabench.gate.stats import two_level
    from pytest_agorabench.metrics.pgr import Estimate

    interval = two_level(to_items(scores), resamples=config.profile.bootstrap_resamples, seed=config.seed)
    split = interval.extra
    estimate = Estimate(
        interval.point, interval.low, interval.high, interval.undefined_reason, interval.resamples,
        interval.dropped, interval.interval_kind, interval.interval_method, interval.excluded,
    )
    block = {
        "seeds": list(config.training_seeds),
        "pgr_by_seed": split.get("seed_pgrs"),
        "variance_seeds": split.get("variance_seeds"),
        "variance_items": split.get("variance_items"),
        "share_seeds": split.get("share_seeds"),
        "interval": "two-level bootstrap: training seeds, then benchmark items; judged benchmarks on item scores",
        "training": training,
    }
    return estimate, block

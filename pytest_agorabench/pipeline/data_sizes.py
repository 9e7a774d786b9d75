"""``--agora-sizes``: PGR against the amount of data and its cost (paper Figure 7), from one generation run.

The generation artifact keeps every instance under its index (``gen-00012`` is instance 12, in the order the
journal assigns them), so the prefix of size k is instances 0..k-1: exactly the rows, drops and tokens a run
with ``--instances k`` would have given, since that run reads the same journal. A size counts instances
*requested*, not valid rows: drops are part of what a size buys and costs, and the valid rows of each prefix
are reported beside it. The cost of a prefix is measured, not prorated: every journaled instance (accepted or
dropped) carries the tokens of all its attempts, and the prefix's are summed and priced like the case's.

Each prefix trains its own student (a normal, keyed training artifact: a rerun is served from the store)
and is evaluated like the case's student; the base and reference scores are the case's, served from the
store. The largest size is the case's own training set, so its student and PGR are the case's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pytest_agorabench import curation
from pytest_agorabench.config import RunConfig
from pytest_agorabench.generation.runner import planned_count
from pytest_agorabench.pipeline import evaluate, repeats, train
from pytest_agorabench.pipeline.evaluate import Models
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.pipeline.students import served
from pytest_agorabench.pricing import priced_model
from pytest_agorabench.serving import Servers
from pytest_agorabench.settings import Setting
from pytest_agorabench.store import Artifact, Store, content_key


def instance_index(row: dict[str, Any]) -> int:
    """The instance's position in the generation run, from its journal id (``gen-00012`` -> 12)."""
    return int(str(row["id"]).rsplit("-", 1)[1])


def prefix(rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """The rows of instances 0..size-1, in the order given."""
    return [r for r in rows if instance_index(r) < size]


def prefix_cost(accepted: list[dict[str, Any]], dropped: list[dict[str, Any]], config: RunConfig) -> dict[str, Any]:
    """Tokens of every attempt of the prefix's instances, accepted or dropped, and their price (None: the
    generator has no price)."""
    tokens_in = sum(int(r.get("input_tokens", 0)) for r in accepted + dropped)
    tokens_out = sum(int(r.get("output_tokens", 0)) for r in accepted + dropped)
    cost = priced_model(config.generator, config.prices).cost(tokens_in, tokens_out)
    return {"input_tokens": tokens_in, "output_tokens": tokens_out, "cost_usd": cost}


def measure_sizes(
    store: Store, setting: Setting, seed_rows: list[dict], generation: Artifact, kept: list[dict], base: str,
    models: Models, names: list[str], config: RunConfig, clock: Clock, servers: Servers,
) -> list[dict[str, Any]]:
    """One entry per ``config.sizes``: the prefix's counts, cost, its student's PGR with its interval (over
    the training seeds with --agora-repeats) and PGR points per dollar. ``kept``: the generated rows the
    case trains on (without the contaminated ones under --agora-decontaminate=drop, which count as the
    prefix's drops but not out of its cost). Timed as the case's "sizes" stage; the prefix students' own
    stages are kept out of the case's stage list and keys, which stay its student's."""
    own = Clock(emit=clock.emit)
    generated = generation.read_jsonl("rows.jsonl")
    dropped = generation.read_jsonl("dropped.jsonl")
    gold_key = None
    if config.reference == "gold":
        gold_rows = curation.gold_set(seed_rows)
        gold_key = content_key("training", train.training_inputs(store, base, gold_rows, config, setting.domain))
    out = []
    with clock.timed("sizes"):
        for size in config.sizes or ():
            made, rows, drops = prefix(generated, size), prefix(kept, size), prefix(dropped, size)
            entry: dict[str, Any] = {
                "instances": size,
                "requested": planned_count(setting, seed_rows, size),
                "valid": len(rows),
                "dropped": len(drops) + len(made) - len(rows),
                **prefix_cost(made, drops, config),
            }
            train_rows = curation.training_set(setting, seed_rows, rows)
            entry["train_rows"] = len(train_rows)
            estimate, student, by_seed = _prefix_student(
                store, setting, train_rows, base, models, names, config, own, servers, gold_key
            )
            cost = entry["cost_usd"]
            entry.update(
                pgr=dataclasses.asdict(estimate),
                pgr_per_usd=round(estimate.point / cost, 3) if cost and estimate.point is not None else None,
                student=student,
                pgr_by_seed=by_seed,
            )
            out.append(entry)
    return out


def _prefix_student(
    store: Store, setting: Setting, train_rows: list[dict], base: str, models: Models, names: list[str],
    config: RunConfig, clock: Clock, servers: Servers, gold_key: str | None,
) -> tuple[Any, str | None, list[float] | None]:
    """(PGR estimate, the student's training key, PGR by training seed with --agora-repeats) of one prefix."""
    from pytest_agorabench.metrics.pgr import Estimate

    student, key = models.base, None  # no row to train on: the student is S_0 and its PGR is 0
    if train_rows:
        trained = train.train(store, base, train_rows, config, clock, "training", setting.domain, seed=config.train_seed)
        student, key = served(str(trained.path / "model"), config), trained.key
        if key == gold_key:
            why = ("the prefix's training set is the gold reference's (no generated instance in it), so its "
                   "student is the reference and a PGR of 100 would hold by construction")
            return Estimate(None, None, None, why, 0), key, None
    prefix_models = dataclasses.replace(models, student=student)
    scored = evaluate.score_benchmarks(store, names, prefix_models, config, clock, servers)
    estimate, unusable = evaluate.domain_estimate(scored, config)
    if config.repeats > 1 and train_rows and not unusable:
        scores = repeats.item_scores(scored)
        more = repeats.more_seeds(store, base, train_rows, setting.domain, prefix_models, names, scores, config,
                                  clock, servers)
        estimate, block = repeats.mean_over_seeds(scores, config, more)
        return estimate, key, block["pgr_by_seed"]
    return estimate, key, None

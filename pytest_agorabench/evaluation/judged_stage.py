"""The judged benchmarks' part of a case: judge the three models' answers, then PGR on the benchmark's metric.

The answers are a store artifact like any evaluation; the judgments live in the store's judgment cache
(``<store>/judgments``), so this step is recomputed on every run but pays only for judgments it has never
made (or that failed transiently last time). PGR uses the benchmark's own metric through
``metrics.pgr``'s aggregate: AlpacaEval's length-controlled win rate refitted on every bootstrap resample,
Arena-Hard's pooled win rate. Items without a usable judgment for all three models are left out and counted.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from pytest_agorabench.evaluation.judged import ROLES, judge_benchmark
from pytest_agorabench.evaluation.judging import JudgeSettings, JudgmentCache
from pytest_agorabench.metrics.pgr import Aggregate, Estimate, benchmark_pgr
from pytest_agorabench.result import BenchmarkOutcome
from pytest_agorabench.store import canonical_json

if TYPE_CHECKING:
    from pytest_agorabench.config import RunConfig
    from pytest_agorabench.store import Store

Triple = tuple[list[dict], list[dict], list[dict]]


class JudgeMissing(ValueError):
    """A judged benchmark with no judge configured."""


def judge_settings(config: RunConfig) -> JudgeSettings:
    from pytest_agorabench.models import resolve_model

    if config.judge is None:
        raise JudgeMissing(
            "the instruction-following benchmarks are judged by a language model: name one with --judge "
            "(an alias such as gpt-4o, or an inspect model string)"
        )
    p = config.profile
    return JudgeSettings(
        model=resolve_model(config.judge).inspect_model,
        max_tokens=p.judge_max_tokens,
        max_attempts=p.judge_max_attempts,
        backoff_s=p.judge_backoff_s,
        attempt_timeout_s=p.judge_timeout_s,
        concurrency=p.judge_concurrency,
    )


def judged_outcome(
    store: Store,
    name: str,
    items: list[dict[str, Any]],
    answers: Triple,
    config: RunConfig,
    seconds: dict[str, float],
    ref_source: str,
) -> tuple[BenchmarkOutcome, Triple | None, Aggregate | None, bool]:
    """(outcome, score lists for the domain PGR or None, their aggregate, all judgments cached?)."""
    settings = judge_settings(config)
    by_role = dict(zip(ROLES, answers))
    digest = hashlib.sha256(canonical_json([name, settings.model, answers]).encode()).hexdigest()
    start = time.perf_counter()
    judged = judge_benchmark(
        name,
        items,
        by_role,
        settings,
        cache=JudgmentCache(store.root / "judgments", settings.model),
        log_dir=store.root / "logs" / "judging" / digest,
    )
    seconds["judging"] = seconds.get("judging", 0.0) + time.perf_counter() - start
    resamples = config.profile.bootstrap_resamples
    metric = judged.metric()
    summary = judged.summary()
    if metric is None:
        estimate = Estimate(None, None, None, judged.undefined_reason(), 0)
        triple = aggregate = None
    else:
        s, b, r = judged.score_lists()
        triple, aggregate = (s, b, r), judged.table.aggregate
        estimate = benchmark_pgr(s, b, r, resamples=resamples, seed=config.seed, aggregate=aggregate)
    outcome = BenchmarkOutcome(
        name=name,
        items=len(items),
        student=None if metric is None else metric["student"],
        base=None if metric is None else metric["base"],
        reference=None if metric is None else metric["reference"],
        reference_source=ref_source,
        pgr=estimate,
        judging=summary,
        details=judged.details(resamples, config.seed),
    )
    return outcome, triple, aggregate, summary["total"] == summary["cached"]


def merge_judgments(outcomes: list[BenchmarkOutcome]) -> dict[str, Any]:
    """Totals over the judged benchmarks of a case, for CaseResult.judgments."""
    total: dict[str, Any] = {"total": 0, "usable": 0, "cached": 0, "retried": 0, "failed": {}, "attempt_failures": {}}
    for outcome in outcomes:
        if not outcome.judging:
            continue
        for key in ("total", "usable", "cached", "retried"):
            total[key] += outcome.judging.get(key, 0)
        for part in ("failed", "attempt_failures"):
            for reason, n in outcome.judging.get(part, {}).items():
                total[part][reason] = total[part].get(reason, 0) + n
    total["failed"] = dict(sorted(total["failed"].items()))
    total["attempt_failures"] = dict(sorted(total["attempt_failures"].items()))
    return total if total["total"] else {}

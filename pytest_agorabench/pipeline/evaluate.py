"""The evaluation stage and what it feeds: every benchmark of a case answered by the student, the base and
the reference (S_G, S_0, S_ref), scored or judged, and turned into that benchmark's PGR.

Scored benchmarks (math, code) store per-item scores. Judged benchmarks (AlpacaEval 2.0, Arena-Hard) store
only the answers; the judgments live in the store's judgment cache, so judging is redone on every run but
pays only for judgments it has never made (or that failed transiently last time). Their PGR uses the
benchmark's own metric through ``metrics.pgr``'s aggregate: AlpacaEval's length-controlled win rate refitted
on every bootstrap resample, Arena-Hard's pooled win rate. Items without a usable judgment for all three
models are left out and counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.files import canonical_json, rows_hash, write_jsonl
from pytest_agorabench.metrics.pgr import Aggregate, Estimate, benchmark_pgr, mean_score
from pytest_agorabench.pipeline.keys import STAGE_VERSIONS, Clock, portable
from pytest_agorabench.result import BenchmarkOutcome
from pytest_agorabench.serving.pool import STUDENT, Servers
from pytest_agorabench.settings import Setting
from pytest_agorabench.store import Store

Triple = tuple[list[dict], list[dict], list[dict]]  # per-item rows of S_G, S_0, S_ref


class JudgeMissing(AgoraBenchError, ValueError):
    """A judged benchmark with no judge configured."""


@dataclass(frozen=True)
class Models:
    """The three inspect model strings a case evaluates, and where the reference came from."""

    student: str
    base: str
    reference: str
    reference_source: str


@dataclass(frozen=True)
class Scored:
    """One benchmark of a case: its outcome for the report, and what the domain PGR needs (None when the
    benchmark has no usable figure, e.g. no item with a usable judgment)."""

    outcome: BenchmarkOutcome
    triple: Triple | None
    aggregate: Aggregate | None = None
    judgments_cached: bool | None = None  # judged benchmarks: were all judgments served from the cache?


def benchmark_names(setting: Setting, config: RunConfig) -> list[str]:
    names = list(setting.benchmarks)
    if config.profile.math_benchmark == "math500":
        names = ["math500" if n == "math" else n for n in names]
    return names


def benchmark_items(name: str, config: RunConfig) -> list[dict]:
    from pytest_agorabench.evaluation.benchmarks import load_items

    if config.benchmark_dir is not None:
        return load_items(name, path=config.benchmark_dir, limit=config.profile.benchmark_limit)
    return load_items(name, source=config.profile.data_source, limit=config.profile.benchmark_limit,
                      world=config.profile.world)


def is_judged(benchmark: str) -> bool:
    from pytest_agorabench.evaluation.benchmarks import get_benchmark

    return get_benchmark(benchmark).scorer.startswith("judge:")


def evaluation_inputs(store: Store, model: str, benchmark: str, items: list[dict], config: RunConfig) -> dict[str, Any]:
    from pytest_agorabench.evaluation.benchmarks import get_benchmark

    return {
        "version": STAGE_VERSIONS["evaluation"],
        "model": portable(store, model),
        "benchmark": benchmark,
        "items": rows_hash(items),
        "max_tokens": config.profile.eval_tokens_for(get_benchmark(benchmark).domain),
        "seed": config.seed,  # each item's sampling seed derives from it (evaluation/common.item_seed)
        **({"answers_only": True} if is_judged(benchmark) else {}),
    }


def evaluate(
    store: Store, model: str, benchmark: str, items: list[dict], config: RunConfig, clock: Clock, name: str,
    servers: Servers,
) -> list[dict]:
    """Per-item rows of ``model`` on ``benchmark``: scores, or (judged benchmarks) answers only. A model
    served by vllm is started only when the store has no answer for it (servers.call)."""
    inputs = evaluation_inputs(store, model, benchmark, items, config)

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.evaluation import answer_items
        from pytest_agorabench.evaluation import evaluate as score_items

        run = answer_items if is_judged(benchmark) else score_items
        rows = servers.call(model, STUDENT, lambda endpoint: run(
            endpoint.inspect_model(), benchmark, items, max_tokens=inputs["max_tokens"], seed=config.seed,
            log_dir=store.log_dir("evaluation", key),
        ))
        write_jsonl(workdir / "scores.jsonl", rows)
        return {"items": len(rows)}

    return clock.run(name, lambda: store.once("evaluation", inputs, build), detail=benchmark).read_jsonl("scores.jsonl")


def score_benchmarks(
    store: Store, names: list[str], models: Models, config: RunConfig, clock: Clock, servers: Servers
) -> list[Scored]:
    """Evaluate the three models on every benchmark of the case and compute each benchmark's PGR. Model by
    model, so a model served by vllm is started once per case, one at a time."""
    items = {name: benchmark_items(name, config) for name in names}
    answers: dict[str, list[list[dict]]] = {name: [] for name in names}
    roles = ((models.student, "evaluation"), (models.base, "baseline_base"), (models.reference, "baseline_reference"))
    for model, stage in roles:
        for name in names:
            answers[name].append(evaluate(store, model, name, items[name], config, clock, stage, servers))
    return [_scored(store, name, items[name], answers[name], models, config, clock) for name in names]


def _scored(
    store: Store, name: str, items: list[dict], answers: list[list[dict]], models: Models, config: RunConfig,
    clock: Clock,
) -> Scored:
    s, b, r = answers
    if is_judged(name):
        return judged(store, name, items, (s, b, r), config, clock, models.reference_source)
    outcome = BenchmarkOutcome(
        name=name,
        items=len(items),
        student=mean_score(s),
        base=mean_score(b),
        reference=mean_score(r),
        reference_source=models.reference_source,
        pgr=benchmark_pgr(s, b, r, resamples=config.profile.bootstrap_resamples, seed=config.seed),
    )
    return Scored(outcome, (s, b, r))


def judge_settings(config: RunConfig) -> Any:
    """The run's ``JudgeSettings``; raises JudgeMissing (before anything is paid for) when there is no judge."""
    from pytest_agorabench.evaluation.judgments import JudgeSettings
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


def judged(
    store: Store, name: str, items: list[dict[str, Any]], answers: Triple, config: RunConfig, clock: Clock,
    ref_source: str,
) -> Scored:
    from pytest_agorabench.evaluation.judge_runner import JudgmentCache
    from pytest_agorabench.evaluation.judged_benchmarks import ROLES, judge_benchmark

    settings = judge_settings(config)
    digest = hashlib.sha256(canonical_json([name, settings.model, answers]).encode()).hexdigest()
    with clock.timed("judging", detail=name):
        judged = judge_benchmark(
            name,
            items,
            dict(zip(ROLES, answers)),
            settings,
            cache=JudgmentCache(store.judgments_dir(), settings.model),
            log_dir=store.log_dir("judging", digest),
            on_progress=clock.counter("judging", "judgments", part=name),
        )
    resamples = config.profile.bootstrap_resamples
    metric = judged.metric()
    summary = judged.summary()
    triple: Triple | None = None
    aggregate = None
    if metric is None:
        estimate = Estimate(None, None, None, judged.undefined_reason(), 0)
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
    return Scored(outcome, triple, aggregate, judgments_cached=summary["total"] == summary["cached"])


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


def domain_estimate(scored: list[Scored], config: RunConfig) -> tuple[Any, list[str]]:
    """(the domain PGR over the benchmarks, the benchmarks without a usable figure). A judged benchmark
    without a usable item leaves the domain PGR undefined, naming it."""
    from pytest_agorabench.metrics.pgr import Estimate, domain_pgr

    unusable = [s.outcome.pgr.undefined_reason or s.outcome.name for s in scored if s.triple is None]
    if unusable:
        return Estimate(None, None, None, "; ".join(unusable), 0), unusable
    return domain_pgr(
        {s.outcome.name: s.triple for s in scored},
        resamples=config.profile.bootstrap_resamples,
        seed=config.seed,
        aggregates={s.outcome.name: s.aggregate for s in scored if s.aggregate is not None},
    ), unusable

"""The stages composed into one case: seeds -> generation -> training set -> SFT -> evaluation -> PGR.

Every stage is a function of its inputs that writes one artifact to the store, so a rerun with nothing
changed is served from the store and a rerun after a change recomputes only what depends on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_agorabench import curation
from pytest_agorabench.config import RunConfig
from pytest_agorabench.models import TINY_STUDENT, resolve_model
from pytest_agorabench.result import BenchmarkOutcome, CaseResult
from pytest_agorabench.settings import Setting
from pytest_agorabench.store import Artifact, Store, read_jsonl, rows_hash, write_json_atomic, write_jsonl

# Bump a stage's version when its code changes what it produces: old artifacts stop matching.
STAGE_VERSIONS = {"student_init": 1, "generation": 1, "training": 1, "evaluation": 1, "intrinsic": 1}
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass
class _Clock:
    seconds: dict[str, float] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def run(self, name: str, fn: Callable[[], Artifact]) -> Artifact:
        start = time.perf_counter()
        art = fn()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        if art.cached:
            self.cached.append(name)
        self.keys[name] = art.key
        return art


def _logs(store: Store, stage: str, key: str) -> Path:
    return store.root / "logs" / stage / key


def student_base(config: RunConfig, store: Store) -> str:
    """The untrained student S_0 as something the trainer and the server can load (dir or hub id)."""
    if config.student != TINY_STUDENT:
        if config.student.startswith("smollm2"):
            from pytest_agorabench.providers.local_models import resolve_local_model

            return str(resolve_local_model(config.student))
        return config.student
    from pytest_agorabench.training.tiny_student import build_tiny_student

    # One fixed student per store: its tokenizer is trained on all our fixture seed text.
    corpus_files = sorted((FIXTURES / "seeds").rglob("*.jsonl"))
    corpus = [r["instruction"] + "\n" + r["response"] for f in corpus_files for r in read_jsonl(f)]
    inputs = {"version": STAGE_VERSIONS["student_init"], "corpus": rows_hash([{"t": t} for t in corpus]), "seed": 42}

    def build(workdir: Path, key: str) -> dict[str, Any]:
        return {"stats": build_tiny_student(workdir, corpus, seed=42)}

    return str(store.once("student_init", inputs, build).path)


def portable(store: Store, model: str) -> str:
    """A model reference for cache keys: paths inside the store are written relative to it, so a store that
    is moved, copied or mounted elsewhere still serves its artifacts."""
    return model.replace(str(store.root.resolve()), "<store>")


def served(model: str, config: RunConfig) -> str:
    """Inspect model string that serves weights for evaluation with the profile's server."""
    if config.profile.serving == "vllm":
        return f"vllm/{model}"
    return f"agora/{model}"


def _train(store: Store, base: str, rows: list[dict], config: RunConfig, clock: _Clock, name: str) -> Artifact:
    from pytest_agorabench.training.recipes import get_recipe

    recipe = get_recipe(config.profile.recipe)
    inputs = {
        "version": STAGE_VERSIONS["training"],
        "base": portable(store, base),
        "rows": rows_hash(rows),
        "recipe": recipe.fingerprint(),
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.training.sft import train

        return {"stats": train(base, rows, recipe, workdir / "model")}

    return clock.run(name, lambda: store.once("training", inputs, build))


def _evaluate(
    store: Store, model: str, benchmark: str, items: list[dict], config: RunConfig, clock: _Clock, name: str
) -> list[dict]:
    from pytest_agorabench.evaluation.benchmarks import get_benchmark

    spec = get_benchmark(benchmark)
    max_tokens = config.profile.eval_tokens_for(spec.domain)
    # Judged benchmarks store only the answers here: judging happens per run, through the judgment cache.
    judged = spec.scorer.startswith("judge:")
    inputs = {
        "version": STAGE_VERSIONS["evaluation"],
        "model": portable(store, model),
        "benchmark": benchmark,
        "items": rows_hash(items),
        "max_tokens": max_tokens,
        **({"answers_only": True} if judged else {}),
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.evaluation import evaluate
        from pytest_agorabench.evaluation.judged import answer_items

        run = answer_items if judged else evaluate
        scores = run(model, benchmark, items, max_tokens=max_tokens, log_dir=_logs(store, "evaluation", key))
        write_jsonl(workdir / "scores.jsonl", scores)
        return {"items": len(scores)}

    return clock.run(name, lambda: store.once("evaluation", inputs, build)).read_jsonl("scores.jsonl")


def _generate(store: Store, setting: Setting, seeds: Any, config: RunConfig, clock: _Clock) -> Artifact:
    from pytest_agorabench.generation import GENERATION_VERSION, prompt_fingerprint

    generator = resolve_model(config.generator)
    profile = config.profile
    inputs = {
        "version": [STAGE_VERSIONS["generation"], GENERATION_VERSION],
        "setting": setting.key,
        "generator": generator.inspect_model,
        "prompts": prompt_fingerprint(setting),
        "seeds": seeds.fingerprint,
        "instances": config.instances,
        "max_tokens": profile.generation_max_tokens,
        "max_attempts": profile.max_attempts,
        "seed": config.seed,
        "demo_mix": config.demo_mix,
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.generation import run_generation

        result = run_generation(
            setting,
            seeds.rows,
            model=generator.inspect_model,
            instances=config.instances,
            max_tokens=profile.generation_max_tokens,
            max_attempts=profile.max_attempts,
            seed=config.seed,
            demo_mix=config.demo_mix,
            journal=store.journal("generation", key),
            log_dir=_logs(store, "generation", key),
            concurrency=profile.generation_concurrency,
        )
        write_jsonl(workdir / "rows.jsonl", result.rows)
        write_jsonl(workdir / "dropped.jsonl", result.dropped_rows)
        summary = {
            "requested": result.requested,
            "valid": len(result.rows),
            "drops": result.drops,
            "attempts": result.attempts,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
        }
        write_json_atomic(workdir / "summary.json", summary)
        return {"summary": summary}

    return clock.run("generation", lambda: store.once("generation", inputs, build))


def _intrinsic(
    store: Store, setting: Setting, rows: list[dict], base: str, config: RunConfig, clock: _Clock
) -> dict[str, Any]:
    """Intrinsic metrics of the generated rows (AGORABENCH.md section 5), one cached stage."""
    if not config.intrinsic:
        return {"skipped": "turned off (--agora-intrinsic=off)"}
    if not rows:
        return {"skipped": "no generated rows to measure"}
    from pytest_agorabench.intrinsic.stage import cache_inputs, intrinsic_config

    log_dir = store.root / "logs" / "intrinsic"
    settings = intrinsic_config(config, base, str(log_dir))
    inputs = {
        "version": STAGE_VERSIONS["intrinsic"],
        "domain": setting.domain.value,
        "rows": rows_hash(rows),
        "settings": {k: portable(store, v) if isinstance(v, str) else v for k, v in cache_inputs(settings).items()},
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.intrinsic import measure

        result = measure(rows, setting.domain.value, config=settings)
        write_json_atomic(workdir / "intrinsic.json", result)
        return {"metrics": result["metrics"]}

    return clock.run("intrinsic", lambda: store.once("intrinsic", inputs, build)).read_json("intrinsic.json")


def benchmark_names(setting: Setting, config: RunConfig) -> list[str]:
    names = list(setting.benchmarks)
    if config.profile.math_benchmark == "math500":
        names = ["math500" if n == "math" else n for n in names]
    return names


def benchmark_items(name: str, config: RunConfig) -> list[dict]:
    from pytest_agorabench.evaluation.benchmarks import load_items

    if config.benchmark_dir is not None:
        return load_items(name, path=config.benchmark_dir, limit=config.profile.benchmark_limit)
    return load_items(name, source=config.profile.data_source, limit=config.profile.benchmark_limit)


def run_case(setting: Setting, config: RunConfig, store: Store | None = None) -> CaseResult:
    from pytest_agorabench.metrics.pgr import Estimate, benchmark_pgr, domain_pgr, mean_score
    from pytest_agorabench.seeds import load_seeds

    store = store or Store(config.store_dir)
    if config.judge is None and any(_is_judged(n) for n in benchmark_names(setting, config)):
        from pytest_agorabench.evaluation.judged_stage import judge_settings

        judge_settings(config)  # raises JudgeMissing before any generation or training is paid for
    clock = _Clock()
    start = time.perf_counter()
    seeds = load_seeds(setting, config)
    clock.seconds["seeds"] = time.perf_counter() - start

    generation = _generate(store, setting, seeds, config, clock)
    generated = generation.read_jsonl("rows.jsonl")
    summary = generation.read_json("summary.json")
    train_rows = curation.training_set(setting, seeds.rows, generated)

    start = time.perf_counter()
    base = student_base(config, store)
    clock.seconds["student_init"] = time.perf_counter() - start
    base_model = served(base, config)
    if train_rows:
        trained = _train(store, base, train_rows, config, clock, "training")
        student_model = served(str(trained.path / "model"), config)
        training = trained.manifest.get("stats", {})
    else:
        # Every generated instance was dropped: the generator gave the student nothing to learn from, so
        # the student is S_0 and its PGR is 0 by construction (the drops say why).
        student_model = base_model
        training = {"skipped": "no training rows: every generated instance was dropped"}
    if config.reference == "gold":
        gold = _train(store, base, curation.gold_set(seeds.rows), config, clock, "reference_training")
        ref_model = served(str(gold.path / "model"), config)
        ref_source = "measured (gold: the student trained on the seed data's own responses)"
    else:
        ref_model = served(config.reference, config)
        ref_source = f"measured ({config.reference})"

    intrinsic = _intrinsic(store, setting, generated, base, config, clock)

    outcomes: list[BenchmarkOutcome] = []
    per_benchmark: dict[str, tuple[list[dict], list[dict], list[dict]]] = {}
    aggregates: dict[str, Any] = {}  # benchmark -> its own metric (judged benchmarks)
    unjudged: list[str] = []  # judged benchmarks left without a usable item: the domain PGR is undefined
    judged_cached: list[bool] = []  # per judged benchmark: were all its judgments served from the cache?
    resamples = config.profile.bootstrap_resamples
    for name in benchmark_names(setting, config):
        items = benchmark_items(name, config)
        s = _evaluate(store, student_model, name, items, config, clock, "evaluation")
        b = _evaluate(store, base_model, name, items, config, clock, "baseline_base")
        r = _evaluate(store, ref_model, name, items, config, clock, "baseline_reference")
        if _is_judged(name):
            from pytest_agorabench.evaluation.judged_stage import judged_outcome

            outcome, triple, aggregate, all_cached = judged_outcome(
                store, name, items, (s, b, r), config, clock.seconds, ref_source
            )
            outcomes.append(outcome)
            judged_cached.append(all_cached)
            if triple is None:
                unjudged.append(outcome.pgr.undefined_reason or name)
            else:
                per_benchmark[name], aggregates[name] = triple, aggregate
            continue
        per_benchmark[name] = (s, b, r)
        estimate = benchmark_pgr(s, b, r, resamples=resamples, seed=config.seed)
        outcomes.append(
            BenchmarkOutcome(
                name=name,
                items=len(items),
                student=mean_score(s),
                base=mean_score(b),
                reference=mean_score(r),
                reference_source=ref_source,
                pgr=estimate,
            )
        )

    if judged_cached and all(judged_cached):
        clock.cached.append("judging")
    if unjudged:
        domain_estimate = Estimate(None, None, None, "; ".join(unjudged), 0)
    else:
        domain_estimate = domain_pgr(per_benchmark, resamples=resamples, seed=config.seed, aggregates=aggregates)
    judged_outcomes = [o for o in outcomes if o.judging]
    generator = resolve_model(config.generator)
    return CaseResult(
        setting=setting.key,
        generator=config.generator,
        student=config.student,
        reference=config.reference,
        profile=config.profile.name,
        smoke=config.profile.is_smoke,
        pgr=domain_estimate,
        benchmarks=outcomes,
        instances_requested=summary["requested"],
        instances_valid=summary["valid"],
        instances_dropped=summary["requested"] - summary["valid"],
        drops_by_reason=summary["drops"],
        seed_rows=len(seeds.rows),
        seed_drops=dict(seeds.drops),
        train_rows=len(train_rows),
        attempts=summary["attempts"],
        input_tokens=summary["input_tokens"],
        output_tokens=summary["output_tokens"],
        cost_usd=generator.cost(summary["input_tokens"], summary["output_tokens"]),
        stage_seconds={k: round(v, 3) for k, v in clock.seconds.items()},
        cached_stages=sorted(set(clock.cached)),
        artifacts=dict(clock.keys),
        training=training,
        intrinsic=intrinsic,
        judge=config.judge if judged_outcomes else None,
        judgments=_merge_judgments(judged_outcomes),
    )


def _is_judged(benchmark: str) -> bool:
    from pytest_agorabench.evaluation.benchmarks import get_benchmark

    return get_benchmark(benchmark).scorer.startswith("judge:")


def _merge_judgments(outcomes: list[BenchmarkOutcome]) -> dict[str, Any]:
    if not outcomes:
        return {}
    from pytest_agorabench.evaluation.judged_stage import merge_judgments

    return merge_judgments(outcomes)

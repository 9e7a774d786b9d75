"""The stages composed into one case: seeds -> generation -> training set -> SFT -> evaluation -> PGR.

Every stage is a function of its inputs that writes one artifact to the store, so a rerun with nothing
changed is served from the store and a rerun after a change recomputes only what depends on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_agorabench import curation
from pytest_agorabench.config import RunConfig
from pytest_agorabench.models import TINY_STUDENT
from pytest_agorabench.pricing import priced_model
from pytest_agorabench.result import BenchmarkOutcome, CaseResult
from pytest_agorabench.settings import Method, Setting
from pytest_agorabench.store import (
    Artifact,
    Store,
    content_key,
    read_jsonl,
    rows_hash,
    write_json_atomic,
    write_jsonl,
)

# Bump a stage's version when its code changes what it produces: old artifacts stop matching.
STAGE_VERSIONS = {
    "student_init": 1,
    "generation": 1,
    "training": 1,
    "evaluation": 1,
    "intrinsic": 1,
    "reward_init": 1,
}
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
    corpus = [r["instruction"] + "\n" + r["response"] for r in _fixture_seed_rows()]
    inputs = {"version": STAGE_VERSIONS["student_init"], "corpus": rows_hash([{"t": t} for t in corpus]), "seed": 42}

    def build(workdir: Path, key: str) -> dict[str, Any]:
        return {"stats": build_tiny_student(workdir, corpus, seed=42)}

    return str(store.once("student_init", inputs, build).path)


def _fixture_seed_rows() -> list[dict]:
    return [r for f in sorted((FIXTURES / "seeds").rglob("*.jsonl")) for r in read_jsonl(f)]


def smoke_reward_model(store: Store, base: str, clock: _Clock) -> str:
    """Smoke's offline reward model (intrinsic/smoke_reward.py), trained once per store on our fixtures."""
    from pytest_agorabench.intrinsic.smoke_reward import DEFAULT_STEPS

    rows = _fixture_seed_rows()
    # AGORABENCH_SMOKE_REWARD_STEPS: fewer steps for our own end-to-end tests (the machinery, not the model).
    steps = int(os.environ.get("AGORABENCH_SMOKE_REWARD_STEPS", DEFAULT_STEPS))
    inputs = {
        "version": STAGE_VERSIONS["reward_init"],
        "tokenizer": portable(store, base),
        "rows": rows_hash(rows),
        "seed": 42,
        "steps": steps,
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.intrinsic.smoke_reward import build_smoke_reward_model

        return {"stats": build_smoke_reward_model(workdir, base, rows, seed=42, steps=steps)}

    return str(clock.run("reward_init", lambda: store.once("reward_init", inputs, build)).path)


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
    from pytest_agorabench.generation import GENERATION_VERSION
    from pytest_agorabench.generation.meta_prompts import meta_prompts

    generator = priced_model(config.generator, config.prices)
    profile = config.profile
    prompts = meta_prompts(config.prompts)
    prompts.check(setting)  # a prompt folder without this setting's file fails before any model call
    # Everything that shapes one instance; the journal is keyed by this alone, so a run that asks for
    # more instances (or a budget round) continues the rows generated before instead of starting over.
    per_instance = {
        "version": [STAGE_VERSIONS["generation"], GENERATION_VERSION],
        "setting": setting.key,
        "generator": generator.inspect_model,
        "prompts": prompts.fingerprint(setting),
        "seeds": seeds.fingerprint,
        "max_tokens": profile.generation_max_tokens,
        "max_attempts": profile.max_attempts,
        "seed": config.seed,
        "demo_mix": config.demo_mix,
    }
    if config.budget_usd is None:
        sizing: dict[str, Any] = {"instances": config.instances}
    else:
        price = [generator.usd_per_1m_input, generator.usd_per_1m_output]
        sizing = {"budget_usd": config.budget_usd, "budget_cap": config.budget_cap, "price": price}
    inputs = {**per_instance, **sizing}

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.generation import run_generation

        journal_key = content_key("generation-journal", per_instance)
        with store.lock("generation-journal", journal_key):
            journal = store.journal("generation", journal_key)

            def generate(instances: int):
                return run_generation(
                    setting,
                    seeds.rows,
                    model=generator.inspect_model,
                    instances=instances,
                    max_tokens=profile.generation_max_tokens,
                    max_attempts=profile.max_attempts,
                    seed=config.seed,
                    demo_mix=config.demo_mix,
                    journal=journal,
                    log_dir=_logs(store, "generation", key),
                    concurrency=profile.generation_concurrency,
                    prompts=prompts,
                )

            budget = None
            if config.budget_usd is None:
                result = generate(config.instances)
            else:
                result, budget = _generate_for_budget(generate, generator, setting, seeds.rows, config)
        write_jsonl(workdir / "rows.jsonl", result.rows)
        write_jsonl(workdir / "dropped.jsonl", result.dropped_rows)
        summary = {
            "requested": result.requested,
            "valid": len(result.rows),
            "drops": result.drops,
            "attempts": result.attempts,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "prompts": prompts.name,
            "fence_stripped": result.fence_stripped if prompts.variant == "json" else None,
            "budget": budget,
        }
        write_json_atomic(workdir / "summary.json", summary)
        return {"summary": summary}

    return clock.run("generation", lambda: store.once("generation", inputs, build))


def _generate_for_budget(generate: Callable, generator: Any, setting: Setting, seed_rows: list, config: RunConfig):
    """``--agora-budget``: size the instances to the budget from a measured pilot (generation/budget.py)."""
    from pytest_agorabench.generation import planned_count
    from pytest_agorabench.generation.budget import DEFAULT_PILOT, run_with_budget

    cap = config.budget_cap
    if setting.method is not Method.INSTANCE_GENERATION:  # seed i gives instance i: seeds cap the count
        cap = planned_count(setting, seed_rows, cap if cap is not None else len(seed_rows))

    def spend(result: Any) -> tuple[int, float]:
        return result.requested, generator.cost(result.input_tokens, result.output_tokens) or 0.0

    result, report = run_with_budget(
        generate,
        spend,
        budget_usd=config.budget_usd,
        cap=cap,
        pilot=DEFAULT_PILOT,
        min_round=max(DEFAULT_PILOT, config.profile.generation_concurrency),
    )
    return result, report.to_dict()


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
    reward = smoke_reward_model(store, base, clock) if config.profile.is_smoke else None
    settings = intrinsic_config(config, base, str(log_dir), reward_model=reward)
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
    generator = priced_model(config.generator, config.prices)
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
        prompts=summary.get("prompts", "agorabench"),
        fence_stripped=summary.get("fence_stripped"),
        budget=summary.get("budget"),
    )


def _is_judged(benchmark: str) -> bool:
    from pytest_agorabench.evaluation.benchmarks import get_benchmark

    return get_benchmark(benchmark).scorer.startswith("judge:")


def _merge_judgments(outcomes: list[BenchmarkOutcome]) -> dict[str, Any]:
    if not outcomes:
        return {}
    from pytest_agorabench.evaluation.judged_stage import merge_judgments

    return merge_judgments(outcomes)

"""The one place that maps a RunConfig onto the stages and keys the store: ``run_case``.

    seeds.load_seeds -> generate.generate -> contamination.contamination (flag, or drop, generated rows that
    copy benchmark items) -> curation.training_set -> train.train -> evaluate.score_benchmarks
    (S_G, S_0, S_ref on every benchmark; judged ones through the judgment cache) -> metrics.pgr;
    intrinsic.intrinsic on the generated rows -> CaseResult

Every stage is a function of its inputs that writes one artifact to the store (keys.py: stage versions,
the clock, portable model references), so a rerun with nothing changed is served from the store and a rerun
after a change recomputes only what depends on it. The library packages (seeds, generation, training,
evaluation, intrinsic, metrics) take explicit arguments; only this package reads the RunConfig and the store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pytest_agorabench import curation
from pytest_agorabench.config import RunConfig
from pytest_agorabench.pipeline import evaluate, generate, intrinsic, repeats, train
from pytest_agorabench.pipeline.contamination import DROP_REASON, contamination
from pytest_agorabench.pipeline.evaluate import Models
from pytest_agorabench.pipeline.keys import Clock, portable
from pytest_agorabench.pipeline.students import served, student_base
from pytest_agorabench.pricing import priced_model
from pytest_agorabench.result import CaseResult
from pytest_agorabench.seeds import SeedSet
from pytest_agorabench.serving import STUDENT, Servers, new_session_id, visible_gpus
from pytest_agorabench.settings import Setting
from pytest_agorabench.store import Store

__all__ = ["case_seeds", "generate_data", "portable", "run_case"]


def case_seeds(setting: Setting, config: RunConfig) -> SeedSet:
    """The setting's seed rows from the run's source: --agora-seed-file, else the profile's."""
    from pytest_agorabench.seeds import load_seeds

    return load_seeds(
        setting,
        seed_file=config.seed_file,
        data_source=config.profile.data_source,
        limit=config.profile.seed_limit,
        seed=config.seed,
        world=config.profile.world,
    )


def run_case(
    setting: Setting, config: RunConfig, store: Store | None = None, servers: Servers | None = None,
    progress: Callable[..., None] | None = None, data_task: dict[str, Any] | None = None,
) -> CaseResult:
    """One case. ``servers``: the session's shared model servers (serving/); without one, the case gets
    its own and stops what it started before returning. ``progress``: receives the case's progress events
    (stages, counts; report/progress_events.py), which change nothing in its result. ``data_task``: what
    ``generate_data`` returned when another process generated this case's data first (its artifact is then
    served from the store here)."""
    store = store or Store(config.store_dir)
    if servers is not None:
        try:
            return _run_case(setting, config, store, servers, progress, data_task)
        finally:
            servers.release_role(STUDENT)  # a student server is this case's alone
    own = Servers(store.servers_dir(), new_session_id(), worker_gpus=visible_gpus(), log_dir=store.log_dir("servers"))
    try:
        return _run_case(setting, config, store, own, progress, data_task)
    finally:
        own.close()


def generate_data(
    setting: Setting, config: RunConfig, store: Store, servers: Servers, progress: Callable[..., None] | None = None
) -> dict[str, Any]:
    """The case's seeds and generation stage alone (a Ray case's first task, which needs no training GPU):
    the artifact lands in the store; returns the clock's record and the servers it called, for run_case."""
    servers.take_used()
    _check_judge(setting, config)
    clock = Clock(emit=progress)
    with clock.timed("seeds"):
        seeds = case_seeds(setting, config)
    generate.generate(store, setting, seeds, config, clock, servers)
    return {"clock": clock.record(), "servers": servers.take_used()}


def _check_judge(setting: Setting, config: RunConfig) -> list[str]:
    """The case's benchmarks; a missing judge raises JudgeMissing before any generation or training is paid for."""
    names = evaluate.benchmark_names(setting, config)
    if any(evaluate.is_judged(n) for n in names):
        evaluate.judge_settings(config)
    return names


def _run_case(
    setting: Setting, config: RunConfig, store: Store, servers: Servers, progress: Callable[..., None] | None,
    data_task: dict[str, Any] | None,
) -> CaseResult:
    from pytest_agorabench.metrics.pgr import Estimate

    servers.take_used()  # what an earlier case of this process left unreported (it failed) is not ours

    names = _check_judge(setting, config)
    clock = Clock(emit=progress)
    with clock.timed("seeds"):
        seeds = case_seeds(setting, config)

    generation = generate.generate(store, setting, seeds, config, clock, servers)
    if data_task is not None:
        clock.adopt(data_task["clock"])
    generated = generation.read_jsonl("rows.jsonl")
    summary = generation.read_json("summary.json")
    contaminated, kept = contamination(store, generation, generated, names, config, clock)
    removed = len(generated) - len(kept)  # --agora-decontaminate=drop: flagged rows, a counted drop
    drops = {**summary["drops"], DROP_REASON: removed} if config.decontaminate == "drop" else summary["drops"]
    train_rows = curation.training_set(setting, seeds.rows, kept)

    with clock.timed("student_init"):
        base = student_base(config, store)
    base_model = served(base, config)
    if train_rows:
        trained = train.train(store, base, train_rows, config, clock, "training", setting.domain, seed=config.train_seed)
        student_model = served(str(trained.path / "model"), config)
        training = trained.manifest.get("stats", {})
    else:
        # Every generated instance was dropped: the generator gave the student nothing to learn from, so
        # the student is S_0 and its PGR is 0 by construction (the drops say why).
        student_model = base_model
        training = {"skipped": "no training rows: every generated instance was dropped"}
    same_as_reference = None
    if config.reference == "gold":
        gold = train.train(
            store, base, curation.gold_set(seeds.rows), config, clock, "reference_training", setting.domain
        )
        models = Models(student_model, base_model, served(str(gold.path / "model"), config),
                        "measured (gold: the student trained on the seed data's own responses)")
        if train_rows and trained.key == gold.key:
            # Instance generation with no generated instance left trains on the seed rows alone: the student
            # is the gold reference itself, and its PGR of 100 would hold by construction, not by the data.
            same_as_reference = (
                "the student's training set is the gold reference's (no generated instance survived), so the "
                "student is the reference and its PGR of 100 holds by construction"
            )
    else:
        models = Models(student_model, base_model, served(config.reference, config), f"measured ({config.reference})")

    measured = intrinsic.intrinsic(store, setting, generated, base, config, clock)

    scored = evaluate.score_benchmarks(store, names, models, config, clock, servers)
    judged = [s for s in scored if s.judgments_cached is not None]
    if judged and all(s.judgments_cached for s in judged):
        clock.cached.append("judging")
    domain_estimate, unusable = evaluate.domain_estimate(scored, config)
    scores = repeats.item_scores(scored)
    repeated = None
    if config.repeats > 1 and train_rows and not same_as_reference and not unusable:
        more = repeats.more_seeds(
            store, base, train_rows, setting.domain, models, names, scores, config, clock, servers
        )
        domain_estimate, repeated = repeats.mean_over_seeds(scores, config, more)
    outcomes = [s.outcome for s in scored]
    if same_as_reference:
        undefined = Estimate(None, None, None, same_as_reference, 0)
        domain_estimate = undefined
        outcomes = [dataclasses.replace(o, pgr=undefined) for o in outcomes]
    judged_outcomes = [s.outcome for s in judged]
    sizes = None
    if config.sizes:
        from pytest_agorabench.pipeline.data_sizes import measure_sizes

        sizes = measure_sizes(store, setting, seeds.rows, generation, kept, base, models, names, config, clock, servers)
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
        instances_valid=summary["valid"] - removed,
        instances_dropped=summary["requested"] - summary["valid"] + removed,
        drops_by_reason=drops,
        seed_rows=len(seeds.rows),
        seed_drops=dict(seeds.drops),
        train_rows=len(train_rows),
        attempts=summary["attempts"],
        input_tokens=summary["input_tokens"],
        output_tokens=summary["output_tokens"],
        cost_usd=generator.cost(summary["input_tokens"], summary["output_tokens"]),
        notices=_notices(setting, config, len(seeds.rows)) + _structured_notices(summary),
        stage_seconds={k: round(v, 3) for k, v in clock.seconds.items()},
        cached_stages=sorted(set(clock.cached) - set(clock.waited)),
        shared_stages=sorted(set(clock.waited)),
        store_notes=list(clock.notes),
        artifacts=dict(clock.keys),
        training=training,
        intrinsic=measured,
        judge=config.judge if judged_outcomes else None,
        judgments=evaluate.merge_judgments(judged_outcomes),
        prompts=summary.get("prompts", "agorabench"),
        fence_stripped=summary.get("fence_stripped"),
        structured=summary.get("structured"),
        budget=summary.get("budget"),
        servers={**(data_task or {}).get("servers", {}), **servers.take_used()},
        repeats=repeated,
        sizes=sizes,
        item_scores=scores,
        contamination=contaminated,
    )


def _structured_notices(summary: dict) -> list[str]:
    """Rows the provider had to finish, and outputs a backend left outside the layout: said, not hidden."""
    counts = summary.get("structured") or {}
    out = []
    if counts.get("force_closed"):
        out.append(f"structured generation: {counts['force_closed']} of {summary['valid']} accepted rows had a "
                   "part closed by the provider at its token deadline")
    if counts.get("misfits"):
        out.append(f"structured generation: {counts['misfits']} outputs did not fit the layout although "
                   "constrained (the backend may have ignored the constraint)")
    return out


def _notices(setting: Setting, config: RunConfig, seed_rows: int) -> list[str]:
    from pytest_agorabench.generation.runner import cap_notice

    asked = config.instances if config.budget_usd is None else config.budget_cap
    notice = None if asked is None else cap_notice(setting, seed_rows, asked)
    return [n for n in (notice, config.structured_note) if n]

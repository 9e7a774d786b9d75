"""The generation stage: the generator writes the setting's instances (generation/), journaled per instance
so a killed run resumes, sized by --instances or by --agora-budget (generation/budget.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.files import write_json_atomic, write_jsonl
from pytest_agorabench.models import ModelSpec
from pytest_agorabench.pipeline.keys import STAGE_VERSIONS, Clock
from pytest_agorabench.pricing import priced_model
from pytest_agorabench.serving.pool import GENERATOR, Servers
from pytest_agorabench.settings import Method, Setting
from pytest_agorabench.store import Artifact, Store, content_key


def generation_inputs(setting: Setting, seeds: Any, config: RunConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """(everything that shapes one instance, the stage's whole inputs). The journal is keyed by the first
    alone, so a run that asks for more instances (or a budget round) continues the rows generated before."""
    from pytest_agorabench.generation import GENERATION_VERSION
    from pytest_agorabench.generation.meta_prompts import meta_prompts

    generator = priced_model(config.generator, config.prices)
    profile = config.profile
    prompts = meta_prompts(config.prompts)
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
    if config.structured:
        # Only when on: a store filled before the option existed (all free text) keeps serving its rows.
        grammar = prompts.layout(setting).grammar()
        per_instance["structured"] = hashlib.sha256(grammar.encode()).hexdigest()
    if config.budget_usd is None:
        sizing: dict[str, Any] = {"instances": config.instances}
    else:
        price = [generator.usd_per_1m_input, generator.usd_per_1m_output]
        sizing = {"budget_usd": config.budget_usd, "budget_cap": config.budget_cap, "price": price}
    return per_instance, {**per_instance, **sizing}


def generate(
    store: Store, setting: Setting, seeds: Any, config: RunConfig, clock: Clock, servers: Servers
) -> Artifact:
    from pytest_agorabench.generation.meta_prompts import meta_prompts

    generator = priced_model(config.generator, config.prices)
    profile = config.profile
    prompts = meta_prompts(config.prompts)
    prompts.check(setting)  # a prompt folder without this setting's file fails before any model call
    per_instance, inputs = generation_inputs(setting, seeds, config)
    journal_key = content_key("generation-journal", per_instance)

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.generation import run_generation

        counts = clock.counter("generation", "instances")
        with store.journal_lock("generation", journal_key):
            journal = store.journal("generation", journal_key)

            def run(instances: int):
                # A locally served generator is shared by the session's workers; a server that dies
                # mid-run is restarted once and the journal resumes where it stopped.
                return servers.call(generator.inspect_model, GENERATOR, lambda endpoint: run_generation(
                    setting,
                    seeds.rows,
                    model=endpoint.inspect_model(),
                    instances=instances,
                    max_tokens=profile.generation_max_tokens,
                    max_attempts=profile.max_attempts,
                    seed=config.seed,
                    demo_mix=config.demo_mix,
                    journal=journal,
                    log_dir=store.log_dir("generation", key),
                    concurrency=profile.generation_concurrency,
                    prompts=prompts,
                    on_progress=counts,
                    structured=config.structured,
                ))

            budget = None
            if config.budget_usd is None:
                result = run(config.instances)
            else:
                result, budget = _for_budget(run, generator, setting, seeds.rows, config)
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
            # --agora-structured: rows with a part the provider closed, outputs that broke the layout anyway.
            "structured": {"force_closed": result.force_closed, "misfits": result.misfits} if config.structured else None,
            "budget": budget,
        }
        write_json_atomic(workdir / "summary.json", summary)
        return {"summary": summary}

    return clock.run("generation", lambda: store.once("generation", inputs, build, journal=journal_key))


def _for_budget(run: Callable, generator: ModelSpec, setting: Setting, seed_rows: list, config: RunConfig):
    """``--agora-budget``: size the instances to the budget from a measured pilot (generation/budget.py)."""
    from pytest_agorabench.generation import planned_count
    from pytest_agorabench.generation.budget import DEFAULT_PILOT, run_with_budget

    cap = config.budget_cap
    if setting.method is not Method.INSTANCE_GENERATION:  # seed i gives instance i: seeds cap the count
        cap = planned_count(setting, seed_rows, cap if cap is not None else len(seed_rows))

    def spend(result: Any) -> tuple[int, float]:
        return result.requested, generator.cost(result.input_tokens, result.output_tokens) or 0.0

    result, report = run_with_budget(
        run,
        spend,
        budget_usd=config.budget_usd,
        cap=cap,
        pilot=DEFAULT_PILOT,
        min_round=max(DEFAULT_PILOT, config.profile.generation_concurrency),
    )
    return result, report.to_dict()

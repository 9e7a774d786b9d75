"""The intrinsic-metrics stage (AGORABENCH.md section 5): which scorers the profile uses, built from the
RunConfig into one frozen IntrinsicConfig whose fields (minus run-local paths) key the store."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.environment import EMBEDDER
from pytest_agorabench.files import rows_hash, write_json_atomic
from pytest_agorabench.intrinsic.measure import (
    PAPER_JUDGES,
    PAPER_REWARD_MODEL,
    IntrinsicConfig,
)
from pytest_agorabench.pipeline.keys import STAGE_VERSIONS, Clock, portable
from pytest_agorabench.pipeline.students import smoke_reward_model
from pytest_agorabench.settings import Setting
from pytest_agorabench.store import Store

SMOKE_JUDGE_TOKENS = 16  # a 1-5 grade is a few tokens; SmolLM2 on CPU pays per token


def structured_judge(judges: dict[str, str]) -> bool:
    """Whether every rubric judge's backend takes a grammar (our provider, our vllm servers): only those are
    held to the grade line under --agora-structured=on; an API judge keeps the free-text reply it reads well."""
    from pytest_agorabench.generation.constraint import GRAMMAR_BACKENDS, provider_of

    return all(provider_of(model) in GRAMMAR_BACKENDS for model in judges.values())


def intrinsic_config(
    config: RunConfig, student_base: str, log_dir: str, reward_model: str | None = None
) -> IntrinsicConfig:
    """Paper profile: the paper's judges, reward model and bf16 on GPU. Others: the run's judge (if any),
    ``reward_model`` (smoke: our tiny one, intrinsic/smoke_reward.py; none otherwise), perplexity under
    the student base, MiniLM embeddings."""
    from pytest_agorabench.models import resolve_model

    profile = config.profile
    if profile.name == "paper":
        return IntrinsicConfig(
            perplexity_model=student_base,
            reward_model=PAPER_REWARD_MODEL,
            reward_label="skywork",
            judges=dict(PAPER_JUDGES),
            embedder=EMBEDDER.get(),
            device="cuda",
            dtype="bfloat16",
            seed=config.seed,
            log_dir=log_dir,
        )
    judges = {}
    rubric_judge = config.judge
    if profile.rubric_judge and config.judge == profile.judge:
        rubric_judge = profile.rubric_judge  # the profile's pairwise judge cannot grade rubrics
    if rubric_judge:
        label = "".join(ch for ch in rubric_judge.split("/")[-1].lower() if ch.isalnum()) or "judge"
        judges[label] = resolve_model(rubric_judge).inspect_model
    return IntrinsicConfig(
        perplexity_model=student_base,
        reward_model=reward_model,
        embedder=EMBEDDER.get(),
        judges=judges,
        judge_max_tokens=SMOKE_JUDGE_TOKENS if profile.is_smoke else 512,
        judge_structured=bool(judges) and config.structured and structured_judge(judges),
        sample_size=profile.intrinsic_sample,
        seed=config.seed,
        log_dir=log_dir,
    )


def cache_inputs(settings: IntrinsicConfig) -> dict[str, Any]:
    """The config as cache-key inputs: the log folder does not change what is measured."""
    return {k: v for k, v in asdict(settings).items() if k != "log_dir"}


def intrinsic_inputs(store: Store, setting: Setting, rows: list[dict], settings: IntrinsicConfig) -> dict[str, Any]:
    return {
        "version": STAGE_VERSIONS["intrinsic"],
        "domain": setting.domain.value,
        "rows": rows_hash(rows),
        "settings": {k: portable(store, v) if isinstance(v, str) else v for k, v in cache_inputs(settings).items()},
    }


def intrinsic(
    store: Store, setting: Setting, rows: list[dict], base: str, config: RunConfig, clock: Clock
) -> dict[str, Any]:
    """Intrinsic metrics of the generated rows, or why they were not measured."""
    if not config.intrinsic:
        return {"skipped": "turned off (--agora-intrinsic=off)"}
    if not rows:
        return {"skipped": "no generated rows to measure"}
    reward = smoke_reward_model(store, base, clock, config.profile.world) if config.profile.is_smoke else None
    settings = intrinsic_config(config, base, str(store.log_dir("intrinsic")), reward_model=reward)
    inputs = intrinsic_inputs(store, setting, rows, settings)

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.intrinsic import measure

        result = measure(rows, setting.domain.value, config=settings)
        write_json_atomic(workdir / "intrinsic.json", result)
        return {"metrics": result["metrics"]}

    return clock.run("intrinsic", lambda: store.once("intrinsic", inputs, build)).read_json("intrinsic.json")

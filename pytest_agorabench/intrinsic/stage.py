"""The intrinsic-metrics settings of a run: which scorers the profile uses, built from the RunConfig.

Kept apart from ``measure`` so the pipeline hands over one frozen IntrinsicConfig, and its fields (minus
run-local paths) become the stage's cache key.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pytest_agorabench.intrinsic.measure import DEFAULT_EMBEDDER, PAPER_JUDGES, PAPER_REWARD_MODEL, IntrinsicConfig

if TYPE_CHECKING:
    from pytest_agorabench.config import RunConfig

SMOKE_JUDGE_TOKENS = 16  # a 1-5 grade is a few tokens; SmolLM2 on CPU pays per token


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
            embedder=os.environ.get("AGORABENCH_EMBEDDER", DEFAULT_EMBEDDER),
            device="cuda",
            dtype="bfloat16",
            seed=config.seed,
            log_dir=log_dir,
        )
    judges = {}
    if config.judge:
        label = "".join(ch for ch in config.judge.split("/")[-1].lower() if ch.isalnum()) or "judge"
        judges[label] = resolve_model(config.judge).inspect_model
    return IntrinsicConfig(
        perplexity_model=student_base,
        reward_model=reward_model,
        embedder=os.environ.get("AGORABENCH_EMBEDDER", DEFAULT_EMBEDDER),
        judges=judges,
        judge_max_tokens=SMOKE_JUDGE_TOKENS if profile.is_smoke else 512,
        seed=config.seed,
        log_dir=log_dir,
    )


def cache_inputs(settings: IntrinsicConfig) -> dict[str, Any]:
    """The config as cache-key inputs: the log folder does not change what is measured."""
    return {k: v for k, v in asdict(settings).items() if k != "log_dir"}

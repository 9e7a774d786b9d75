"""The models a case loads besides the generator: the untrained student S_0 (tiny, local or hub weights),
the smoke profile's reward model, and the inspect model string that serves a checkpoint for evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.environment import SMOKE_REWARD_STEPS
from pytest_agorabench.files import read_jsonl, rows_hash
from pytest_agorabench.models import TINY_STUDENT
from pytest_agorabench.offline_data import fixture_path
from pytest_agorabench.pipeline.keys import STAGE_VERSIONS, Clock, portable
from pytest_agorabench.store import Store

STUDENT_SEED = 42  # one fixed tiny student per store, whatever the run's --agora-seed


def student_base(config: RunConfig, store: Store) -> str:
    """The untrained student S_0 as something the trainer and the server can load (dir or hub id)."""
    if config.student != TINY_STUDENT:
        if config.student.startswith("smollm2"):
            from pytest_agorabench.providers.local_models import resolve_local_model

            return str(resolve_local_model(config.student))
        return config.student
    from pytest_agorabench.training.tiny_student import build_tiny_student

    # Its tokenizer is trained on all our fixture seed text.
    corpus = [r["instruction"] + "\n" + r["response"] for r in fixture_seed_rows()]
    inputs = {
        "version": STAGE_VERSIONS["student_init"],
        "corpus": rows_hash([{"t": t} for t in corpus]),
        "seed": STUDENT_SEED,
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        return {"stats": build_tiny_student(workdir, corpus, seed=STUDENT_SEED)}

    return str(store.once("student_init", inputs, build).path)


def fixture_seed_rows(world: str | None = None) -> list[dict]:
    """Every seed row of our offline fixtures (all nine settings), or of one ``world`` of them, in a fixed
    order; a row the methods of a domain share comes once."""
    folder = fixture_path(*([world] if world else []), "seeds")
    rows, seen = [], set()
    for f in sorted(folder.rglob("*.jsonl")):
        for r in read_jsonl(f):
            if (r["instruction"], r["response"]) not in seen:
                seen.add((r["instruction"], r["response"]))
                rows.append(r)
    return rows


def smoke_reward_model(store: Store, base: str, clock: Clock, world: str | None = None) -> str:
    """Smoke's offline reward model (intrinsic/smoke_reward.py), trained once per store on the seed rows of
    the profile's world: short rows of the kind it will score (on the smoke world: held-out pair accuracy
    0.91 in 23 s at 60 steps, where our older fixtures gave 0.73 in 80 s at 150)."""
    rows = fixture_seed_rows(world)
    # AGORABENCH_SMOKE_REWARD_STEPS: fewer steps for our own end-to-end tests (the machinery, not the model).
    steps = SMOKE_REWARD_STEPS.get()
    inputs = {
        "version": STAGE_VERSIONS["reward_init"],
        "tokenizer": portable(store, base),
        "rows": rows_hash(rows),
        "seed": STUDENT_SEED,
        "steps": steps,
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.intrinsic.smoke_reward import build_smoke_reward_model

        return {"stats": build_smoke_reward_model(workdir, base, rows, seed=STUDENT_SEED, steps=steps)}

    return str(clock.run("reward_init", lambda: store.once("reward_init", inputs, build)).path)


def served(model: str, config: RunConfig) -> str:
    """Inspect model string that serves weights for evaluation with the profile's server."""
    if config.profile.serving == "vllm":
        return f"vllm/{model}"
    return f"agora/{model}"

"""The training stage: SFT of the student on a set of rows with the profile's recipe (training/sft.py)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.files import rows_hash
from pytest_agorabench.pipeline.keys import STAGE_VERSIONS, Clock, portable
from pytest_agorabench.store import Artifact, Store


def case_recipe(config: RunConfig, domain: str, seed: int | None = None) -> Any:
    """The profile's recipe as a case of ``domain`` trains with it: the profile's per-domain epochs and
    ``seed`` (default: the recipe's) applied."""
    from pytest_agorabench.training.recipes import get_recipe

    recipe = get_recipe(config.profile.recipe)
    epochs = config.profile.epochs_for(domain)
    if epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=epochs)
    return recipe if seed is None else dataclasses.replace(recipe, seed=seed)


def training_inputs(
    store: Store, base: str, rows: list[dict], config: RunConfig, domain: str, seed: int | None = None
) -> dict[str, Any]:
    return {
        "version": STAGE_VERSIONS["training"],
        "base": portable(store, base),
        "rows": rows_hash(rows),
        "recipe": case_recipe(config, domain, seed).fingerprint(),
    }


def train(
    store: Store, base: str, rows: list[dict], config: RunConfig, clock: Clock, name: str, domain: str,
    seed: int | None = None,
) -> Artifact:
    """The checkpoint (``<artifact>/model``) of ``base`` fine-tuned on ``rows`` of a case of ``domain``;
    ``name`` labels the clock entry (the case's student, or the gold reference). ``seed``: the training
    seed (default: the recipe's)."""
    recipe = case_recipe(config, domain, seed)

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.training.sft import train as sft

        # Checkpoints live beside the temp dir, not in it: a killed build loses its temp dir, a rerun resumes.
        return {"stats": sft(base, rows, recipe, workdir / "model", store.checkpoints_dir("training", key))}

    def build_once() -> Artifact:
        artifact = store.once("training", inputs, build)
        # The committed model supersedes its checkpoints (ours: written by build above, or by a killed build).
        shutil.rmtree(store.checkpoints_dir("training", artifact.key), ignore_errors=True)
        return artifact

    inputs = training_inputs(store, base, rows, config, domain, seed)
    return clock.run(name, build_once)

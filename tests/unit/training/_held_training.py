"""A training that is killed for real: test_training_checkpoints.py runs this file in a subprocess.

It trains until the middle of its second checkpoint save (the first checkpoint complete, the second holding
weights and optimizer but no trainer_state.json yet), prints ``held <folder>`` and waits on stdin, where the
test SIGKILLs it. Usage: ``python _held_training.py sft|stage ARGS.json``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any


def stage_config(root: Path, epochs: int):
    """The smoke run's config with ``epochs`` for math, shared by the held child and the test that resumes it."""
    from pytest_agorabench.config import build_config

    config = build_config({"generator": "agora-script/tests.e2e.scripted:arithmetic"}, {}, root)
    return dataclasses.replace(config, profile=dataclasses.replace(config.profile, epochs_by_domain=(("math", epochs),)))


def checkpointing_smoke(save_steps: int):
    """The smoke recipe saving every ``save_steps``: patched into RECIPES, as the key ignores it."""
    from pytest_agorabench.training.recipes import RECIPES

    return dataclasses.replace(RECIPES["smoke"], save_steps=save_steps, logging_steps=1)


def _hold_in_second_save() -> None:
    from transformers import Trainer

    original = Trainer._save_rng_state
    saves: list[str] = []

    def held(self, output_dir: str) -> None:
        saves.append(output_dir)
        if len(saves) == 2:
            print(f"held {output_dir}", flush=True)
            sys.stdin.read()  # the test kills us here; if it closes stdin instead, training goes on
        original(self, output_dir)

    Trainer._save_rng_state = held


def main(mode: str, args: dict[str, Any]) -> None:
    from pytest_agorabench.training.recipes import RECIPES, recipe_from_dict

    _hold_in_second_save()
    if mode == "sft":
        from pytest_agorabench.training.sft import train

        train(args["base"], args["rows"], recipe_from_dict(args["recipe"]), Path(args["out"]), Path(args["checkpoints"]))
    else:
        from pytest_agorabench.pipeline.keys import Clock
        from pytest_agorabench.pipeline.train import train
        from pytest_agorabench.store import Store

        RECIPES["smoke"] = checkpointing_smoke(args["save_steps"])
        config = stage_config(Path(args["root"]), args["epochs"])
        train(Store(args["store"]), args["base"], args["rows"], config, Clock(), "training", "math")


if __name__ == "__main__":
    main(sys.argv[1], json.loads(Path(sys.argv[2]).read_text()))

"""Where a killed training resumes: the newest complete Trainer checkpoint in a training's checkpoint folder.

The Trainer saves ``checkpoint-<step>/`` every ``save_steps`` optimizer steps and writes its
``trainer_state.json`` last (after weights, optimizer, scheduler and RNG states), so a checkpoint whose state
file parses and names its own step is complete; one killed mid-save is not, and is removed so that it is
neither resumed from nor counted by the Trainer's rotation. A checkpoint is only resumable by a run that
splits the work the same way (world size, micro-batch, accumulation, precision): ``layout.json`` records
that, and checkpoints of another layout are discarded rather than half-loaded.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from pytest_agorabench.files import write_json_atomic

STATE_FILE = "trainer_state.json"  # transformers' TRAINER_STATE_NAME
LAYOUT_FILE = "layout.json"
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")


def checkpoint_step(path: Path) -> int | None:
    """The step of a complete checkpoint folder, None for anything else (incomplete, damaged, foreign)."""
    match = _CHECKPOINT.fullmatch(path.name)
    if match is None or not path.is_dir():
        return None
    try:
        state = json.loads((path / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    step = int(match.group(1))
    return step if isinstance(state, dict) and state.get("global_step") == step else None


def _checkpoint_dirs(folder: Path) -> list[Path]:
    return [p for p in folder.glob("checkpoint-*") if _CHECKPOINT.fullmatch(p.name) and p.is_dir()]


def last_complete(folder: Path) -> Path | None:
    """The complete checkpoint with the highest step in ``folder``, or None."""
    complete = [(step, p) for p in _checkpoint_dirs(folder) if (step := checkpoint_step(p)) is not None]
    return max(complete)[1] if complete else None


def prepare_resume(folder: Path, layout: dict[str, Any]) -> tuple[Path | None, str | None]:
    """(the checkpoint to resume from or None, why earlier checkpoints were discarded or None).

    Called once per training, before any rank starts (a Trainer rank must not delete what another reads), by
    the process that holds the training's store lock. Everything removed here is a checkpoint we wrote."""
    folder.mkdir(parents=True, exist_ok=True)
    discarded = None
    try:
        recorded = json.loads((folder / LAYOUT_FILE).read_text())
    except (OSError, ValueError):
        recorded = None
    existing = _checkpoint_dirs(folder)
    if existing and recorded != layout:
        # Optimizer shards and per-rank RNG states of another layout do not load into this one.
        discarded = f"checkpoints of layout {recorded} do not resume a run of layout {layout}: started afresh"
        for path in existing:
            shutil.rmtree(path)
    write_json_atomic(folder / LAYOUT_FILE, layout)
    for path in _checkpoint_dirs(folder):
        if checkpoint_step(path) is None:  # killed mid-save
            shutil.rmtree(path)
    return last_complete(folder), discarded

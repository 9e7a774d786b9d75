"""Training checkpoints as it goes and a killed training resumes from its last complete checkpoint, with the
weights of an uninterrupted run; in the training stage the checkpoints live in the store, outside the temp dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from pytest_agorabench.training.checkpoints import LAYOUT_FILE, STATE_FILE, last_complete, prepare_resume
from pytest_agorabench.training.recipes import get_recipe

HELD = Path(__file__).with_name("_held_training.py")
REPO = Path(__file__).parents[3]
# 30 rows in batches of 4: 8 steps an epoch, 24 in all. The first save (step 10) is inside epoch 2, so the
# resumed run must also redraw that epoch's length-bucket order and skip the batches it has seen.
EPOCHS, SAVE_STEPS = 3, 10


@pytest.fixture(scope="module")
def rows(sums_split):
    return sums_split(n_train=30)[0]


def _checkpoint(folder: Path, step: int, state: str | None = None) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"weights")
    if state is not None:
        (path / STATE_FILE).write_text(state)
    return path


def test_checkpointing_leaves_the_training_key_alone_and_bad_values_are_refused():
    recipe = get_recipe("smoke")
    assert recipe.save_steps > 0 and get_recipe("paper").save_steps > 0
    assert recipe.with_overrides(save_steps=0, save_total_limit=5).fingerprint() == recipe.fingerprint()
    with pytest.raises(ValueError, match="save_steps must be >= 0"):
        recipe.with_overrides(save_steps=-1)
    with pytest.raises(ValueError, match="save_steps must be a multiple of logging_steps"):
        recipe.with_overrides(save_steps=30, logging_steps=25)
    with pytest.raises(ValueError, match="save_total_limit"):
        recipe.with_overrides(save_total_limit=0)


def test_a_checkpoint_killed_mid_save_is_passed_over_and_removed(tmp_path):
    layout = {"world_size": 1}
    _checkpoint(tmp_path, 5, json.dumps({"global_step": 5}))
    _checkpoint(tmp_path, 10, '{"global_st')  # killed while writing its state
    _checkpoint(tmp_path, 15)  # killed before its state
    _checkpoint(tmp_path, 20, json.dumps({"global_step": 19}))  # a state that is not this checkpoint's
    (tmp_path / "checkpoint-notes").mkdir()  # not a checkpoint of the Trainer's: left alone
    (tmp_path / LAYOUT_FILE).write_text(json.dumps(layout))
    assert last_complete(tmp_path) == tmp_path / "checkpoint-5"
    assert prepare_resume(tmp_path, layout) == (tmp_path / "checkpoint-5", None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-5", "checkpoint-notes", LAYOUT_FILE]
    assert prepare_resume(tmp_path / "new", layout) == (None, None)
    assert json.loads((tmp_path / "new" / LAYOUT_FILE).read_text()) == layout


def test_checkpoints_of_another_layout_are_discarded_not_resumed(tmp_path):
    _checkpoint(tmp_path, 5, json.dumps({"global_step": 5}))
    (tmp_path / LAYOUT_FILE).write_text(json.dumps({"world_size": 4}))
    resume, why = prepare_resume(tmp_path, {"world_size": 1})
    assert resume is None and "world_size" in why and "started afresh" in why
    assert not (tmp_path / "checkpoint-5").exists()
    assert json.loads((tmp_path / LAYOUT_FILE).read_text()) == {"world_size": 1}


def test_checkpoints_go_to_the_checkpoint_folder_never_the_model_folder(tmp_path):
    from pytest_agorabench.training.sft import sft_config

    recipe = get_recipe("smoke")
    saving = sft_config(recipe, tmp_path / "model", bf16=False, checkpoint_dir=tmp_path / "ck")
    assert saving.save_strategy == "steps" and saving.save_steps == recipe.save_steps
    assert saving.save_total_limit == recipe.save_total_limit and saving.output_dir == str(tmp_path / "ck")
    for args in (
        sft_config(recipe, tmp_path / "model", bf16=False),
        sft_config(recipe.with_overrides(save_steps=0), tmp_path / "model", bf16=False, checkpoint_dir=tmp_path / "ck"),
    ):
        assert args.save_strategy == "no" and args.output_dir == str(tmp_path / "model")


def test_every_rank_gets_the_checkpoint_folder_and_the_one_resume_point(tmp_path, monkeypatch, rows):
    """The multi-GPU path, without GPUs: run_distributed's job file, read by each rank's entry (launch.main)."""
    from pytest_agorabench.training import launch, sft

    recipe = get_recipe("paper")
    ck, resume = tmp_path / "ck", tmp_path / "ck" / "checkpoint-10"
    ranks = []

    def fake_train_in_process(base, rows_in, recipe_in, out_dir, **kwargs):
        ranks.append(kwargs)
        return {"steps": 1}

    def fake_run(cmd, **kwargs):  # what accelerate would do: run the entry once per rank
        assert cmd[-3:-1] == ["-m", launch.ENTRY_MODULE]
        job = json.loads(Path(cmd[-1]).read_text())
        assert (job["checkpoint_dir"], job["resume_from"]) == (str(ck), str(resume))
        for rank in ("0", "1"):
            monkeypatch.setenv("RANK", rank)
            monkeypatch.setenv("WORLD_SIZE", "2")
            assert launch.main([cmd[-1]]) == 0
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(sft, "train_in_process", fake_train_in_process)
    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    stats = launch.run_distributed("base", rows, recipe, tmp_path / "out", num_processes=2, checkpoint_dir=ck,
                                   resume_from=resume)
    assert stats == {"steps": 1}
    assert [(k["checkpoint_dir"], k["resume_from"], k["world_size"]) for k in ranks] == [(ck, resume, 2)] * 2
    # A job file written before checkpoints: no folder, a fresh start.
    job = launch.write_job(tmp_path / "old", "base", rows, recipe, tmp_path / "out")
    ranks.clear()
    assert launch.main([str(job)]) == 0
    assert (ranks[0]["checkpoint_dir"], ranks[0]["resume_from"]) == (None, None)


def _run_held(mode: str, args: dict, tmp_path: Path) -> str:
    """Start the held training, wait for it to report its second save under way, SIGKILL it; its held folder."""
    args_path = tmp_path / f"{mode}-args.json"
    args_path.write_text(json.dumps(args))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path / f"{mode}.log"  # a file, not a pipe: a full stderr pipe would stall the child
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(HELD), mode, str(args_path)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    try:
        line = proc.stdout.readline()  # returns when the child holds, or with "" when it exits
        assert line.startswith("held "), f"the training was not held: {line!r}\n{log.read_text()[-3000:]}"
    finally:
        proc.kill()  # SIGKILL: no handler, no cleanup, as a lost node or an OOM kill
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    return line.split(" ", 1)[1].strip()


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


def test_a_killed_training_resumes_from_its_first_checkpoint_with_the_weights_of_an_unbroken_run(
    tiny_student, tmp_path, rows
):
    from pytest_agorabench.training.sft import train

    recipe = get_recipe("smoke").with_overrides(epochs=EPOCHS, save_steps=SAVE_STEPS, logging_steps=1)
    ck = tmp_path / "checkpoints"
    held = _run_held("sft", {"base": str(tiny_student[0]), "rows": rows, "recipe": asdict(recipe),
                             "out": str(tmp_path / "killed"), "checkpoints": str(ck)}, tmp_path)
    assert held == str(ck / "checkpoint-20")
    assert not (ck / "checkpoint-20" / STATE_FILE).exists() and (ck / "checkpoint-10" / STATE_FILE).exists()

    # Keeping one checkpoint, the save at step 20 rotates away the one it resumed from: the stats still say so.
    resumed = train(tiny_student[0], rows, recipe.with_overrides(save_total_limit=1), tmp_path / "resumed", ck)
    assert not (ck / "checkpoint-10").exists()
    assert resumed["resumed_from_step"] == 10 and resumed["steps"] == 24 and resumed["steps_run"] == 14
    assert not (ck / "checkpoint-24").exists()  # no save after the last step: the model supersedes it

    # The same seed without checkpoints (so checkpointing itself leaves the weights alone, as the key assumes).
    unbroken = train(tiny_student[0], rows, recipe, tmp_path / "unbroken")
    assert unbroken["resumed_from_step"] is None and unbroken["steps_run"] == 24
    # Exact on CPU: the same ops in the same order on the restored RNG, optimizer and data position.
    a, b = _weights(tmp_path / "resumed"), _weights(tmp_path / "unbroken")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert resumed["loss_history"] == unbroken["loss_history"]  # the schedule and order carried on


def test_the_training_stage_resumes_a_killed_build_from_the_store_and_then_drops_its_checkpoints(
    tiny_student, tmp_path, rows, monkeypatch
):
    from _held_training import checkpointing_smoke, stage_config

    from pytest_agorabench.pipeline.keys import Clock
    from pytest_agorabench.pipeline.train import train
    from pytest_agorabench.store import Store
    from pytest_agorabench.training.recipes import RECIPES

    root, store_root = tmp_path / "run", tmp_path / "store"
    root.mkdir()
    _run_held("stage", {"root": str(root), "store": str(store_root), "base": str(tiny_student[0]), "rows": rows,
                        "epochs": EPOCHS, "save_steps": SAVE_STEPS}, tmp_path)
    store = Store(store_root)  # sweeps the killed build's temp dir: its lock is free
    assert not list((store_root / "tmp").iterdir())
    [checkpoints] = store.unfinished_checkpoints()
    assert (checkpoints / "checkpoint-10" / STATE_FILE).exists()

    monkeypatch.setitem(RECIPES, "smoke", checkpointing_smoke(SAVE_STEPS))
    artifact = train(store, str(tiny_student[0]), rows, stage_config(root, EPOCHS), Clock(), "training", "math")
    assert artifact.key == checkpoints.name and not artifact.cached
    stats = artifact.manifest["stats"]
    assert stats["resumed_from_step"] == 10 and stats["steps"] == 24
    assert (artifact.path / "model" / "model.safetensors").exists()
    assert not checkpoints.exists() and store.unfinished_checkpoints() == []

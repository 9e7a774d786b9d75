"""Recipes: the paper's values (AGORABENCH.md section 3), lookups, fingerprints, LR schedule shape."""

from __future__ import annotations

import json

import pytest

from pytest_agorabench.training.recipes import RECIPES, Lora, Recipe, get_recipe, recipe_from_dict
from pytest_agorabench.training.sft import epoch_decay_lambda, grad_accum_for


def test_paper_recipe_is_section_3():
    r = get_recipe("paper")
    assert (r.epochs, r.learning_rate, r.per_device_batch, r.grad_accum, r.num_gpus) == (5, 1e-5, 4, 8, 4)
    # 4 per device x 8 accumulation x 4 GPUs = 128 packed sequences of 4,096 tokens per optimizer step.
    assert r.effective_batch == 128 and r.max_length == 4096 and r.packing
    assert r.lora is None and r.bf16 and r.seed == 42 and r.weight_decay == 0.01
    assert r.lr_decay_per_epoch == 0.85 and r.warmup_ratio == 0.0
    assert r.assistant_only_loss and r.fsdp and r.max_steps is None


def test_quick_and_smoke_profiles():
    assert get_recipe("quick").lora is not None
    smoke = get_recipe("smoke")
    assert not smoke.bf16 and smoke.lora is None and not smoke.fsdp and smoke.num_gpus == 1


def test_unknown_recipe_lists_valid_names_and_suggests():
    with pytest.raises(ValueError) as err:
        get_recipe("papr")
    message = str(err.value)
    assert all(name in message for name in RECIPES) and "Did you mean 'paper'" in message


def test_fingerprint_is_json_and_tracks_changes():
    paper = get_recipe("paper")
    fp = paper.fingerprint()
    assert json.loads(json.dumps(fp)) == fp
    assert paper.with_overrides(learning_rate=2e-5).fingerprint() != fp
    assert paper.with_overrides(notes="x", logging_steps=1).fingerprint() == fp
    lora = get_recipe("quick").fingerprint()["lora"]
    assert lora["rank"] == 16 and isinstance(lora["target_modules"], list)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_survives_a_json_job_file(name):
    from dataclasses import asdict

    recipe = get_recipe(name)
    assert recipe_from_dict(json.loads(json.dumps(asdict(recipe)))) == recipe


@pytest.mark.parametrize(
    "changes",
    [{"epochs": 0}, {"learning_rate": 0}, {"grad_accum": 0}, {"lr_decay_per_epoch": 1.5}, {"packing_strategy": "x"}],
)
def test_invalid_recipes_are_rejected(changes):
    with pytest.raises(ValueError, match="invalid recipe"):
        get_recipe("smoke").with_overrides(**changes)


def test_effective_batch_kept_on_other_world_sizes():
    paper = get_recipe("paper")
    assert grad_accum_for(paper, 4) == 8
    assert grad_accum_for(paper, 1) == 32
    assert grad_accum_for(paper, 8) == 4
    assert grad_accum_for(Recipe("r", 1, 1e-3, 4, 2, 64, False), 1) == 2


def test_lr_decays_085_per_epoch_without_warmup():
    factor = epoch_decay_lambda(steps_per_epoch=10, decay=0.85)
    assert factor(0) == 1.0  # no warm-up: the first step runs at the full rate
    assert [factor(s) for s in (0, 9)] == [1.0, 1.0]
    for epoch in range(5):
        assert factor(epoch * 10) == pytest.approx(0.85**epoch)
        assert factor(epoch * 10 + 9) == pytest.approx(0.85**epoch)


def test_optional_warmup_is_linear():
    factor = epoch_decay_lambda(steps_per_epoch=10, decay=0.5, warmup_steps=4)
    assert [factor(s) for s in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_lora_shape_defaults():
    assert Lora().rank == 16 and "q_proj" in Lora().target_modules

"""Smoke's offline reward model: preference pairs from our fixtures, Bradley-Terry training, a real scorer."""

import pytest

from pytest_agorabench.intrinsic.smoke_reward import CORRUPTIONS, build_smoke_reward_model, preference_pairs

ROWS = [
    {"instruction": f"Explain topic {i} briefly.", "response": f"Topic {i} is about item {i}: it has parts one, two and three in order."}
    for i in range(30)
] + [{"instruction": "Empty?", "response": "  "}, {"instruction": "Short?", "response": "Yes."}]


def test_pairs_prefer_the_seed_response_over_each_corruption():
    pairs = preference_pairs(ROWS, seed=1)
    kinds = {kind for *_, kind in pairs}
    assert kinds == set(CORRUPTIONS)
    for instruction, chosen, rejected, kind in pairs:
        assert chosen != rejected and chosen.strip()
        if kind == "truncated":
            assert chosen.startswith(rejected) and len(rejected) < len(chosen)
        if kind == "shuffled":
            assert sorted(chosen.split()) == sorted(rejected.split())
    # The empty response is unusable; the short one only gets the mismatched pair.
    assert not any(p[0] == "Empty?" for p in pairs)
    assert [p[3] for p in pairs if p[0] == "Short?"] == ["mismatched"]
    assert preference_pairs(ROWS, seed=1) == pairs


@pytest.mark.slow
def test_the_trained_model_ranks_held_out_pairs_and_loads_as_a_reward_model(tmp_path):
    """About 25 s on 2 cores: the smoke run's model with its default training on the smoke world's seeds
    (the tiny student's tokenizer is trained on all our fixture seeds, as in the pipeline)."""
    from pytest_agorabench.intrinsic.lm_loading import load_pretrained
    from pytest_agorabench.intrinsic.reward import reward_scores
    from pytest_agorabench.pipeline.students import fixture_seed_rows as _fixture_seed_rows
    from pytest_agorabench.training.tiny_student import build_tiny_student

    rows = _fixture_seed_rows("smoke_world")
    base = tmp_path / "base"
    build_tiny_student(base, [r["instruction"] + "\n" + r["response"] for r in _fixture_seed_rows()])
    stats = build_smoke_reward_model(tmp_path / "rm", base, rows)
    assert stats["loss_last"] < stats["loss_first"]
    assert stats["heldout_accuracy"]["all"] >= 0.85 and stats["heldout_accuracy"]["truncated"] >= 0.9
    model, tokenizer = load_pretrained("AutoModelForSequenceClassification", str(tmp_path / "rm"), "cpu", "float32")
    scores = reward_scores(rows[:4], model, tokenizer)
    assert all(isinstance(s, float) for s in scores.per_example)


def test_few_steps_still_write_a_loadable_model(tmp_path):
    from pytest_agorabench.training.tiny_student import build_tiny_student

    base = tmp_path / "base"
    build_tiny_student(base, [r["instruction"] + " " + r["response"] for r in ROWS])
    stats = build_smoke_reward_model(tmp_path / "rm", base, ROWS, steps=2)
    assert stats["steps"] == 2 and stats["heldout_pairs"] > 0 and stats["train_pairs"] > stats["heldout_pairs"]
    assert (tmp_path / "rm" / "config.json").exists() and (tmp_path / "rm" / "smoke_reward.json").exists()
    with pytest.raises(ValueError, match="at least"):
        build_smoke_reward_model(tmp_path / "rm2", base, ROWS[:3], steps=2)

"""The tiny student: tokenizer round-trips, chat template marks the assistant span, build is deterministic."""

from __future__ import annotations

import json

import pytest

from pytest_agorabench.training.chat import IM_END, SYSTEM_PROMPT, prompt_messages, to_messages


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii text",
        "  leading and trailing spaces  ",
        "Unicode: naïve café, Straße, Ελληνικά, 東京, 😀🙂, zero\u200bwidth",
        "def f(x):\n\tif x > 0:\n        return {'k': [1, 2, 3]}  # comment\n",
        "12345 + 678 = 13023, 3.14159, -7e10",
        "[RESULT] 42 [/RESULT]\r\n\r\n",
        "",
    ],
)
def test_tokenizer_round_trips_any_text(tokenizer, text):
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_digits_are_single_tokens(tokenizer):
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("What is 12 + 345?")["input_ids"])
    assert [t for t in tokens if t.strip("Ġ").isdigit()] == ["1", "2", "3", "4", "5"]


def test_special_tokens_and_stats(tiny_student, tokenizer):
    path, stats = tiny_student
    assert tokenizer.eos_token == IM_END and tokenizer.pad_token not in (None, IM_END)
    assert stats["vocab"] == len(tokenizer) and 300 <= stats["vocab"] <= 2000
    assert 300_000 <= stats["n_params"] <= 5_000_000
    config = json.loads((path / "config.json").read_text())
    assert config["vocab_size"] == len(tokenizer) and config["eos_token_id"] == tokenizer.eos_token_id


def test_chat_template_renders_and_masks_exactly_the_response(tokenizer):
    row = {"instruction": "What is 3 + 4?", "response": "3 + 4 = 7.\n[RESULT] 7 [/RESULT]"}
    out = tokenizer.apply_chat_template(
        to_messages(row), tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    text = tokenizer.decode(out["input_ids"])
    assert SYSTEM_PROMPT in text and row["instruction"] in text and row["response"] in text
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    # The response plus the end-of-turn token (so the student learns to stop), nothing of the prompt.
    assert tokenizer.decode(masked) == row["response"] + IM_END
    first = out["assistant_masks"].index(1)
    assert tokenizer.decode(out["input_ids"][:first]).endswith("assistant\n")


def test_generation_prompt_is_a_prefix_of_the_training_text(tokenizer):
    row = {"instruction": "Say hi.", "response": "Hi!"}
    prompt = tokenizer.apply_chat_template(
        prompt_messages(row["instruction"]), tokenize=False, add_generation_prompt=True
    )
    full = tokenizer.apply_chat_template(to_messages(row), tokenize=False)
    assert full.startswith(prompt) and prompt.endswith("<|im_start|>assistant\n")
    no_prompt = tokenizer.apply_chat_template(prompt_messages(row["instruction"]), tokenize=False)
    assert not no_prompt.endswith("assistant\n")


def test_trl_accepts_the_template(tokenizer):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    assert has_generation_markers(tokenizer.chat_template)
    assert is_chat_template_stop_token_trained(tokenizer)


def test_build_is_deterministic_given_seed(tmp_path, corpus, tiny_student):
    from safetensors.torch import load_file

    from pytest_agorabench.training.tiny_student import build_tiny_student

    path, stats = tiny_student
    again = build_tiny_student(tmp_path / "again", corpus, seed=42)
    assert again == stats
    assert (tmp_path / "again" / "tokenizer.json").read_text() == (path / "tokenizer.json").read_text()
    a, b = load_file(path / "model.safetensors"), load_file(tmp_path / "again" / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    other = build_tiny_student(tmp_path / "other", corpus, seed=7)
    c = load_file(tmp_path / "other" / "model.safetensors")
    assert any((a[k] != c[k]).any() for k in a)
    assert other["n_params"] == stats["n_params"]


def test_build_rejects_bad_input(tmp_path):
    from pytest_agorabench.training.tiny_student import build_tiny_student

    with pytest.raises(ValueError, match="size"):
        build_tiny_student(tmp_path, ["text"], size="huge")
    with pytest.raises(ValueError, match="corpus"):
        build_tiny_student(tmp_path, ["", "  "])

"""Reward-model scores from a tiny random sequence-classification model, against direct forward passes."""

from __future__ import annotations

import pytest

from pytest_agorabench.intrinsic.lm_loading import load_pretrained
from pytest_agorabench.intrinsic.reward import EMPTY_RESPONSE, encode_conversation, reward_scores


def _build(directory, tiny_lm_dir, num_labels: int):
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_lm_dir))
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, num_labels=num_labels, pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = LlamaForSequenceClassification(config)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory, tiny_lm_dir):
    return _build(tmp_path_factory.mktemp("rm"), tiny_lm_dir, num_labels=1)


def test_scores_equal_direct_forward_passes(reward_dir, rows):
    import torch

    model, tokenizer = load_pretrained("AutoModelForSequenceClassification", reward_dir)
    result = reward_scores(rows, model, tokenizer, batch_size=3)
    expected = []
    for row in rows:
        ids, _ = encode_conversation(tokenizer, row["instruction"], row["response"], 4096)
        with torch.no_grad():
            expected.append(float(model(torch.tensor([ids])).logits[0, 0]))
    assert result.per_example == pytest.approx(expected, abs=1e-5)
    assert result.mean == pytest.approx(sum(expected) / len(expected), abs=1e-5)
    assert len(set(round(x, 6) for x in expected)) == len(rows)  # the rows really get different rewards


def test_the_conversation_holds_instruction_and_response(reward_dir):
    _, tokenizer = load_pretrained("AutoModelForSequenceClassification", reward_dir)
    ids, truncated = encode_conversation(tokenizer, "Name a prime.", "7", 4096)
    text = tokenizer.decode(ids)
    assert "Name a prime." in text and "7" in text and not truncated
    short, truncated = encode_conversation(tokenizer, "Name a prime.", "7", 3)
    assert len(short) == 3 and truncated


def test_empty_responses_are_counted(reward_dir, rows):
    model, tokenizer = load_pretrained("AutoModelForSequenceClassification", reward_dir)
    result = reward_scores([{"instruction": "x", "response": ""}, rows[0]], model, tokenizer)
    assert result.failures == {EMPTY_RESPONSE: 1} and result.per_example[0] is None
    assert result.mean == result.per_example[1]


def test_a_classifier_with_several_labels_is_rejected(tmp_path, tiny_lm_dir, rows):
    model, tokenizer = load_pretrained("AutoModelForSequenceClassification", _build(tmp_path, tiny_lm_dir, 3))
    with pytest.raises(ValueError, match="single output"):
        reward_scores(rows, model, tokenizer)

"""Response perplexity under the tiny student, against a direct one-example-at-a-time computation."""

from __future__ import annotations

import math

import pytest

from pytest_agorabench.intrinsic.lm_loading import ScorerModelError, load_pretrained
from pytest_agorabench.intrinsic.perplexity import (
    EMPTY_RESPONSE,
    TOO_LONG,
    encode_example,
    response_perplexities,
)


@pytest.fixture(scope="module")
def lm(tiny_lm_dir):
    return load_pretrained("AutoModelForCausalLM", tiny_lm_dir)


def manual_perplexity(model, tokenizer, instruction: str, response: str) -> float:
    """Unpadded forward pass of prompt + response; mean NLL of the response tokens; exp."""
    import torch
    import torch.nn.functional as F

    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "You are a helpful AI assistant."}, {"role": "user", "content": instruction}],
        tokenize=False,
        add_generation_prompt=True,
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids + response_ids])).logits[0]
    nll = F.cross_entropy(logits[len(prompt_ids) - 1 : -1], torch.tensor(response_ids))
    return math.exp(float(nll))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_batched_perplexity_equals_the_direct_computation(lm, rows, batch_size):
    model, tokenizer = lm
    result = response_perplexities(rows, model, tokenizer, batch_size=batch_size)
    expected = [manual_perplexity(model, tokenizer, r["instruction"], r["response"]) for r in rows]
    assert result.per_example == pytest.approx(expected, rel=1e-4)
    assert result.mean == pytest.approx(sum(expected) / len(expected), rel=1e-4)
    assert result.failures == {} and result.truncated == 0


def test_scored_tokens_are_exactly_the_response(lm):
    model, tokenizer = lm
    prompt_ids, response_ids = encode_example(tokenizer, "What is 2 + 3?", "5")
    assert tokenizer.decode(response_ids) == "5"
    assert tokenizer.decode(prompt_ids).endswith("assistant\n")


def test_empty_too_long_and_truncated_rows_are_counted(lm, rows):
    model, tokenizer = lm
    prompt_len = len(encode_example(tokenizer, rows[1]["instruction"], "")[0])
    odd = [
        {"instruction": "Say nothing.", "response": "   "},
        {"instruction": rows[1]["instruction"] * 50, "response": "x"},
        rows[1],
    ]
    result = response_perplexities(odd, model, tokenizer, max_length=prompt_len + 3)
    assert result.failures == {EMPTY_RESPONSE: 1, TOO_LONG: 1}
    assert result.per_example[:2] == [None, None] and result.per_example[2] is not None
    assert result.truncated == 1  # the haiku's response was cut to 3 tokens and scored on those
    assert result.mean == result.per_example[2]


def test_unloadable_model_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ScorerModelError, match="cannot load AutoModelForCausalLM"):
        load_pretrained("AutoModelForCausalLM", tmp_path)
    with pytest.raises(ScorerModelError, match="unknown dtype"):
        load_pretrained("AutoModelForCausalLM", tmp_path, dtype="float7")

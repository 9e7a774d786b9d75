"""The tiny student learns: trained on ~100 sums it answers held-out sums (what makes PGR signal possible)."""

from __future__ import annotations

import pytest

from pytest_agorabench.training.chat import prompt_messages
from pytest_agorabench.training.recipes import get_recipe


def _answer(model, tokenizer, a: int, b: int) -> str:
    enc = tokenizer.apply_chat_template(
        prompt_messages(f"What is {a} + {b}?"), add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    out = model.generate(**enc, max_new_tokens=24, do_sample=False)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)


@pytest.mark.slow
def test_tiny_student_learns_held_out_sums(tmp_path, sums_split):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pytest_agorabench.training.sft import train
    from pytest_agorabench.training.tiny_student import build_tiny_student

    rows, held = sums_split(seed=1, n_train=100, n_held=5)
    assert not {(r["instruction"]) for r in rows} & {f"What is {a} + {b}?" for a, b in held}
    build_tiny_student(tmp_path / "base", [r["instruction"] + "\n" + r["response"] for r in rows], seed=42)
    stats = train(tmp_path / "base", rows, get_recipe("smoke"), tmp_path / "trained")
    assert stats["final_loss"] < 0.1 < stats["loss_history"][0]["loss"]

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "trained").eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "trained")
    answers = {(a, b): _answer(model, tokenizer, a, b) for a, b in held}
    right = [pair for pair, text in answers.items() if f"[RESULT] {sum(pair)} [/RESULT]" in text]
    assert len(right) >= 4, answers
    # It also learnt to stop: the answer ends at the end-of-turn token, not at the token limit.
    assert all(text.rstrip().endswith("[/RESULT]") for text in answers.values()), answers

"""Shared fixtures for the intrinsic-metric tests: a tiny causal LM and a few rows of varied length."""

from __future__ import annotations

import pytest

ROWS = [
    {"instruction": "What is 2 + 3?", "response": "2 + 3 = 5. [RESULT] 5 [/RESULT]"},
    {"instruction": "Write a haiku about rain.", "response": "Soft rain on the roof\nthe garden drinks slowly\nnight smells of wet stone"},
    {"instruction": "Name a prime.", "response": "7"},
    {"instruction": "Explain recursion briefly to a new programmer who knows loops.",
     "response": "A recursive function calls itself on a smaller input until it reaches a base case."},
]


@pytest.fixture(scope="session")
def rows():
    return [dict(r) for r in ROWS]


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory):
    from pytest_agorabench.training.tiny_student import build_tiny_student

    out = tmp_path_factory.mktemp("tiny-lm")
    corpus = [r["instruction"] + " " + r["response"] for r in ROWS] * 4
    build_tiny_student(out, corpus, seed=3)
    return out

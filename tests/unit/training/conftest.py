"""Shared fixtures for the training tests: one tiny student per session, arithmetic rows."""

from __future__ import annotations

import random

import pytest

TEXT_SAMPLES = [
    "def add(a: int, b: int) -> int:\n    return a + b  # sum\n",
    "Explain why the sky is blue in two sentences.",
    "Naïve café, Straße, 東京, emoji 🙂, tabs\tand\nnewlines.",
    "Solve for x: 3x + 5 = 20.\nx = 5\n[RESULT] 5 [/RESULT]",
]


def sum_row(a: int, b: int, i: int = 0) -> dict:
    return {
        "id": f"sum-{i}",
        "instruction": f"What is {a} + {b}?",
        "response": f"{a} + {b} = {a + b}. [RESULT] {a + b} [/RESULT]",
    }


def sum_split(seed: int = 1, n_train: int = 100, n_held: int = 5) -> tuple[list[dict], list[tuple[int, int]]]:
    """All single-digit pairs, shuffled: the first n_held are held out, the next n_train (cycled) train."""
    pairs = [(a, b) for a in range(10) for b in range(10)]
    rng = random.Random(seed)
    rng.shuffle(pairs)
    held, rest = pairs[:n_held], pairs[n_held:]
    train = [sum_row(*rest[i % len(rest)], i) for i in range(n_train)]
    return train, held


@pytest.fixture(scope="session")
def sum_rows():
    """Rows (a, a+1) for a in range(n): small, distinct, trainable in a second."""
    return lambda n=6: [sum_row(a, a + 1, a) for a in range(n)]


@pytest.fixture(scope="session")
def sums_split():
    return sum_split


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    rows, _ = sum_split()
    return [r["instruction"] + "\n" + r["response"] for r in rows] + TEXT_SAMPLES * 3


@pytest.fixture(scope="session")
def tiny_student(tmp_path_factory, corpus):
    from pytest_agorabench.training.tiny_student import build_tiny_student

    path = tmp_path_factory.mktemp("tiny_student")
    stats = build_tiny_student(path, corpus, seed=42)
    return path, stats


@pytest.fixture(scope="session")
def tokenizer(tiny_student):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_student[0])

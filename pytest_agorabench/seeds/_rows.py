"""Seed rows, the errors shared by the loaders, and the set-level steps (dedupe, deterministic subsample).

A seed row is ``{"id": str, "instruction": str, "response": str, "source": str}``; every loader yields exactly
these four keys so the fingerprint of a seed set depends on nothing else.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from pytest_agorabench.errors import AgoraBenchError

RESULT_OPEN = "[RESULT]"
RESULT_CLOSE = "[/RESULT]"


class SeedError(AgoraBenchError, ValueError):
    """The seed data cannot be loaded; the message says what to fix (shown without a traceback)."""


class RowDropped(Exception):
    """One source row cannot become a seed row; ``reason`` is the counted drop reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def make_row(row_id: str, instruction: str, response: str, source: str) -> dict[str, str]:
    return {"id": row_id, "instruction": instruction, "response": response, "source": source}


def with_result_tag(body: str, answer: str) -> str:
    """``body`` then a last line ``[RESULT] answer [/RESULT]`` (AGORABENCH.md 2.2 math output rules)."""
    answer = " ".join(answer.split())  # the tag holds one line: no stray newlines from LaTeX sources
    if not answer:
        raise RowDropped("empty_final_answer")
    if RESULT_OPEN in body or RESULT_CLOSE in body or RESULT_OPEN in answer:
        # A second tag pair would break the "exactly one [RESULT]" rule the validators enforce.
        raise RowDropped("result_tag_in_source")
    body = body.rstrip()
    tag = f"{RESULT_OPEN} {answer} {RESULT_CLOSE}"
    return f"{body}\n{tag}" if body else tag


def dedupe(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Keep the first of each exact (instruction, response) pair; return the kept rows and the count removed."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for row in rows:
        key = (row["instruction"], row["response"])
        if key in seen:
            continue
        seen.add(key)
        kept.append(row)
    return kept, len(rows) - len(kept)


def sample_indices(n: int, limit: int | None, seed: int) -> list[int]:
    """A seeded choice of ``limit`` of ``range(n)``, in ascending order (all of them when limit is None)."""
    if limit is None or limit >= n:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), limit))


def subsample(rows: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    """Deterministic subsample that keeps the rows' order (response generation uses seeds in order)."""
    return [rows[i] for i in sample_indices(len(rows), limit, seed)]


def merge_drops(total: Counter, more: Counter | dict[str, int]) -> None:
    for reason, count in more.items():
        if count:
            total[reason] += count

"""Scripted generators for end-to-end runs, served by the ``agora-script`` provider.

They read our meta-prompts the way a model would (which method is asked for, which question is given) and
answer arithmetic questions of the form "What is A + B?" either correctly or with a wrong sum, so the
signal test can compare the PGR of good and corrupted data on a tiny student that learns. Behaviour
of dying mid-run are read from environment variables because the provider calls a plain function in the
process that runs the case.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
from pathlib import Path

_SUM = re.compile(r"(-?\d+)\s*\+\s*(-?\d+)")
_INSTRUCTION = re.compile(r"INPUT:\s*(.*?)\n\s*\nOUTPUT:", re.S)
_QE_QUESTION = re.compile(r"## Original pair\nQuestion:\s*(.*?)\n\s*\nAnswer:", re.S)


def _prompt(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


def _solution(a: int, b: int, wrong: bool) -> str:
    total = a + b + (7 if wrong else 0)
    return f"{a} + {b} = {total}.\n[RESULT] {total} [/RESULT]"


def _sum_in(text: str) -> tuple[int, int]:
    found = _SUM.search(text)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def arithmetic(messages: list[dict], config: dict) -> str:
    """Correct arithmetic data for all three methods."""
    return _arithmetic(messages, wrong=False)


def arithmetic_wrong(messages: list[dict], config: dict) -> str:
    """The same data with every sum off by seven: well-formed, valid and wrong."""
    return _arithmetic(messages, wrong=True)


def arithmetic_mostly_wrong(messages: list[dict], config: dict) -> str:
    """Three in five answers off by seven (chosen by the prompt's hash): a generator that got much worse."""
    digest = int(hashlib.sha256(_prompt(messages).encode()).hexdigest(), 16)
    return _arithmetic(messages, wrong=digest % 5 < 3)


def arithmetic_worse_responses(messages: list[dict], config: dict) -> str:
    """Correct everywhere except response generation, where every answer is off by seven: a release that
    got worse at one method only."""
    prompt = _prompt(messages)
    responding = "[YOUR NEW EXAMPLE]" not in prompt and "Revised Question:" not in prompt
    return _arithmetic(messages, wrong=responding)


def _arithmetic(messages: list[dict], wrong: bool) -> str:
    _maybe_die()
    prompt = _prompt(messages)
    if "[YOUR NEW EXAMPLE]" in prompt:
        # A fresh problem per prompt: the prompt holds sampled demos and a theme, so its hash varies.
        rng = random.Random(hashlib.sha256(prompt.encode()).hexdigest())
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        return f"What is {a} + {b}?\nOUTPUT: {_solution(a, b, wrong)}\n[END]"
    if "Revised Question:" in prompt:
        found = _QE_QUESTION.search(prompt)
        question = found.group(1).strip() if found else "What is 1 + 1?"
        a, b = _sum_in(question)
        return f"Revised Question: What is {a} + {b}?\nRevised Answer: {_solution(a, b, wrong)} [END]"
    found = _INSTRUCTION.search(prompt)
    a, b = _sum_in(found.group(1) if found else "")
    return f"{_solution(a, b, wrong)} [END]"


def grader(messages: list[dict], config: dict) -> str:
    """A rubric judge for the intrinsic metrics: a grade from the request's length, so it varies by row."""
    prompt = _prompt(messages)
    return f"Short and clear.\nScore: {1 + len(prompt) % 5}"


def garbage(messages: list[dict], config: dict) -> str:
    """Output no parser accepts: every attempt is a counted drop."""
    return "I would rather talk about the weather."


def _maybe_die() -> None:
    """Count calls in the file AGORA_TEST_COUNTER; past AGORA_TEST_DIE_AFTER calls, kill this whole process
    as an OOM killer or a cancelled CI job would: no cleanup, no exception handlers."""
    counter = os.environ.get("AGORA_TEST_COUNTER")
    if not counter:
        return
    path = Path(counter)
    calls = int(path.read_text() or 0) + 1 if path.exists() else 1
    path.write_text(str(calls))
    limit = os.environ.get("AGORA_TEST_DIE_AFTER")
    if limit and calls > int(limit):
        os.kill(os.getpid(), signal.SIGKILL)

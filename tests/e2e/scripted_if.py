"""Scripted instruction-following generators and judges, served by the ``agora-script`` provider.

Generators read our meta-prompts the way a model would (which method, which instruction) and write a
plain, well-formed instance. Judges read our judge prompt (the request and answers A and B) and decide by
answer length, so their verdicts are deterministic and checkable; ``flaky`` fails in every way a real
judge can, by a fixed rule per prompt. ``AGORA_JUDGE_COUNTER`` (a file path) counts judge calls across a
run, so a test can show a rerun costs no judge call.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

_INSTRUCTION = re.compile(r"INPUT:\s*(.*?)\n\s*\nOUTPUT:", re.S)
_QE_QUESTION = re.compile(r"## Original pair\nQuestion:\s*(.*?)\n\s*\nAnswer:", re.S)
_ANSWERS = re.compile(r"## Answer A\n(.*?)\n\n## Answer B\n(.*?)\n\n## How to decide", re.S)
_OPENING = re.compile(r'Begin the (?:input|instruction) with "([^"]+)"')


def _prompt(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


def _answer(instruction: str) -> str:
    return f"Here is a clear answer to: {instruction.strip()[:80]}\n1. First point.\n2. Second point."


def helpful(messages: list[dict], config: dict) -> str:
    """A well-behaved generator for the three instruction-following methods."""
    prompt = _prompt(messages)
    if "[YOUR NEW EXAMPLE]" in prompt:
        found = _OPENING.search(prompt)
        opening = found.group(1) if found else "Explain"
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:6]
        instruction = f"{opening} the idea number {digest} in simple words."
        return f"{instruction}\nOUTPUT: {_answer(instruction)}\n[END]"
    if "Revised Question:" in prompt:
        found = _QE_QUESTION.search(prompt)
        question = found.group(1).strip() if found else "What is a fact?"
        return f"Revised Question: {question}\nRevised Answer: {_answer(question)} [END]"
    found = _INSTRUCTION.search(prompt)
    return f"{_answer(found.group(1) if found else 'the request')} [END]"


def _count_call() -> None:
    counter = os.environ.get("AGORA_JUDGE_COUNTER")
    if counter:
        path = Path(counter)
        path.write_text(str(int(path.read_text() or 0) + 1 if path.exists() else 1))


def _pair(messages: list[dict]) -> tuple[str, str, bool]:
    prompt = _prompt(messages)
    found = _ANSWERS.search(prompt)
    if not found:
        raise ValueError("not a judge prompt")
    return found.group(1), found.group(2), "much better" in prompt


def _by_length(messages: list[dict], prefer_longer: bool) -> str:
    _count_call()
    a, b, graded = _pair(messages)
    if len(a) == len(b):
        return "Both are equal.\nVerdict: tie"
    a_wins = (len(a) > len(b)) == prefer_longer
    winner = "A" if a_wins else "B"
    ratio = max(len(a), len(b)) / max(1, min(len(a), len(b)))
    if graded:
        return f"Reasoning: one answer fits better.\nVerdict: {winner} {'much ' if ratio > 2 else ''}better"
    return f"Verdict: {winner}"


def longer_wins(messages: list[dict], config: dict) -> str:
    """Prefers the longer answer; on the graded scale "much better" when it is over twice as long."""
    return _by_length(messages, prefer_longer=True)


def shorter_wins(messages: list[dict], config: dict) -> str:
    """Prefers the shorter answer (the untrained student rambles to its token limit; trained ones stop)."""
    return _by_length(messages, prefer_longer=False)


class RateLimitError(Exception):
    """Named like the providers' own error class, which is how the judge classifies it."""


_CALLS: dict[str, int] = {}


def flaky(messages: list[dict], config: dict):
    """Fails by a fixed rule per prompt (its hash mod 6): garbage, a refusal, a rate limit that clears on
    the retry, a timeout every time, a content filter; the rest get the shorter-answer verdict."""
    _count_call()
    prompt = _prompt(messages)
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    _CALLS[digest] = _CALLS.get(digest, 0) + 1
    kind = int(digest, 16) % 6
    if kind == 0:
        return "The weather is lovely today."
    if kind == 1:
        return "I'm sorry, but I can't help with comparing these answers."
    if kind == 2 and _CALLS[digest] == 1:
        raise RateLimitError("429 Too Many Requests")
    if kind == 3:
        raise TimeoutError("the judge did not answer in time")
    if kind == 4:
        return {"text": "", "stop_reason": "content_filter"}
    return shorter_wins(messages, config)


def calls_by_prompt() -> dict[str, int]:
    return dict(_CALLS)

"""Scripted code generators for end-to-end runs, served by the ``agora-script`` provider.

``code`` reads our code meta-prompts the way a model would and answers with well-formed fenced Python: a new
task of one of the fixture families for instance generation, a solution for response generation (correct for
the family tasks it recognises, a stub otherwise), and the snippet wrapped as a function-free fenced block for
quality enhancement. Every third response-generation answer carries a trailing ``# Test`` block, which the
clean-up must cut. ``code_chatty`` demonstrates its code with prose between blocks, which the code validator must drop.
"""

from __future__ import annotations

import hashlib
import random
import re

from pytest_agorabench.evaluation.code_answers import mbpp_question

_FAMILY = re.compile(r"\b(add|times|subtract|is_multiple_of)_(\d+)\((\w+)\)")
_INSTRUCTION = re.compile(r"INPUT:\s*(.*?)\n\s*\nOUTPUT:", re.S)
_QE_PAIR = re.compile(r"## Original pair\nQuestion:\s*(.*?)\n\s*\nAnswer:\s*(.*)$", re.S)
_OPS = {"add": "x + {k}", "times": "x * {k}", "subtract": "x - {k}", "is_multiple_of": "x % {k} == 0"}


def _prompt(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


def _family_code(kind: str, k: int, arg: str = "x") -> str:
    return f"def {kind}_{k}({arg}):\n    return {_OPS[kind].format(k=k).replace('x', arg)}"


def _check(kind: str, k: int, value: int) -> str:
    expected = eval(_OPS[kind].format(k=k), {"x": value})  # our own arithmetic templates, nothing else
    return f"assert {kind}_{k}({value}) == {expected!r}"


def _new_instance(prompt: str) -> tuple[str, str]:
    rng = random.Random(hashlib.sha256(prompt.encode()).hexdigest())
    kind, k = rng.choice(sorted(_OPS)), rng.randint(10, 40)
    text = f"Write a function {kind}_{k} that computes {_OPS[kind].format(k=k)} for its argument x."
    tests = [_check(kind, k, rng.randint(-9, 9))]  # one check keeps the rows short for the tiny student
    return mbpp_question(text, tests), _family_code(kind, k)


def _solve(instruction: str) -> str:
    found = _FAMILY.search(instruction)
    if found:
        return _family_code(found.group(1), int(found.group(2)), found.group(3))
    return "def solution(*args):\n    return None"


def code(messages: list[dict], config: dict) -> str:
    """Well-formed code data for all three methods."""
    prompt = _prompt(messages)
    if "[YOUR NEW EXAMPLE]" in prompt:
        instruction, body = _new_instance(prompt)
        return f"{instruction}\nOUTPUT: ```python\n{body}\n```\n[END]"
    if "Revised Question:" in prompt:
        found = _QE_PAIR.search(prompt)
        question, snippet = (found.group(1).strip(), found.group(2).strip()) if found else ("noop", "pass")
        return f"Revised Question: {question}\nRevised Answer: ```python\n{snippet}\n``` [END]"
    found = _INSTRUCTION.search(prompt)
    instruction = found.group(1) if found else ""
    body = _solve(instruction)
    if int(hashlib.sha256(instruction.encode()).hexdigest(), 16) % 3 == 0:
        body += "\n\n# Test\nprint(42)"
    return f"```python\n{body}\n``` [END]"


def code_chatty(messages: list[dict], config: dict) -> str:
    """Correct code, then a demonstration introduced in prose between two fenced blocks: the fences are
    well placed, so every response is a counted ``code_banned_phrase`` drop."""
    prompt = _prompt(messages)
    found = _INSTRUCTION.search(prompt)
    body = _solve(found.group(1) if found else "")
    return f"```python\n{body}\n```\nExample usage:\n```python\nprint(solution())\n``` [END]"

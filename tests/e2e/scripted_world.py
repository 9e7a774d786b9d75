"""Scripted generators for the smoke world (fixtures/smoke_world), served by the ``agora-script`` provider.

They read our meta-prompts the way a model would (which method is asked for, which task is given, which
domain the demonstrations are from) and write data in the world's layouts: ``world`` answers every task
right, ``world_corrupted`` writes the same layouts with every answer wrong (sums off by seven, functions off
by one, instruction-following replies with every number ten too high). The smoke world's rules say what right is.
"""

from __future__ import annotations

import hashlib
import random
import re

from pytest_agorabench.evaluation.code_answers import mbpp_question
from pytest_agorabench.smoke_world import rules

_INSTRUCTION = re.compile(r"INPUT:\s*(.*?)\n\s*\nOUTPUT:", re.S)
_QE_QUESTION = re.compile(r"## Original pair\nQuestion:\s*(.*?)\n\s*\nAnswer:", re.S)
_SUM = re.compile(r"What is (\d+) \+ (\d+)\?")
_IF = re.compile(r"Reply with (?:the (larger|smaller) of (\d) and (\d)|(\d) and (\d) in reverse order)\.")


def _prompt(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


def _family(name: str) -> rules.IfFamily:
    return next(f for f in rules.IF_FAMILIES if f.name == name)


def _answer(task: str, wrong: bool) -> str | None:
    """The response to one task of the world, right or wrong; None when ``task`` is not one."""
    code = rules.code_task_in(task)
    if code:
        family, k = code
        body = rules.code_body(family, k)
        return "```python\n" + (body + " + 1" if wrong else body) + "\n```"
    found = _IF.search(task)
    if found:
        name, a, b = (found.group(1), found.group(2), found.group(3)) if found.group(1) else (
            "reverse", found.group(4), found.group(5))
        reply = _family(name).answer(int(a), int(b))
        # Every number ten too high: a student that learns this layout never says a right single digit by
        # mixing up the families (swapping in the other input number could, and did: PGR 26 at 6 epochs).
        return re.sub(r"\d", lambda d: str(int(d.group()) + 10), reply) if wrong else reply
    found = _SUM.search(task)
    if found:
        a, b = int(found.group(1)), int(found.group(2))
        return rules.sum_solution(a, b, a + b + 7 if wrong else None)
    return None


def _new_task(prompt: str) -> str:
    """A fresh task of the domain the demonstrations come from (seeded by the prompt, which varies)."""
    rng = random.Random(hashlib.sha256(prompt.encode()).hexdigest())
    if rules.code_task_in(prompt):
        family, k = rng.choice(sorted(rules.CODE_FAMILIES)), rng.randint(1, 40)
        return mbpp_question(rules.code_description(family, k), rules.code_asserts(family, k))
    if _IF.search(prompt):
        a, b = rng.sample(range(10), 2)
        return rng.choice(rules.IF_FAMILIES).question(a, b)
    return rules.sum_question(rng.randint(0, 9), rng.randint(0, 9))


def _write(messages: list[dict], wrong: bool) -> str:
    prompt = _prompt(messages)
    if "[YOUR NEW EXAMPLE]" in prompt:
        task = _new_task(prompt)
        return f"{task}\nOUTPUT: {_answer(task, wrong)}\n[END]"
    if "Revised Question:" in prompt:
        found = _QE_QUESTION.search(prompt)
        task = found.group(1).strip() if found else ""
        return f"Revised Question: {task}\nRevised Answer: {_answer(task, wrong)} [END]"
    found = _INSTRUCTION.search(prompt)
    task = found.group(1).strip() if found else ""
    return f"{_answer(task, wrong) or 'No task found.'} [END]"


def world(messages: list[dict], config: dict) -> str:
    """Right data for all nine settings of the smoke world."""
    return _write(messages, wrong=False)


def world_corrupted(messages: list[dict], config: dict) -> str:
    """The same layouts with every answer wrong: valid data that teaches the wrong thing."""
    return _write(messages, wrong=True)

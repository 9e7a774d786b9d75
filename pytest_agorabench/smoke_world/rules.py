"""The smoke world's task families as data: the one place that says what each task asks and what its
right answer is. The fixture builder, the smoke judge and our scripted generators all read it."""

from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------- math


def sum_question(a: int, b: int) -> str:
    return f"What is {a} + {b}?"


def sum_solution(a: int, b: int, total: int | None = None) -> str:
    """A worked answer in the generation layout (one result tag pair, last). ``total`` lets a corrupted
    generator write a wrong sum in the same layout."""
    total = a + b if total is None else total
    return f"{a} + {b} = {total}.\n[RESULT] {total} [/RESULT]"


# ---------------------------------------------------------------- code

# name -> (what the description says, the expression the body returns)
CODE_FAMILIES: dict[str, tuple[str, str]] = {
    "add": ("plus", "x + {k}"),
    "sub": ("minus", "x - {k}"),
    "times": ("multiplied by", "x * {k}"),
}
CODE_CHECK_INPUTS = (1, 0, -2)  # the arguments every task's asserts call its function with


def code_value(family: str, k: int, x: int) -> int:
    return {"add": x + k, "sub": x - k, "times": x * k}[family]


def code_body(family: str, k: int) -> str:
    return f"def {family}_{k}(x):\n    return {CODE_FAMILIES[family][1].format(k=k)}"


def code_description(family: str, k: int) -> str:
    return f"Write a function {family}_{k} that returns its argument {CODE_FAMILIES[family][0]} {k}."


def code_asserts(family: str, k: int) -> list[str]:
    return [f"assert {family}_{k}({x}) == {code_value(family, k, x)}" for x in CODE_CHECK_INPUTS]


def humaneval_prompt(family: str, k: int) -> str:
    return f'def {family}_{k}(x):\n    """Return x {CODE_FAMILIES[family][0]} {k}."""\n'


_CODE_TASK = re.compile(r"\b(add|sub|times)_(\d+)\b")


def code_task_in(text: str) -> tuple[str, int] | None:
    """(family, k) of the first task name in ``text``, e.g. ``add_7`` -> ("add", 7)."""
    found = _CODE_TASK.search(text)
    return (found.group(1), int(found.group(2))) if found else None


# ---------------------------------------------------------------- instruction following


@dataclass(frozen=True)
class IfFamily:
    name: str
    request: str  # with {a} and {b}
    reply: str  # with {x} (and {y}): the right reply's layout

    def question(self, a: int, b: int) -> str:
        return self.request.format(a=a, b=b)

    def answer(self, a: int, b: int) -> str:
        return self.reply.format(**dict(zip("xy", self._values(a, b))))

    def weak_answer(self, a: int, b: int) -> str:
        """A plausible wrong reply in the right layout (the smoke Arena-Hard baseline's answers)."""
        return self.reply.format(**dict(zip("xy", self._wrong_values(a, b))))

    def _values(self, a: int, b: int) -> tuple[int, ...]:
        return {"larger": (max(a, b),), "smaller": (min(a, b),), "reverse": (b, a)}[self.name]

    def _wrong_values(self, a: int, b: int) -> tuple[int, ...]:
        return {"larger": (min(a, b),), "smaller": (max(a, b),), "reverse": (a, b)}[self.name]


IF_FAMILIES: tuple[IfFamily, ...] = (
    IfFamily("larger", "Reply with the larger of {a} and {b}.", "The larger number is {x}."),
    IfFamily("smaller", "Reply with the smaller of {a} and {b}.", "The smaller number is {x}."),
    IfFamily("reverse", "Reply with {a} and {b} in reverse order.", "In reverse order: {x} {y}."),
)
_IF_REQUESTS = [
    (family, re.compile(re.escape(family.request).replace(r"\{a\}", r"(\d)").replace(r"\{b\}", r"(\d)")))
    for family in IF_FAMILIES
]


def if_expected(request: str) -> str | None:
    """The one right reply to a request of the world, or None when the request is not one of its tasks."""
    for family, pattern in _IF_REQUESTS:
        found = pattern.search(request)
        if found:
            return family.answer(int(found.group(1)), int(found.group(2)))
    return None


def normalise(reply: str) -> str:
    """Replies are compared without case, surrounding blanks, repeated spaces or a final full stop."""
    return " ".join(reply.split()).lower().rstrip(".").strip()


def if_correct(request: str, reply: str) -> bool | None:
    """Whether ``reply`` is the right reply to ``request``; None when the request is not the world's."""
    expected = if_expected(request)
    return None if expected is None else normalise(reply) == normalise(expected)

"""The smoke judge: our judge prompts in, verdicts the judge parser reads out, decided by the smoke world's
right replies; it is resolved as a model like any judge, and a request outside the world gets no verdict."""

from __future__ import annotations

import pytest

from pytest_agorabench.evaluation.judge_prompts import GRADED, PREFERENCE, UNPARSEABLE, judge_prompt, parse_verdict
from pytest_agorabench.evaluation.smoke_judge import judge
from pytest_agorabench.models import SMOKE_JUDGE, resolve_model

REQUEST = "Reply with the larger of 4 and 9."
RIGHT, WRONG, ALSO_WRONG = "The larger number is 9.", "The larger number is 4.", "9 9 9 9"


def verdict(style: str, a: str, b: str, request: str = REQUEST):
    reply = judge([{"role": "system", "content": "be fair"}, {"role": "user", "content": judge_prompt(style, request, a, b)}], {})
    return parse_verdict(style, reply)


@pytest.mark.parametrize(
    "style, a, b, expected",
    [
        (PREFERENCE, RIGHT, WRONG, "A>B"),
        (PREFERENCE, WRONG, RIGHT, "B>A"),
        (PREFERENCE, RIGHT, RIGHT.upper(), "A=B"),
        (PREFERENCE, WRONG, ALSO_WRONG, "A=B"),
        (GRADED, RIGHT, WRONG, "A>>B"),
        (GRADED, WRONG, RIGHT, "B>>A"),
        (GRADED, WRONG, ALSO_WRONG, "A=B"),
    ],
)
def test_a_right_answer_beats_a_wrong_one_and_equals_ties(style, a, b, expected):
    assert verdict(style, a, b).verdict == expected


def test_length_does_not_decide():
    long_wrong = WRONG + " " + "It is a fine number, and here is why. " * 20
    assert verdict(PREFERENCE, long_wrong, RIGHT).verdict == "B>A"


@pytest.mark.parametrize("text", ["Write a poem about the sea.", ""])
def test_a_request_outside_the_world_gets_no_verdict(text):
    parsed = verdict(GRADED, "x", "y", request=text or "(nothing)")
    assert parsed.verdict is None and parsed.failure == UNPARSEABLE


def test_a_prompt_that_is_not_a_judge_prompt_gets_no_verdict():
    reply = judge([{"role": "user", "content": "Grade this instruction from 1 to 5."}], {})
    assert parse_verdict(GRADED, reply).verdict is None


def test_it_is_a_judge_model_like_any_other():
    from pytest_agorabench.providers.script_provider import load_callable

    spec = resolve_model(SMOKE_JUDGE)
    assert spec.inspect_model.startswith("agora-script/") and spec.cost(1000, 1000) == 0.0
    assert load_callable(spec.inspect_model.split("/", 1)[1]) is judge

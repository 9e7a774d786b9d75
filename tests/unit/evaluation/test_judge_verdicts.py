"""Judge prompts, verdict parsing and the classification of judge failures (no model involved)."""

import asyncio

import pytest

from pytest_agorabench.evaluation.judge_prompts import (
    ERROR,
    GRADED,
    PREFERENCE,
    RATE_LIMIT,
    REFUSAL,
    TIMEOUT,
    UNPARSEABLE,
    classify_exception,
    judge_prompt,
    model_first,
    model_result,
    parse_verdict,
    prompt_version,
)


def test_prompt_holds_the_request_and_both_answers_and_keeps_braces():
    text = judge_prompt(PREFERENCE, "Format {name} and {answer_b}", "use {x}", "  ")
    assert "## The request\nFormat {name} and {answer_b}" in text
    assert "## Answer A\nuse {x}" in text
    assert "## Answer B\n(empty answer)" in text
    assert text.rstrip().endswith("Which answer is better, A or B?")
    assert "much better" in judge_prompt(GRADED, "q", "a", "b")
    with pytest.raises(ValueError, match="unknown judge style"):
        judge_prompt("pairwise", "q", "a", "b")


def test_prompt_versions_differ_by_style_and_are_stable():
    assert prompt_version(PREFERENCE) != prompt_version(GRADED)
    assert prompt_version(GRADED) == prompt_version(GRADED)


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("Reasoning...\nVerdict: A much better", "A>>B"),
        ("Verdict: A better", "A>B"),
        ("verdict: TIE", "A=B"),
        ("Verdict: B better", "B>A"),
        ("**Verdict:** B much better.", "B>>A"),
        ("Verdict: Answer B much better", "B>>A"),
        ("Verdict: A better\nOn reflection...\nVerdict: B better", "B>A"),  # the last verdict wins
        ("Verdict: A", "A>B"),  # a side without a strength reads as "better"
        ("B\n\nbecause it is correct", "B>A"),  # a bare first line answers the closing question
        ("A is better.", "A>B"),  # ... and so does a first line that states the verdict
        ("Answer B is much better, since A is wrong.", "B>>A"),
    ],
)
def test_graded_verdicts(text, verdict):
    parsed = parse_verdict(GRADED, text)
    assert (parsed.verdict, parsed.failure) == (verdict, None)


@pytest.mark.parametrize(
    "text, verdict",
    [("Verdict: A", "A>B"), ("Verdict: B", "B>A"), ("verdict = tie", "A=B"), ("A", "A>B"), ("**B**", "B>A"),
     ("Verdict: A much better", "A>B"), ("B is much better.", "B>A")],
)
def test_preference_verdicts(text, verdict):
    assert parse_verdict(PREFERENCE, text).verdict == verdict


@pytest.mark.parametrize(
    "text, stop, reason",
    [
        ("The weather is nice.", "stop", UNPARSEABLE),
        ("", "stop", UNPARSEABLE),
        ("Both answers discuss", "max_tokens", UNPARSEABLE),
        ("I think answer A is better", "stop", UNPARSEABLE),  # no verdict line, nor one opening the reply
        ("Both are good. A is better.", "stop", UNPARSEABLE),
        ("I'm sorry, but I can't help with that.", "stop", REFUSAL),
        ("I cannot evaluate these responses.", "stop", REFUSAL),
        ("", "content_filter", REFUSAL),
    ],
)
def test_unusable_replies_are_classified(text, stop, reason):
    parsed = parse_verdict(GRADED, text, stop)
    assert parsed.verdict is None and parsed.failure == reason and parsed.detail


def test_a_verdict_wins_over_apologetic_wording():
    assert parse_verdict(GRADED, "Sorry for the long reasoning.\nVerdict: tie").verdict == "A=B"


class RateLimitError(Exception):
    pass


class APITimeoutError(Exception):
    pass


def _wrapped(inner):
    try:
        try:
            raise inner
        except Exception as exc:
            raise RuntimeError("agora-script callable failed") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "exc, reason",
    [
        (RateLimitError("slow down"), RATE_LIMIT),
        (RuntimeError("Error code: 429 - Too Many Requests"), RATE_LIMIT),
        (RuntimeError("You exceeded your current quota"), RATE_LIMIT),
        (TimeoutError(), TIMEOUT),
        (asyncio.TimeoutError(), TIMEOUT),
        (APITimeoutError("request"), TIMEOUT),
        (RuntimeError("the read operation timed out"), TIMEOUT),
        (ConnectionError("connection reset"), ERROR),
        (ValueError("bad request"), ERROR),
    ],
)
def test_exceptions_are_classified(exc, reason):
    assert classify_exception(exc) == reason


def test_classification_looks_through_wrapping_errors():
    assert classify_exception(_wrapped(RateLimitError("x"))) == RATE_LIMIT
    assert classify_exception(_wrapped(TimeoutError("x"))) == TIMEOUT


def test_model_result_reads_the_verdict_from_the_model_side():
    assert model_result("A>>B", "A") == "much_better"
    assert model_result("A>>B", "B") == "much_worse"
    assert model_result("B>A", "B") == "better"
    assert model_result("A=B", "B") == "tie"


def test_answer_order_coin_is_stable_and_balanced():
    flips = [model_first(f"item-{i}") for i in range(400)]
    assert flips == [model_first(f"item-{i}") for i in range(400)]
    assert 160 < sum(flips) < 240

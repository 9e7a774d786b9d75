"""Validators and clean-up (AGORABENCH.md 2.5): each failure has its own reason key."""

import pytest

from pytest_agorabench.generation.cleanup import clean, cut_trailing_note
from pytest_agorabench.generation.validators import (
    check_leak,
    check_length,
    check_math,
    estimate_tokens,
    render_chat,
    validate,
)

GOOD = "Add the numbers: 2 + 2 = 4.\n[RESULT] 4 [/RESULT]"


def key(reason):
    return None if reason is None else reason.split(":")[0]


def test_estimate_tokens():
    assert estimate_tokens("") == 0
    assert estimate_tokens("a b c d e") == 5  # words win for short words
    assert estimate_tokens("x" * 40) == 10  # 4 characters per token for long runs


def test_length_uses_the_chat_formatted_pair():
    seen = []

    def counter(text):
        seen.append(text)
        return 100

    assert check_length("Q", "A", count_tokens=counter, max_seq_len=100) is None
    assert seen == [render_chat("Q", "A")] and "You are a helpful AI assistant." in seen[0]
    assert key(check_length("Q", "A", count_tokens=counter, max_seq_len=99)) == "too_long"
    assert key(check_length("Q", "word " * 5000)) == "too_long"  # default: estimate vs 4,096
    assert check_length("Q", "word " * 3000) is None


@pytest.mark.parametrize(
    "marker", ["INPUT:", "OUTPUT:", "[EXAMPLE 2]", "Revised Question:", "Revised Answer:", "<input1>"]
)
def test_leak_markers(marker):
    assert key(check_leak(f"Some text {marker} more")) == "leak"


def test_leak_is_case_sensitive_by_default():
    code = "def f(input: str, output: str) -> str: ..."
    assert check_leak(code) is None
    assert key(check_leak(code, case_sensitive=False)) == "leak"  # the official behaviour
    assert check_leak("<input type='text'>") is None  # bare HTML tags are not placeholders


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (GOOD, None),
        (GOOD + "  \n", None),
        ("[RESULT] Q.E.D. [/RESULT]", None),
        ("The answer is 4.", "result_tags"),
        ("[RESULT] 4 [/RESULT]\n[RESULT] 4 [/RESULT]", "result_tags"),
        ("[RESULT] 4", "result_tags"),
        ("4 [/RESULT]", "result_tags"),
        ("[RESULT] 4 [/RESULT] dollars.", "result_not_last"),
    ],
)
def test_math(response, reason):
    assert key(check_math(response)) == reason


def test_validate_runs_domain_leak_and_length():
    assert validate("math", "Q?", GOOD) is None
    assert key(validate("math", "Q?", "no tags")) == "result_tags"
    assert key(validate("math", "Q?", "INPUT: x\n" + GOOD)) == "leak"
    assert key(validate("math", "Q?", GOOD, count_tokens=lambda s: 10_000)) == "too_long"
    assert key(validate("math", "Q?", "ok input: x\n" + GOOD, leak_case_sensitive=False)) == "leak"
    assert validate("math", "Q?", "ok input: x\n" + GOOD) is None
    assert validate("instruction_following", "Q?", "no tags needed") is None  # no domain checks yet


def test_cut_trailing_note():
    text = GOOD + "\n\nNote: the sum is exact."
    assert cut_trailing_note(text) == (GOOD, True)
    assert cut_trailing_note(GOOD + "\n**Note:** rounding.") == (GOOD, True)
    assert cut_trailing_note(GOOD) == (GOOD, False)
    assert cut_trailing_note("Note: only a note") == ("Note: only a note", False)
    # Not trailing: the answer comes after the note, so the math rules keep it.
    body = "Note: x is positive.\nSo x = 2.\n[RESULT] 2 [/RESULT]"
    assert cut_trailing_note("Intro.\n" + body, keep=("[RESULT]",)) == ("Intro.\n" + body, False)
    assert cut_trailing_note("A note: inline is not a note line.") == ("A note: inline is not a note line.", False)


def test_clean_records_rules_and_rescues_math_answers():
    text = GOOD + "\n\nNote: units are omitted."
    cleaned, rules = clean("math", text)
    assert cleaned == GOOD and rules == ["trailing_note"]
    assert check_math(text) is not None and check_math(cleaned) is None
    assert clean("math", GOOD) == (GOOD, [])

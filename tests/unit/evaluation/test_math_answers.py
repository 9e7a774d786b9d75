import signal
import threading

import pytest

from pytest_agorabench.evaluation import math_answers
from pytest_agorabench.evaluation.math_answers import (
    extract_answer,
    gold_from_gsm8k,
    gold_from_math_solution,
    gsm8k_equal,
    last_boxed,
    math_equal,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("So she has 12 left. [RESULT] 12 [/RESULT]", "12"),
        ("[RESULT] 3 [/RESULT] on second thought [RESULT] 4 [/RESULT]", "4"),  # the last pair wins
        ("[RESULT]\n\\boxed{\\frac{1}{2}}\n[/RESULT]", "\\frac{1}{2}"),
        ("[RESULT] $-7$ [/RESULT] and 9", "-7"),
        ("[RESULT][/RESULT] so \\boxed{5}", "5"),  # an empty pair is no answer
        ("first \\boxed{1} then \\boxed{\\frac{a}{b}}", "\\frac{a}{b}"),
        ("nested \\boxed{\\sqrt{x^{2}}} done", "\\sqrt{x^{2}}"),
        ("old style \\fbox{8}", "8"),
        ("braces \\boxed{\\{1,2\\}}", "\\{1,2\\}"),
        ("spaced \\boxed 5$.", "5"),
        ("complete \\boxed{6} then truncated \\boxed{7", "6"),
        ("The total is 1,234.50 dollars.", "1234.50"),
        ("She owes -3 now.", "-3"),
        ("Then 5-3=2.", "2"),  # a binary minus is not a sign
        ("He ate 3/4 of the pie", "3/4"),
        ("Answer: .5", ".5"),
        ("no numbers here", None),
        ("", None),
        (None, None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_last_boxed_unbalanced_is_none():
    assert last_boxed("\\boxed{3") is None


@pytest.mark.parametrize(
    "pred, gold, equal",
    [
        ("72", "72", True),
        ("$1,200", "1200", True),
        ("1,200.00", "1200", True),
        ("15%", "15", True),
        ("18 dollars", "18", True),
        ("\\frac{3}{4}", "0.75", True),
        ("3/4", "0.75", True),
        ("-5", "-5", True),
        ("0.3333333", "1/3", True),
        ("\\text{7 apples}", "7", True),
        ("8", "7", False),
        ("seventy-two", "72", False),
        (None, "72", False),
        ("72", None, False),
    ],
)
def test_gsm8k_equal(pred, gold, equal):
    assert gsm8k_equal(pred, gold) is equal


@pytest.mark.parametrize(
    "pred, gold, equal",
    [
        ("\\frac{1}{2}", "\\frac{1}{2}", True),
        ("\\dfrac{1}{2}", "\\frac{1}{2}", True),
        ("0.5", "\\frac{1}{2}", True),
        ("\\sqrt{18}", "3\\sqrt{2}", True),
        ("1+x^2", "x^2+5x+6", False),
        ("x^2+5x+6", "(x+2)(x+3)", True),
        ("9\\pi", "9\\pi", True),
        ("\\left(3,\\frac{\\pi}{2}\\right)", "(3,\\frac{\\pi}{2})", True),
        ("$5$", "5", True),
        ("5", "6", False),
        ("(", "5", False),  # unparsable prediction
        ("", "5", False),
        (None, "5", False),
    ],
)
def test_math_equal(pred, gold, equal):
    assert math_equal(pred, gold) is equal


def test_math_equal_outside_main_thread():
    # math-verify's SIGALRM timeout cannot work in a thread: we must switch it off there, not crash.
    results = []
    worker = threading.Thread(target=lambda: results.append(math_equal("0.5", "\\frac{1}{2}")))
    worker.start()
    worker.join()
    assert results == [True]
    assert math_answers._timeout_seconds() in (None, math_answers._MATH_VERIFY_TIMEOUT_S)


def test_pending_alarm_disables_math_verify_timeout():
    # Another alarm (pytest-timeout's, say) must survive a comparison: math-verify would cancel it.
    previous = signal.signal(signal.SIGALRM, lambda *_: None)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1000)
        assert math_answers._timeout_seconds() is None
        assert math_equal("2/4", "\\frac{1}{2}")
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_math_equal_survives_math_verify_errors(monkeypatch):
    import math_verify

    def boom(*args, **kwargs):
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(math_verify, "parse", boom)
    assert math_equal("0.5", "\\frac{1}{2}") is False
    assert math_equal("\\frac12", "\\frac12") is True  # identical strings need no parser


def test_gold_from_gsm8k():
    assert gold_from_gsm8k("He pays 3 * 400 = <<3*400=1200>>1200.\n#### 1,200") == "1200"
    assert gold_from_gsm8k("#### -4") == "-4"
    with pytest.raises(ValueError, match="####"):
        gold_from_gsm8k("no final line")
    with pytest.raises(ValueError, match="empty"):
        gold_from_gsm8k("steps\n####   ")


def test_gold_from_math_solution():
    assert gold_from_math_solution("So $x=\\boxed{3}$, and thus $\\boxed{\\frac{1}{4}}$.") == "\\frac{1}{4}"
    with pytest.raises(ValueError, match="boxed"):
        gold_from_math_solution("The answer is 3.")

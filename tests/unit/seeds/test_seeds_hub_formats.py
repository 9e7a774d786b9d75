"""Each hub converter on hand-written rows laid out like the dataset on the hub."""

from __future__ import annotations

import pytest

from pytest_agorabench.hub_datasets import MATH_SUBJECTS as MATH_CONFIGS
from pytest_agorabench.seeds import SeedError
from pytest_agorabench.seeds._rows import RowDropped
from pytest_agorabench.seeds.hub_formats import (
    FORMATS,
    convert_row,
    get_format,
    is_math_question,
    last_boxed,
    register_format,
)
from pytest_agorabench.settings import SETTINGS


def dropped(fmt: str, row: dict, subset: str | None = None) -> str:
    with pytest.raises(RowDropped) as info:
        convert_row(fmt, row, subset)
    return info.value.reason


def test_every_setting_format_used_now_is_registered():
    math_formats = {s.format for setting in SETTINGS if setting.domain.value == "math" for s in setting.hub_sources}
    assert math_formats <= set(FORMATS)


# ---------------------------------------------------------------- gsm8k


def test_gsm8k_drops_calculator_notes_and_ends_with_the_result_tag():
    row = {
        "question": "Kai has 3 boxes of 4 shells and finds 2 more. How many shells?",
        "answer": "The boxes hold 3*4 = <<3*4=12>>12 shells.\nWith 2 more he has 12+2 = <<12+2=14>>14.\n#### 14",
    }
    instruction, response = convert_row("gsm8k", row)
    assert instruction == row["question"]
    assert response == "The boxes hold 3*4 = 12 shells.\nWith 2 more he has 12+2 = 14.\n[RESULT] 14 [/RESULT]"


def test_gsm8k_final_answer_loses_thousands_commas_only():
    row = {"question": "q", "answer": "Big sum.\n#### 1,250"}
    assert convert_row("gsm8k", row)[1].endswith("[RESULT] 1250 [/RESULT]")
    row = {"question": "q", "answer": "Half.\n#### 0.5"}
    assert convert_row("gsm8k", row)[1].endswith("[RESULT] 0.5 [/RESULT]")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"question": "q", "answer": "no final line"}, "no_final_answer_line"),
        ({"question": "q", "answer": "steps\n####   "}, "empty_final_answer"),
        ({"answer": "x\n#### 1"}, "missing_field:question"),
        ({"question": "   ", "answer": "x\n#### 1"}, "empty_field:question"),
        ({"question": "q", "answer": None}, "missing_field:answer"),
        ({"question": 5, "answer": "x\n#### 1"}, "not_text:question"),
        ({"question": "q", "answer": "[RESULT] 1 [/RESULT]\n#### 1"}, "result_tag_in_source"),
    ],
)
def test_gsm8k_unconvertible_rows_name_their_reason(row, reason):
    assert dropped("gsm8k", row) == reason


# ---------------------------------------------------------------- hendrycks_math


def test_math_appends_the_last_boxed_answer_with_nested_braces():
    row = {
        "problem": "Add $\\frac12$ and $\\frac14$.",
        "level": "Level 2",
        "type": "Prealgebra",
        "solution": "First $\\boxed{x}$ is a distraction. The sum is $\\boxed{\\frac{3}{4}}$.",
    }
    instruction, response = convert_row("hendrycks_math", row)
    assert instruction == row["problem"]
    assert response == row["solution"] + "\n[RESULT] \\frac{3}{4} [/RESULT]"


def test_math_lists_the_seven_subject_configs():
    assert get_format("hendrycks_math").configs == MATH_CONFIGS
    assert len(MATH_CONFIGS) == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so $\\boxed{5}$", "5"),
        ("\\boxed{a} then \\boxed{\\sqrt{2}}", "\\sqrt{2}"),
        ("written \\fbox{7} here", "7"),
        ("the answer is \\boxed 9$.", "9"),
        ("\\boxed{ 2 + 3 }", "2 + 3"),
        ("\\boxed{3} and a broken \\boxed{4", "3"),
        ("no box at all", None),
        ("\\boxed{}", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_math_without_a_boxed_answer_is_dropped():
    assert dropped("hendrycks_math", {"problem": "p", "solution": "The answer is 4."}) == "no_boxed_answer"
    assert dropped("hendrycks_math", {"problem": "p"}) == "missing_field:solution"


def test_math_multiline_boxed_content_stays_on_one_tag_line():
    row = {"problem": "p", "solution": "$\\boxed{\\begin{pmatrix} 1 \\\\\n 2 \\end{pmatrix}}$"}
    last_line = convert_row("hendrycks_math", row)[1].splitlines()[-1]
    assert last_line == "[RESULT] \\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix} [/RESULT]"


# ---------------------------------------------------------------- magpie


def magpie_row(category: str, response: str = "Do the work.", **extra) -> dict:
    return {"uuid": "u1", "instruction": "Explain it.", "response": response, "task_category": category, **extra}


def test_magpie_subsets_use_the_task_category_values():
    assert convert_row("magpie", magpie_row("Math"), "math")[0] == "Explain it."
    assert convert_row("magpie", magpie_row("Coding & Debugging"), "coding")[0] == "Explain it."
    assert dropped("magpie", magpie_row("Coding & Debugging"), "math") == "not_in_subset:math"
    assert dropped("magpie", magpie_row("Reasoning"), "coding") == "not_in_subset:coding"
    assert dropped("magpie", {"instruction": "i", "response": "r"}, "math") == "not_in_subset:math"


def test_magpie_without_subset_keeps_every_category():
    assert convert_row("magpie", magpie_row("Information seeking")) == ("Explain it.", "Do the work.")


def test_magpie_math_responses_with_a_boxed_answer_get_the_result_tag():
    _, response = convert_row("magpie", magpie_row("Math", "So $x = \\boxed{12}$."), "math")
    assert response == "So $x = \\boxed{12}$.\n[RESULT] 12 [/RESULT]"
    _, response = convert_row("magpie", magpie_row("Math", "So x is 12."), "math")
    assert response == "So x is 12."
    _, response = convert_row("magpie", magpie_row("Coding & Debugging", "\\boxed{1}"), "coding")
    assert response == "\\boxed{1}"


def test_magpie_falls_back_to_the_conversation_turns():
    row = {
        "conversations": [{"from": "human", "value": " Add 2 and 2. "}, {"from": "gpt", "value": "It is 4."}],
        "task_category": "Math",
    }
    assert convert_row("magpie", row, "math") == ("Add 2 and 2.", "It is 4.")
    row["conversations"] = [{"from": "gpt", "value": "hi"}, {"from": "human", "value": "x"}]
    assert dropped("magpie", row) == "bad_conversations"


def test_magpie_empty_response_is_dropped():
    assert dropped("magpie", magpie_row("Math", "  "), "math") == "empty_field:response"


# ---------------------------------------------------------------- webinstruct

MATH_QUESTIONS = [
    "Evaluate the integral $\\int_0^1 x^2\\,dx$.",
    "How do you solve the equation 3x + 4 = 19?",
    "Prove that the sum of two even integers is even.",
    "Find the derivative of f(x) = sin(x) cos(x).",
    "What is the probability of drawing two aces from a deck without replacement?",
    "Simplify the fraction 18/24.",
]
OTHER_QUESTIONS = [
    "What is the role of DNA in a cell?",
    "Which enzyme breaks down starch in the mouth?",
    "Why did the war of 1812 start?",
    "How does a rise in demand affect the market price of a good?",
    "Write a sentence that uses a possessive pronoun.",
    "What is the net ionic equation when an acid reacts with a base?",
]


@pytest.mark.parametrize("question", MATH_QUESTIONS)
def test_webinstruct_math_heuristic_accepts_math(question):
    row = {"question": question, "answer": "a", "source": "socratic"}
    assert is_math_question(row)
    assert convert_row("webinstruct", row, "math") == (question, "a")
    assert dropped("webinstruct", row, "non_math") == "not_in_subset:non_math"


@pytest.mark.parametrize("question", OTHER_QUESTIONS)
def test_webinstruct_math_heuristic_rejects_other_subjects(question):
    row = {"question": question, "answer": "a", "source": "stackexchange"}
    assert not is_math_question(row)
    assert convert_row("webinstruct", row, "non_math") == (question, "a")
    assert dropped("webinstruct", row, "math") == "not_in_subset:math"


def test_webinstruct_math_site_source_counts_as_math():
    assert is_math_question({"question": "Why is this true?", "answer": "a", "source": "mathstackexchange"})


def test_webinstruct_keeps_the_answer_untouched():
    row = {"question": "Solve x + 1 = 3 for x.", "answer": "x = 2 \n", "source": "socratic"}
    assert convert_row("webinstruct", row, "math") == ("Solve x + 1 = 3 for x.", "x = 2")


# ---------------------------------------------------------------- registry


def test_unknown_format_suggests_a_close_name():
    with pytest.raises(SeedError, match="Did you mean 'gsm8k'"):
        get_format("gsm8")


def test_unknown_subset_is_a_clear_error():
    with pytest.raises(SeedError, match="no subset 'physics'.*math, non_math"):
        convert_row("webinstruct", {"question": "q", "answer": "a"}, "physics")


def test_registry_can_be_extended_and_refuses_duplicates():
    @register_format("test_only_pairs", columns=("q", "a"))
    def _pairs(row, subset):
        return row["q"], row["a"]

    try:
        assert convert_row("test_only_pairs", {"q": "x", "a": "y"}) == ("x", "y")
        with pytest.raises(ValueError, match="registered twice"):
            register_format("test_only_pairs")(_pairs)
    finally:
        del FORMATS["test_only_pairs"]

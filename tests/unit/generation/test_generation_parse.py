"""Parsing generator outputs per method (AGORABENCH.md 2.2-2.4): failures are reasons, not exceptions."""

import pytest

from pytest_agorabench.generation.parse import (
    Parsed,
    parse_enhancement,
    parse_instance,
    parse_output,
    parse_response,
)
from pytest_agorabench.settings import Method


def test_instance_continuation_of_dangling_input():
    out = parse_instance("What is 2+3?\nOUTPUT: 2+3=5\n[RESULT] 5 [/RESULT]\n[END]")
    assert out == Parsed("What is 2+3?", "2+3=5\n[RESULT] 5 [/RESULT]")


def test_instance_uses_last_input_and_last_output_and_ignores_prose():
    text = (
        "Sure! Here is a new example.\nINPUT: draft\nOUTPUT: scrap\n\n"
        "INPUT:  Final question?  \nOUTPUT:  Final answer.  \n[END]\nHope this helps!"
    )
    assert parse_instance(text) == Parsed("Final question?", "Final answer.")


def test_instance_without_end_marker_is_parsed():
    # APIs strip the stop string; truncation is judged by the stop reason, not here.
    assert parse_instance("Q?\nOUTPUT: A.") == Parsed("Q?", "A.")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "empty_output"),
        ("   \n", "empty_output"),
        ("A problem with no answer marker.\n[END]", "missing_output_marker"),
        ("x\nOUTPUT: a\nINPUT: only a question", "missing_output_marker"),
        ("\nOUTPUT: an answer", "empty_instruction"),
        ("Q?\nOUTPUT:   \n[END]", "empty_response"),
    ],
)
def test_instance_malformed(text, key):
    reason = parse_instance(text)
    assert isinstance(reason, str) and reason.split(":")[0] == key


def test_response_generation_cuts_at_end_and_keeps_seed_instruction():
    assert parse_response("Steps.\n[RESULT] 4 [/RESULT] [END] trailing", " Seed? ") == Parsed(
        "Seed?", "Steps.\n[RESULT] 4 [/RESULT]"
    )
    assert parse_response("[END]", "Seed?").startswith("empty_response")
    assert parse_output(Method.RESPONSE_GENERATION, "ok", {"instruction": "S"}) == Parsed("S", "ok")
    with pytest.raises(ValueError):
        parse_output(Method.RESPONSE_GENERATION, "ok")


def test_enhancement():
    text = "Revised Question: What is 2+2?\nRevised Answer: 2+2=4\n[RESULT] 4 [/RESULT] [END]"
    assert parse_enhancement(text) == Parsed("What is 2+2?", "2+2=4\n[RESULT] 4 [/RESULT]")
    assert parse_output(Method.QUALITY_ENHANCEMENT, "Here you go:\n" + text) == Parsed(
        "What is 2+2?", "2+2=4\n[RESULT] 4 [/RESULT]"
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("", "empty_output"),
        ("Revised Answer: 4 [END]", "missing_revised_question"),
        ("Revised Question: q? no answer", "missing_revised_answer"),
        ("Revised Question: \nRevised Answer: 4", "empty_instruction"),
        ("Revised Question: q?\nRevised Answer: [END]", "empty_response"),
    ],
)
def test_enhancement_malformed(text, key):
    reason = parse_enhancement(text)
    assert isinstance(reason, str) and reason.split(":")[0] == key

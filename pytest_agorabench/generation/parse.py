"""Turn a generator's raw output into (instruction, response), per method (AGORABENCH.md 2.2-2.4).

Failures are returned as a reason string ``"<key>: <detail>"`` (never raised): the runner retries on
them and counts drops by ``<key>``. ``[END]`` is optional everywhere because most APIs strip the stop
string from the completion; whether the output was cut short is the runner's call (stop reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_agorabench.generation.prompts.base import (
    END_MARKER,
    INPUT_MARKER,
    OUTPUT_MARKER,
    REVISED_ANSWER,
    REVISED_QUESTION,
)
from pytest_agorabench.settings import Method


@dataclass(frozen=True)
class Parsed:
    instruction: str
    response: str
    fence_stripped: bool = False  # json variant: the object came wrapped in a code fence


ParseResult = Parsed | str  # a str is the failure reason


def _until_end(text: str) -> str:
    cut = text.find(END_MARKER)
    return text if cut < 0 else text[:cut]


def parse_instance(text: str) -> ParseResult:
    """Instruction: after the last ``INPUT:`` (or from the start, since the prompt ends with a dangling
    ``INPUT: ``) up to the next ``OUTPUT:``. Response: after the last ``OUTPUT:`` up to ``[END]``."""
    if not text.strip():
        return "empty_output: the model returned no text"
    start = text.rfind(INPUT_MARKER)
    start = 0 if start < 0 else start + len(INPUT_MARKER)
    out_at = text.find(OUTPUT_MARKER, start)
    if out_at < 0:
        return f"missing_output_marker: no {OUTPUT_MARKER!r} after the instruction"
    instruction = text[start:out_at].strip()
    last_out = text.rfind(OUTPUT_MARKER)
    response = _until_end(text[last_out + len(OUTPUT_MARKER) :]).strip()
    if not instruction:
        return "empty_instruction: nothing between the input and output markers"
    if not response:
        return f"empty_response: nothing after {OUTPUT_MARKER!r}"
    return Parsed(instruction, response)


def parse_response(text: str, instruction: str) -> ParseResult:
    """Response generation: the output up to ``[END]``; the instruction is the seed's, not re-parsed."""
    response = _until_end(text).strip()
    if not response:
        return "empty_response: the model returned no text before [END]"
    return Parsed(instruction.strip(), response)


def parse_enhancement(text: str) -> ParseResult:
    """Quality enhancement: ``Revised Question: q`` then ``Revised Answer: a`` then ``[END]`` (last pair)."""
    if not text.strip():
        return "empty_output: the model returned no text"
    q_at = text.rfind(REVISED_QUESTION)
    if q_at < 0:
        return f"missing_revised_question: no {REVISED_QUESTION!r}"
    a_at = text.find(REVISED_ANSWER, q_at)
    if a_at < 0:
        return f"missing_revised_answer: no {REVISED_ANSWER!r} after the revised question"
    instruction = text[q_at + len(REVISED_QUESTION) : a_at].strip()
    response = _until_end(text[a_at + len(REVISED_ANSWER) :]).strip()
    if not instruction:
        return "empty_instruction: the revised question is empty"
    if not response:
        return "empty_response: the revised answer is empty"
    return Parsed(instruction, response)


def parse_output(method: Method, text: str, seed_row: Mapping[str, Any] | None = None) -> ParseResult:
    if method is Method.INSTANCE_GENERATION:
        return parse_instance(text)
    if method is Method.RESPONSE_GENERATION:
        if seed_row is None:
            raise ValueError("response generation needs the seed row for its instruction")
        return parse_response(text, str(seed_row["instruction"]))
    return parse_enhancement(text)


def parse_json_output(method: Method, text: str, seed_row: Mapping[str, Any] | None = None) -> ParseResult:
    """The ``json`` variant: one JSON object (a surrounding code fence is stripped and noted)."""
    from pytest_agorabench.generation.prompts.json_format import KEYS_BOTH, KEYS_RESPONSE, parse_json_object

    if method is Method.RESPONSE_GENERATION:
        if seed_row is None:
            raise ValueError("response generation needs the seed row for its instruction")
        got = parse_json_object(text, KEYS_RESPONSE)
        if isinstance(got, str):
            return got
        return Parsed(str(seed_row["instruction"]).strip(), got[0]["response"], fence_stripped=got[1])
    got = parse_json_object(text, KEYS_BOTH)
    if isinstance(got, str):
        return got
    return Parsed(got[0]["instruction"], got[0]["response"], fence_stripped=got[1])

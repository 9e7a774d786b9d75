"""Turn a generator's raw output into (instruction, response), per method (AGORABENCH.md 2.2-2.4).

The parsers are the layouts' (``layouts.py``), where the generation constraint comes from too; these are
the per-method entry points. Failures are returned as a reason string ``"<key>: <detail>"`` (never
raised): the runner retries on them and counts drops by ``<key>``. ``[END]`` is optional everywhere because
most APIs strip the stop string from the completion; whether the output was cut short is the runner's call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_agorabench.generation.layouts import Parsed, ParseResult, layout_for
from pytest_agorabench.settings import SETTINGS, Domain, Method

__all__ = ["ParseResult", "Parsed", "parse_enhancement", "parse_instance", "parse_json_output", "parse_output",
           "parse_response"]


def _layout(family: str, method: Method):
    # The fields' markers do not depend on the domain (only the grammar's response body does).
    setting = next(s for s in SETTINGS if s.method is method and s.domain is Domain.INSTRUCTION_FOLLOWING)
    return layout_for(family, setting)


def parse_instance(text: str) -> ParseResult:
    """Instruction: after the last ``INPUT:`` (or from the start, since the prompt ends with a dangling
    ``INPUT: ``) up to the next ``OUTPUT:``. Response: after the last ``OUTPUT:`` up to ``[END]``."""
    return _layout("text", Method.INSTANCE_GENERATION).parse(text)


def parse_response(text: str, instruction: str) -> ParseResult:
    """Response generation: the output up to ``[END]``; the instruction is the seed's, not re-parsed."""
    return _layout("text", Method.RESPONSE_GENERATION).parse(text, {"instruction": instruction})


def parse_enhancement(text: str) -> ParseResult:
    """Quality enhancement: ``Revised Question: q`` then ``Revised Answer: a`` then ``[END]`` (last pair)."""
    return _layout("text", Method.QUALITY_ENHANCEMENT).parse(text)


def parse_output(method: Method, text: str, seed_row: Mapping[str, Any] | None = None) -> ParseResult:
    return _layout("text", method).parse(text, seed_row)


def parse_json_output(method: Method, text: str, seed_row: Mapping[str, Any] | None = None) -> ParseResult:
    """The ``json`` variant: one JSON object (a surrounding code fence is stripped and noted)."""
    return _layout("json", method).parse(text, seed_row)

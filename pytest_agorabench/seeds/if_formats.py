"""Converter for the instruction-following seed dataset LIMA, registered into ``hub_formats.FORMATS`` on import.

The other two instruction-following sources use formats registered in ``hub_formats``: ``magpie`` (Magpie-Pro,
all task categories: the paper takes its instructions as they come) and ``webinstruct`` with subset
``non_math``.

LIMA (GAIR/lima, train), as published: ``conversations``, a list of strings alternating user and assistant
(most rows hold one exchange, a few are multi-turn dialogues), and ``source`` (stackexchange, wikihow, ...).
The seed row is the first exchange; the later turns of a dialogue are not a single instruction/response pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_agorabench.seeds._rows import RowDropped
from pytest_agorabench.seeds.hub_formats import register_format


@register_format("lima", columns=("conversations", "source"))
def _lima(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    turns = row.get("conversations")
    if turns is None:
        raise RowDropped("missing_field:conversations")
    if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
        raise RowDropped("bad_conversations")
    if len(turns) < 2:
        raise RowDropped("no_response_turn")
    instruction, response = turns[0].strip(), turns[1].strip()
    if not instruction:
        raise RowDropped("empty_field:instruction")
    if not response:
        raise RowDropped("empty_field:response")
    return instruction, response

"""Clean-up of parsed responses (AGORABENCH.md 2.5), applied before the validators.

Running it first lets a good answer followed by a chatty "Note: ..." survive the math check (which
requires the response to end with ``[/RESULT]``). Each rule returns (text, applied) and the names of
the applied rules are recorded in the row's ``cleaned`` list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from pytest_agorabench.generation.code_format import cut_test_block

# A line that opens a note: optional markdown emphasis or bracket, then "Note:" (any case).
_NOTE_LINE = re.compile(r"^[ \t]*[*_(\[]*note[*_]*[ \t]*:", re.IGNORECASE | re.MULTILINE)


def cut_trailing_note(text: str, keep: tuple[str, ...] = ()) -> tuple[str, bool]:
    """Cut the response at its last line that starts with "Note:".

    Not when that line is the first line (nothing would remain), nor when the cut part contains one
    of ``keep`` (e.g. the math result tags): then the note is not trailing, the answer follows it.
    """
    matches = list(_NOTE_LINE.finditer(text))
    if not matches:
        return text, False
    start = matches[-1].start()
    head, tail = text[:start].rstrip(), text[start:]
    if not head or any(marker in tail for marker in keep):
        return text, False
    return head, True


Rule = Callable[[str], tuple[str, bool]]

# Domain -> ordered (name, rule) pairs. A new domain adds its entry here (code: the test-block cut).
DOMAIN_CLEANUPS: dict[str, tuple[tuple[str, Rule], ...]] = {
    "math": (("trailing_note", partial(cut_trailing_note, keep=("[RESULT]", "[/RESULT]"))),),
    # A note is trailing only after the last fence; then a trailing test/example block in the code goes.
    "code": (("trailing_note", partial(cut_trailing_note, keep=("```",))), ("test_block", cut_test_block)),
    "instruction_following": (("trailing_note", cut_trailing_note),),
}
DEFAULT_CLEANUPS: tuple[tuple[str, Rule], ...] = (("trailing_note", cut_trailing_note),)


def clean(domain: str, response: str) -> tuple[str, list[str]]:
    """Apply the domain's clean-up rules; returns the new text and the names of the rules that fired."""
    applied: list[str] = []
    for name, rule in DOMAIN_CLEANUPS.get(domain, DEFAULT_CLEANUPS):
        response, fired = rule(response)
        if fired:
            applied.append(name)
    return response, applied

"""The text every contamination rule compares: lowercased NFKC tokens, words and numbers kept, markup and
sentence punctuation dropped, operators kept.

Why this shape: casing, spacing, LaTeX braces and a trailing "?" must not hide a copy, so they go; but
"3 + 4" and "3 - 4" are different questions, so operators stay tokens. Numbers are tokens of their own
("1,000" -> 1 000) so the near-copy rule can mask them (a GSM8K question with its numbers changed) or
demand them equal (a short question whose numbers are all that tell it apart from its neighbours).
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")  # runs of letters/digits, or one symbol
# Punctuation and markup that carry no content: the question is the same with or without them.
_DROP = frozenset(".,;:!?'\"`()[]{}$\\#_|~@")
_NUMBER_SPLIT = re.compile(r"(\d+)")  # keeps the numbers: "3x" -> "", "3", "x"
NUMBER_MASK = "<n>"


def tokens(text: str) -> tuple[str, ...]:
    """``text`` as comparable tokens."""
    text = unicodedata.normalize("NFKC", text).lower()
    out = []
    for tok in _TOKEN.findall(text):
        if tok in _DROP:
            continue
        # "3x" / "x2": digits and letters apart, so a number is always a token of its own.
        out.extend(p for p in _NUMBER_SPLIT.split(tok) if p)
    return tuple(out)


def is_number(token: str) -> bool:
    return token.isdigit()


def masked(toks: tuple[str, ...]) -> frozenset[str]:
    """The token set with every number replaced by one mask: what a paraphrase with other numbers keeps."""
    return frozenset(NUMBER_MASK if is_number(t) else t for t in toks)


def numbers(toks: tuple[str, ...]) -> tuple[str, ...]:
    """The numbers of a text, sorted (a reordered question keeps them)."""
    return tuple(sorted(t.lstrip("0") or "0" for t in toks if is_number(t)))

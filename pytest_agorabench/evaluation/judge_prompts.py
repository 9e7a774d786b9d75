"""The pairwise judge: our prompts, verdict parsing and the classification of judge failures.

Two prompt styles, both written by us:
- ``preference`` (AlpacaEval 2.0): which of two answers is better, "A" or "B" ("tie" is accepted and
  counts half). The model's answer is shown first or second by a stable coin flip per item, so position
  bias averages out over the benchmark instead of favouring one side.
- ``graded`` (Arena-Hard): a five-level verdict, asked twice per item with the answers in both orders.

A judgment that cannot be used is classified by reason: ``unparseable`` (no verdict found, truncated or
empty reply), ``refusal`` (the judge declined, or the provider's content filter stopped it),
``rate_limit``, ``timeout`` and ``error`` (any other provider failure). Only the last three are transient.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

PREFERENCE = "preference"
GRADED = "graded"
STYLES = (PREFERENCE, GRADED)

UNPARSEABLE = "unparseable"
REFUSAL = "refusal"
RATE_LIMIT = "rate_limit"
TIMEOUT = "timeout"
ERROR = "error"
FAILURE_REASONS = (UNPARSEABLE, REFUSAL, RATE_LIMIT, TIMEOUT, ERROR)
TRANSIENT = frozenset({RATE_LIMIT, TIMEOUT, ERROR})  # worth retrying, and never cached

SYSTEM_MESSAGE = (
    "You are a careful and impartial reviewer. You compare two answers to the same request and decide "
    "which serves the person who asked better. Neither the order of the answers nor their length is a "
    "reason to prefer one."
)

_PAIR = (
    "## The request\n{instruction}\n\n"
    "## Answer A\n{answer_a}\n\n"
    "## Answer B\n{answer_b}\n\n"
)

_PREFERENCE_RULES = (
    "## How to decide\n"
    "Prefer the answer that does what the request asks, is correct, and is more useful and clearer. "
    "Extra length that adds nothing is a flaw, not a merit.\n"
    "Reply with a single line and nothing else: \"Verdict: A\" if answer A is better, "
    "\"Verdict: B\" if answer B is better.\n\n"
    "Which answer is better, A or B?"
)

_GRADED_RULES = (
    "## How to decide\n"
    "First work out briefly what a correct and complete answer to the request needs. Then check each "
    "answer against that: errors, missing parts, relevance, clarity and unnecessary padding. Keep this "
    "short.\n"
    "Finish with one line holding your verdict, exactly one of:\n"
    "Verdict: A much better\n"
    "Verdict: A better\n"
    "Verdict: tie\n"
    "Verdict: B better\n"
    "Verdict: B much better\n\n"
    "Which answer is better, A or B?"
)

TEMPLATES = {PREFERENCE: _PAIR + _PREFERENCE_RULES, GRADED: _PAIR + _GRADED_RULES}


# Bump when verdict parsing changes: cached replies were classified by the parser of their time.
PARSER_VERSION = 2


def prompt_version(style: str) -> str:
    """sha256 prefix of everything the judge sees besides the texts, and of the parser: part of every
    cache key."""
    payload = json.dumps(
        {"system": SYSTEM_MESSAGE, "template": TEMPLATES[style], "style": style, "parser": PARSER_VERSION}
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def judge_prompt(style: str, instruction: str, answer_a: str, answer_b: str) -> str:
    if style not in TEMPLATES:
        raise ValueError(f"unknown judge style {style!r}; choose from {', '.join(STYLES)}")
    # One pass over the template's own placeholders: the texts may contain braces (code, LaTeX) or even
    # a literal "{answer_a}", which must stay as written.
    values = {"instruction": instruction, "answer_a": answer_a, "answer_b": answer_b}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)].strip() or "(empty answer)", TEMPLATES[style])


_PLACEHOLDER = re.compile(r"\{(instruction|answer_a|answer_b)\}")


# Verdicts, written from the side of the answer shown as A. Longest labels first so "A much better"
# is not read as "A".
_GRADED_LABELS = {
    "a much better": "A>>B",
    "a better": "A>B",
    "tie": "A=B",
    "b better": "B>A",
    "b much better": "B>>A",
}
_VERDICT_LINE = re.compile(r"verdict\s*[:=\-]?\s*[*_\"'`\[(]*\s*(?:answer\s+)?([ab]|tie)\b([ \t]*much)?([ \t]*better)?", re.IGNORECASE)
# A reply whose first line is just a side ("A", "**B**", "Answer A.", "Tie") answers the closing question,
# and so does one that opens by stating it ("A is better.", "Answer B is much better, because ...").
_BARE = re.compile(r"^\W*(?:answer\s+)?([ab]|tie)\W*$", re.IGNORECASE)
_STATED = re.compile(r"^\W*(?:answer\s+)?([ab])\s+is\s+(much\s+|far\s+)?better\b", re.IGNORECASE)

_REFUSAL = re.compile(
    r"\b(?:i\s*(?:'m|am)\s+sorry|i\s+(?:can(?:'|no)t|cannot|won't|will\s+not|am\s+(?:not\s+able|unable))\s+"
    r"(?:help|assist|comply|provide|evaluate|judge|compare|do\s+that|answer)|as\s+an\s+ai\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Parsed:
    verdict: str | None  # "A>>B" / "A>B" / "A=B" / "B>A" / "B>>A" (graded); "A>B" / "A=B" / "B>A" (preference)
    failure: str | None  # a FAILURE_REASONS entry when verdict is None
    detail: str = ""


def parse_verdict(style: str, text: str, stop_reason: str | None = None) -> Parsed:
    """The verdict of the judge's reply, or why there is none.

    The last "Verdict: ..." line wins. Without one, a first line that is only a side ("A", "B", "tie") or
    opens by stating it ("A is better", "B is much better") is the verdict (on the graded scale a bare "A"
    reads as "A better"): the prompt ends by asking which answer is better, and short replies of that form
    are what small judges give. Anything else is unparseable.
    """
    text = text or ""
    found = None
    for match in _VERDICT_LINE.finditer(text):
        found = match
    if found is None:
        first = next((line for line in text.splitlines() if line.strip()), "").strip()
        bare = _BARE.match(first)
        if bare:
            return Parsed(_preference(bare.group(1).lower()), None)
        stated = _STATED.match(first)
        if stated:
            side, strong = stated.group(1).upper(), bool(stated.group(2)) and style == GRADED
            other = "B" if side == "A" else "A"
            return Parsed(f"{side}>{'>' if strong else ''}{other}", None)
    if found is not None:
        side = found.group(1).lower()
        much = bool(found.group(2))
        if style == PREFERENCE:
            return Parsed(_preference(side), None)
        if side == "tie":
            return Parsed("A=B", None)
        if not found.group(3) and not much:
            # "Verdict: A" on the graded scale: the judge picked a side without a strength; read as "better".
            return Parsed("A>B" if side == "a" else "B>A", None)
        return Parsed(_GRADED_LABELS[f"{side}{' much' if much else ''} better"], None)
    if stop_reason == "content_filter":
        return Parsed(None, REFUSAL, "stopped by the provider's content filter")
    if _REFUSAL.search(text):
        return Parsed(None, REFUSAL, text.strip()[:200])
    if not text.strip():
        return Parsed(None, UNPARSEABLE, "empty reply")
    if stop_reason in ("max_tokens", "model_length"):
        return Parsed(None, UNPARSEABLE, f"cut off ({stop_reason}) before a verdict")
    return Parsed(None, UNPARSEABLE, "no verdict line: " + text.strip()[:200])


def _preference(side: str) -> str:
    return {"a": "A>B", "b": "B>A", "tie": "A=B"}[side]


def classify_exception(exc: BaseException) -> str:
    """rate_limit / timeout / error for an exception raised by a judge call (its causes included:
    providers and our script provider wrap the original error)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    texts = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__.lower()
        message = str(current).lower()
        texts.append(message)
        if "ratelimit" in name or "rate_limit" in name:
            return RATE_LIMIT
        if isinstance(current, TimeoutError) or "timeout" in name:
            return TIMEOUT
        current = current.__cause__ or current.__context__
    joined = " ".join(texts)
    if re.search(r"rate.?limit|\b429\b|too many requests|quota", joined):
        return RATE_LIMIT
    if re.search(r"timed?\s*out|timeout", joined):
        return TIMEOUT
    return ERROR


# ---------------------------------------------------------------- verdict -> the model's result

_FROM_A = {"A>>B": "much_better", "A>B": "better", "A=B": "tie", "B>A": "worse", "B>>A": "much_worse"}
_FROM_B = {"A>>B": "much_worse", "A>B": "worse", "A=B": "tie", "B>A": "better", "B>>A": "much_better"}


def model_result(verdict: str, model_position: str) -> str:
    """The verdict from the model's side: much_better / better / tie / worse / much_worse."""
    table = _FROM_A if model_position == "A" else _FROM_B
    return table[verdict]


PREFERENCE_OUTCOME = {"much_better": 1.0, "better": 1.0, "tie": 0.5, "worse": 0.0, "much_worse": 0.0}


def model_first(item_id: str) -> bool:
    """A stable coin flip per item: does the model's answer come first (as A) in the preference prompt?"""
    return hashlib.sha256(f"agorabench-judge-order:{item_id}".encode()).digest()[0] % 2 == 0

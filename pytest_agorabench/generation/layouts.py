"""Layouts: what a generator's output must look like, defined once per (prompt family, setting).

A layout is the one definition from which both sides come, so they cannot drift:

* the parser of the generation stage (``Layout.parse``: ``INPUT:``/``OUTPUT:``/``[END]``, ``Revised
  Question:``/``Revised Answer:``, or one JSON object), and
* the generation constraint for ``--agora-structured=on``: a Lark grammar (``Layout.grammar``, for
  llguidance in our in-process provider and for vllm's ``structured_outputs``) and, for the json family,
  a JSON schema (``Layout.json_schema``, for APIs that take one).

Families: ``text`` serves the ``agorabench`` and ``unoptimized`` variants and prompt folders (all three are
parsed the same way); ``json`` serves the ``json`` variant. A field's body is a sequence of literals and
slots (free text with limits). The grammar is stricter than the parser: the parser must also read free
text (structured generation off), the grammar admits only text that parses and that the domain validators
accept (one result-tag pair at the end for math, one fenced block for code, no prompt marker anywhere).
Slots carry a share of the token budget, used by the provider to close a part that runs too long.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pytest_agorabench.generation.prompts.base import (
    END_MARKER,
    INPUT_MARKER,
    OUTPUT_MARKER,
    REVISED_ANSWER,
    REVISED_QUESTION,
)
from pytest_agorabench.generation.prompts.json_format import parse_json_object
from pytest_agorabench.generation.validators import LEAK_MARKERS
from pytest_agorabench.settings import SETTINGS, Domain, Method, Setting

FAMILIES = ("text", "json")
RESULT_OPEN, RESULT_CLOSE, FENCE = "[RESULT]", "[/RESULT]", "```"
FILLER = "?"  # what a forced close writes into a slot that is still blank (a slot must not stay empty)


@dataclass(frozen=True)
class Parsed:
    instruction: str
    response: str
    fence_stripped: bool = False  # json family: the object came wrapped in a code fence


ParseResult = Parsed | str  # a str is the failure reason "<key>: <detail>"


@dataclass(frozen=True)
class Slot:
    """Free text the model writes: none of ``forbid`` inside; only ``chars`` (a regex class) when given."""

    name: str
    forbid: tuple[str, ...] = LEAK_MARKERS
    chars: str | None = None
    share: float = 1.0  # relative share of the token budget before the provider closes it


Piece = str | Slot  # a literal, or a slot


@dataclass(frozen=True)
class Field:
    """One field of the parsed row, as the parser finds it and as the grammar writes it.

    ``marker``: the text before the field (None: the output's start). ``in_prompt``: the prompt ends with
    the marker, so the model starts inside the field and the parser reads from the start when it is absent.
    ``take_last``: the field starts after the marker's last occurrence (a model that drafts twice), else
    after its first occurrence following the previous field. ``missing``: the drop reason's key when the
    marker is absent.
    """

    name: str
    marker: str | None
    body: tuple[Piece, ...]
    in_prompt: bool = False
    take_last: bool = True
    missing: str = ""


@dataclass(frozen=True)
class Layout:
    family: str  # "text" | "json"
    setting: Setting
    fields: tuple[Field, ...]
    end: str  # text family: the literal after the last field (a separator and [END])

    @property
    def key(self) -> str:
        return f"{self.family}/{self.setting.key}"

    # -- the parser -------------------------------------------------------------------------------
    def parse(self, text: str, seed_row: Mapping[str, Any] | None = None) -> ParseResult:
        """(instruction, response) or a reason ``"<key>: <detail>"``. Response generation takes the
        instruction from the seed row (AGORABENCH.md 2.3), never from the output."""
        names = [f.name for f in self.fields]
        if "instruction" not in names and seed_row is None:
            raise ValueError("response generation needs the seed row for its instruction")
        if self.family == "json":
            got = parse_json_object(text, names)
            if isinstance(got, str):
                return got
            values, fenced = got
        else:
            # Response generation has no marker: a blank output is its empty response (drop key kept).
            if not text.strip() and self.fields[0].marker is not None:
                return "empty_output: the model returned no text"
            values = _split(self.fields, text)
            if isinstance(values, str):
                return values
            fenced = False
        instruction = values.get("instruction", str(seed_row["instruction"]).strip() if seed_row else "")
        return Parsed(instruction, values["response"], fence_stripped=fenced)

    # -- the constraint ---------------------------------------------------------------------------
    def pieces(self) -> tuple[Piece, ...]:
        """The whole output as literals and slots, in order (what the grammar and the provider walk)."""
        out: list[Piece] = []
        if self.family == "json":
            for k, field in enumerate(self.fields):
                out.append(("{" if k == 0 else ", ") + json.dumps(field.name) + ': "')
                out.extend(_json_piece(p) for p in field.body)
                out.append('"')
            out.append("}")
        else:
            for k, field in enumerate(self.fields):
                if field.marker is not None and not field.in_prompt:
                    out.append(("" if k == 0 else "\n") + field.marker + " ")
                out.extend(field.body)
            out.append(self.end)
        return tuple(_merge_literals(out))

    def fits(self, text: str) -> bool:
        """Whether ``text`` is in the grammar's language, checked here without a tokenizer: a served
        backend may ignore a constraint silently, so the stage re-checks every output. The stop string
        ``[END]`` is usually cut from a completion, so the text family's may be missing."""
        pieces = self.pieces()
        if self.family == "text" and not text.endswith(END_MARKER):
            text += END_MARKER
        at = 0
        for k, piece in enumerate(pieces):
            if isinstance(piece, str):
                if not text.startswith(piece, at):
                    return False
                at += len(piece)
                continue
            # A slot never holds the literal after it (its forbidden texts or characters exclude it), so
            # the slot ends at that literal's first occurrence.
            following = pieces[k + 1]
            assert isinstance(following, str)
            end = text.find(following, at)
            if end < 0 or not _slot_fits(piece, text[at:end], self.family):
                return False
            at = end
        return at == len(text)

    def grammar(self) -> str:
        """A Lark grammar for llguidance (and vllm's ``structured_outputs.grammar``).

        One terminal per slot, holding the slot and the literal after it: llguidance's lexer is greedy, so
        a delimiter in a terminal of its own would be swallowed by the free text before it; and one terminal
        for the whole layout made the lexer's regex derivatives explode on erratic text ("too many
        expressions"). A slot never contains the literal after it, so each terminal ends where it must.
        """
        terminals: list[list[str]] = [[]]
        for piece in self.pieces():
            if isinstance(piece, str):
                terminals[-1].append(_lark_literal(piece))
                if len(terminals[-1]) > 1 or len(terminals) > 1:  # a literal closes its slot's terminal
                    terminals.append([])
            else:
                terminals[-1].append(_lark_slot(piece, self.family))
        terminals = [t for t in terminals if t]
        names = [f"T{k}" for k in range(len(terminals))]
        rules = "".join(f"{name}: {' '.join(t)}\n" for name, t in zip(names, terminals))
        return f"start: {' '.join(names)}\n{rules}"

    def json_schema(self) -> dict[str, Any]:
        """The json family as a JSON schema (for APIs that constrain by schema only). Looser than the
        grammar: a pattern cannot say "contains no marker"; the validators still filter."""
        if self.family != "json":
            raise ValueError(f"{self.key}: only the json family has a JSON schema")
        properties = {
            f.name: {"type": "string", "minLength": 1, "pattern": _schema_pattern(f.body)} for f in self.fields
        }
        return {
            "type": "object",
            "properties": properties,
            "required": [f.name for f in self.fields],
            "additionalProperties": False,
        }


# -- the parser's walk ---------------------------------------------------------------------------
def _split(fields: tuple[Field, ...], text: str) -> dict[str, str] | str:
    starts: list[int] = []
    ends: list[int] = []
    for k, field in enumerate(fields):
        if field.marker is None:
            starts.append(0)
            continue
        if k == 0:
            at = text.rfind(field.marker) if field.take_last else text.find(field.marker)
            if at < 0 and not field.in_prompt:
                return f"{field.missing}: no {field.marker!r}"
            starts.append(0 if at < 0 else at + len(field.marker))
            continue
        first = text.find(field.marker, starts[-1])
        if first < 0:
            return f"{field.missing}: no {field.marker!r} after the {fields[k - 1].name}"
        ends.append(first)
        at = text.rfind(field.marker) if field.take_last else first
        starts.append(at + len(field.marker))
    cut = text.find(END_MARKER, starts[-1])
    ends.append(len(text) if cut < 0 else cut)
    values = {f.name: text[s:e].strip() for f, s, e in zip(fields, starts, ends)}
    for field in fields:
        if not values[field.name]:
            where = f"after {field.marker!r}" if field.marker else "before [END]"
            return f"empty_{field.name}: nothing {where}"
    return values


# -- rendering the constraint --------------------------------------------------------------------
# One character of a JSON string's text, written for a Lark /regex/ (hence the escaped slash).
_JSON_CHAR = r'(?:[^"\\\x00-\x1f]|\\["\\\/bfnrt]|\\u[0-9a-fA-F]{4})'


def _json_text(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)[1:-1]


def _json_piece(piece: Piece) -> Piece:
    """A body piece as it appears inside a JSON string: literals and forbidden texts escaped."""
    if isinstance(piece, str):
        return _json_text(piece)
    return Slot(piece.name, tuple(_json_text(f) for f in piece.forbid), piece.chars, piece.share)


def _merge_literals(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        elif p != "":
            out.append(p)
    return out


def _lark_literal(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lark string literal


def _lark_slot(slot: Slot, family: str) -> str:
    if slot.chars is not None:
        body = f"/{slot.chars}+/"
    elif family == "json":
        body = f"/{_JSON_CHAR}+/"
    else:
        body = "/(?s:.+)/"
    # Not blank: a JSON string needs a letter or digit (an escaped newline alone decodes to blank text).
    terms = [body, "/(?s:.*[A-Za-z0-9].*)/" if family == "json" else "/(?s:.*\\S.*)/"]
    if slot.chars is not None and family == "json":
        terms.append(f"/{_JSON_CHAR}+/")
    if slot.forbid:
        alternatives = "|".join(re.escape(f).replace("/", "\\/") for f in slot.forbid)
        terms.append(f"~/(?s:.*({alternatives}).*)/")
    return "(" + " & ".join(terms) + ")"


def _slot_fits(slot: Slot, text: str, family: str) -> bool:
    """The slot's limits as the grammar writes them (_lark_slot), in Python's re."""
    patterns = [f"{slot.chars}+"] if slot.chars else []
    patterns.append(f"{_JSON_CHAR}+" if family == "json" else r"(?s:.+)")
    nonblank = r"[A-Za-z0-9]" if family == "json" else r"\S"
    return (
        all(re.fullmatch(p, text) for p in patterns)
        and re.search(nonblank, text) is not None
        and not any(f in text for f in slot.forbid)
    )


def _schema_pattern(body: tuple[Piece, ...]) -> str:
    parts = [re.escape(p) if isinstance(p, str) else (f"{p.chars}+" if p.chars else r"[\s\S]+") for p in body]
    return "^" + "".join(parts) + "$"


# -- the layouts -----------------------------------------------------------------------------------
def _response_body(domain: Domain) -> tuple[Piece, ...]:
    """What the domain's validators accept as a response (AGORABENCH.md 2.5)."""
    if domain is Domain.MATH:
        return (
            Slot("steps", LEAK_MARKERS + (RESULT_OPEN, RESULT_CLOSE), share=5),
            f"\n{RESULT_OPEN} ",
            Slot("answer", chars=r"[^\[\]\n]", share=1),
            f" {RESULT_CLOSE}",
        )
    if domain is Domain.CODE:
        return (
            FENCE,
            Slot("language", chars=r"[A-Za-z0-9+#]", share=0.2),
            "\n",
            Slot("code", LEAK_MARKERS + (FENCE,), share=6),
            f"\n{FENCE}",
        )
    return (Slot("answer", share=6),)


def _instruction_body() -> tuple[Piece, ...]:
    return (Slot("instruction", share=3),)


def build_layout(family: str, setting: Setting) -> Layout:
    if family not in FAMILIES:
        raise ValueError(f"unknown layout family {family!r}; choose from {', '.join(FAMILIES)}")
    response = _response_body(setting.domain)
    method = setting.method
    if method is Method.RESPONSE_GENERATION:
        # The prompt ends with a dangling "OUTPUT: "; the parser reads everything up to [END].
        fields = (Field("response", None, response),)
        end = f" {END_MARKER}"
    elif method is Method.INSTANCE_GENERATION:
        fields = (
            Field("instruction", INPUT_MARKER, _instruction_body(), in_prompt=True, missing="missing_input_marker"),
            Field("response", OUTPUT_MARKER, response, missing="missing_output_marker"),
        )
        end = f"\n{END_MARKER}"
    else:
        fields = (
            Field("instruction", REVISED_QUESTION, _instruction_body(), missing="missing_revised_question"),
            Field("response", REVISED_ANSWER, response, take_last=False, missing="missing_revised_answer"),
        )
        end = f" {END_MARKER}"
    return Layout(family, setting, fields, end)


@cache
def layout_for(family: str, setting: Setting) -> Layout:
    return build_layout(family, setting)


def family_of(variant: str) -> str:
    """The layout family of a prompt variant (``agorabench``, ``unoptimized``, ``json``, ``folder``)."""
    return "json" if variant == "json" else "text"


@cache
def _by_grammar() -> dict[str, tuple[tuple[Piece, ...], str]]:
    # json instance generation and quality enhancement share a grammar (same keys), and so their pieces.
    return {layout_for(f, s).grammar(): (layout_for(f, s).pieces(), f) for f in FAMILIES for s in SETTINGS}


def pieces_of_grammar(grammar: str) -> tuple[tuple[Piece, ...], str] | None:
    """(pieces, family) of the layout a grammar of ours was rendered from (the provider closes parts by
    them), or None for a grammar we did not write (then the provider only masks)."""
    return _by_grammar().get(grammar)

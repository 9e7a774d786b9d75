"""Constrained decoding for the ``agora`` provider: llguidance's token mask, and parts closed on time.

A request carries ``extra_body.structured_outputs`` as vllm's API does (``grammar``: Lark; ``json``: a JSON
schema; ``regex``). ``LayoutMask`` is a transformers LogitsProcessor that runs before ``RowSampler``: every
row's disallowed tokens get -inf, so a seeded row still draws from its own random stream and its output
depends only on its own prompt, parameters and seed.

A grammar alone is not enough: with end-of-sequence masked until the layout is complete, a small model
rambles to the token limit and the output is cut. When the grammar is one of our layouts
(``generation/layouts.py``), each free part (slot) has a deadline in tokens, its share of the budget after
reserving room for every literal still to come; at the deadline, or earlier when end-of-sequence is the
model's own top choice, the provider writes the literal that closes the part (a filler first when the part
is still blank). Each close is counted per row (``force_closed``) and reported, never hidden.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pytest_agorabench.errors import AgoraBenchError

FORCE_CLOSED_KEY = "agora_force_closed"  # ModelOutput.metadata: parts the provider closed in this output
GRAMMAR_KINDS = ("grammar", "json", "regex")


class ConstraintError(AgoraBenchError, ValueError):
    """A structured-outputs request the provider cannot apply (unknown kind, a grammar that does not compile)."""


def constraint_of(structured: Any) -> tuple[str, str] | None:
    """(kind, text) of a request's ``structured_outputs`` (hashable, for the batch key), or None."""
    if not structured:
        return None
    import json

    if not isinstance(structured, dict) or len(structured) != 1 or next(iter(structured)) not in GRAMMAR_KINDS:
        raise ConstraintError(
            f"agora provider: structured_outputs must hold exactly one of {', '.join(GRAMMAR_KINDS)}, got {structured!r}"
        )
    kind, value = next(iter(structured.items()))
    return kind, value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def grammar_of(kind: str, value: str) -> str:
    """llguidance's grammar definition for one (kind, text) constraint."""
    import llguidance

    if kind == "grammar":
        return llguidance.LLMatcher.grammar_from_lark(value)
    if kind == "json":
        return llguidance.LLMatcher.grammar_from_json_schema(value)
    return llguidance.LLMatcher.grammar_from_regex(value)


@dataclass(frozen=True)
class _Part:
    closer: str  # the literal after the slot
    deadline: int  # generated tokens by which the slot must be closed
    json: bool  # inside a JSON string: never close in the middle of an escape


class ClosingPlan:
    """Deadlines for the slots of one of our layouts under one token budget."""

    def __init__(self, pieces: tuple[Any, ...], family: str, max_new_tokens: int, count_tokens: Any) -> None:
        from pytest_agorabench.generation.layouts import FILLER

        self.pieces = pieces
        self.filler = FILLER
        slots = [p for p in pieces if not isinstance(p, str)]
        literals = [p for p in pieces if isinstance(p, str)]
        # Room for every literal and a filler per slot, plus a margin for tokens that straddle a boundary.
        reserve = sum(count_tokens(lit) for lit in literals) + len(slots) * (count_tokens(FILLER) + 2) + 4
        spend = max(0, max_new_tokens - reserve)
        total = sum(s.share for s in slots) or 1.0
        parts, cumulative = [], 0.0
        for k, piece in enumerate(pieces):
            if isinstance(piece, str):
                continue
            cumulative += piece.share
            closer = pieces[k + 1]
            parts.append(_Part(closer, int(spend * cumulative / total), family == "json"))
        self.parts = parts

    def where(self, text: str) -> tuple[int, str] | None:
        """(slot number, the slot's text so far) when ``text`` ends inside a slot, else None (inside a literal,
        or after the end)."""
        at, slot = 0, 0
        for k, piece in enumerate(self.pieces):
            if isinstance(piece, str):
                if not text.startswith(piece, at):
                    return None  # the literal is still being written
                at += len(piece)
                continue
            end = text.find(self.pieces[k + 1], at)
            if end < 0:
                return slot, text[at:]
            at, slot = end, slot + 1
        return None

    def closing_text(self, slot: int, content: str) -> str | None:
        """What to write now to close ``slot`` holding ``content``, or None when it cannot close yet."""
        import re

        part = self.parts[slot]
        if part.json:
            backslashes = len(content) - len(content.rstrip("\\"))
            if backslashes % 2 or re.search(r"\\u[0-9a-fA-F]{0,3}$", content):
                return None  # an escape is open: a token or two complete it
        blank = not re.search(r"[A-Za-z0-9]" if part.json else r"\S", content)
        return (self.filler if blank else "") + part.closer


class LayoutMask:
    """LogitsProcessor: llguidance's mask per row, and per-part closing when the grammar is one of ours."""

    def __init__(self, engine: Any, constraint: tuple[str, str], rows: int, prompt_len: int, max_new_tokens: int) -> None:
        import llguidance

        self.engine, self.prompt_len = engine, prompt_len
        self.ll = engine.ll_tokenizer()
        kind, value = constraint
        try:
            grammar = grammar_of(kind, value)
        except ValueError as exc:
            raise ConstraintError(f"agora provider: the structured-outputs {kind} does not compile: {exc}") from None
        self.matchers = []
        for _ in range(rows):
            matcher = llguidance.LLMatcher(self.ll, grammar)
            if matcher.is_error():
                raise ConstraintError(f"agora provider: the structured-outputs grammar does not compile: {matcher.get_error()}")
            self.matchers.append(matcher)
        self.plan = engine.closing_plan(value if kind == "grammar" else None, max_new_tokens)
        self.eos = set(engine.eos_ids)
        self.generated: list[list[int]] = [[] for _ in range(rows)]
        self.queue: list[list[int]] = [[] for _ in range(rows)]
        self.done = [False] * rows
        self.force_closed = [0] * rows
        self.broken = [False] * rows  # a token the grammar refused (should not happen): the row runs free

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np
        import torch

        step = input_ids.shape[1] - self.prompt_len
        vocab = scores.shape[-1]
        allowed = np.ones(scores.shape, dtype=bool)
        top = scores.argmax(dim=-1).tolist()
        for r, matcher in enumerate(self.matchers):
            if self.done[r]:
                continue
            if step > 0:
                token = int(input_ids[r, -1])
                if token in self.eos or not matcher.consume_token(token):
                    self.broken[r] = token not in self.eos
                    self.done[r] = True
                    continue
                self.generated[r].append(token)
            allowed[r] = self._allowed(r, matcher, step, top[r] in self.eos, vocab)
        mask = torch.from_numpy(allowed).to(scores.device)
        return scores.masked_fill(~mask, float("-inf"))

    def _allowed(self, r: int, matcher: Any, step: int, wants_end: bool, vocab: int) -> Any:
        import numpy as np

        if not self.queue[r] and self.plan is not None and not matcher.is_stopped():
            self._maybe_close(r, matcher, step, wants_end)
        if self.queue[r]:
            only = np.zeros(vocab, dtype=bool)
            only[self.queue[r].pop(0)] = True
            return only
        bits = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little")[:vocab].astype(bool)

    def _maybe_close(self, r: int, matcher: Any, step: int, wants_end: bool) -> None:
        where = self.plan.where(self.ll.decode_str(self.generated[r]))
        if where is None:
            return
        slot, content = where
        if step < self.plan.parts[slot].deadline and not (wants_end and content.strip()):
            return
        text = self.plan.closing_text(slot, content)
        if text is None:
            return
        ids = self.engine.encode(text)
        if matcher.validate_tokens(ids) == len(ids):  # only what the grammar admits is ever forced
            self.queue[r] = list(ids)
            self.force_closed[r] += 1


class PlanCache:
    """Closing plans and the llguidance tokenizer of one engine (built once: the tokenizer takes ~1 s)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ll: Any = None
        self._plans: dict[tuple[str, int], ClosingPlan | None] = {}

    def ll_tokenizer(self, hf_tokenizer: Any, vocab: int, where: Any) -> Any:
        with self._lock:
            if self._ll is None:
                import llguidance.hf

                try:
                    self._ll = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab)
                except ValueError as exc:  # a slow tokenizer, or one whose bytes llguidance cannot recover
                    raise ConstraintError(
                        f"agora provider: the tokenizer of {where} cannot be used for structured outputs ({exc}); "
                        "use a model with a byte-level (fast) tokenizer or --agora-structured=off"
                    ) from None
            return self._ll

    def plan(self, lark: str | None, max_new_tokens: int, count_tokens: Any) -> ClosingPlan | None:
        """The closing plan when ``lark`` is one of our layouts' grammars, else None (mask only)."""
        if lark is None:
            return None
        key = (lark, max_new_tokens)
        with self._lock:
            if key not in self._plans:
                from pytest_agorabench.generation.layouts import pieces_of_grammar

                found = pieces_of_grammar(lark)
                self._plans[key] = ClosingPlan(*found, max_new_tokens, count_tokens) if found else None
            return self._plans[key]

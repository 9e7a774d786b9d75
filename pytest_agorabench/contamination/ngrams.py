"""Verbatim overlap: the n-gram rule for long benchmark texts, whole-text containment for short ones.

Long texts (at least ``n`` tokens): a generated text that shares any ``n``-gram with a benchmark text is
flagged (the GPT-3 paper's 13-gram rule). Short texts (``min_tokens`` to ``n - 1`` tokens, e.g. a one-line
GSM8K-style question): no 13-gram exists, and a shorter n-gram would flag every row that shares a template
("what is <a> + <b>"), so the whole benchmark text must occur, token for token and at token boundaries, in
the generated text. Texts under ``min_tokens`` (a final answer such as "18") are not checked: a number in
a response is not a copy of a test item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

Ref = tuple[int, str]  # (benchmark text index, field) -> see Index.texts


@dataclass(frozen=True)
class Hit:
    text: int  # index into Index.texts
    kind: str  # "exact" (the whole generated text is the item's text), "contained", or "ngram"
    coverage: float  # share of the benchmark text's tokens inside the overlap, 0..1


def windows(toks: tuple[str, ...], size: int) -> Iterator[tuple[str, ...]]:
    for start in range(len(toks) - size + 1):
        yield toks[start:start + size]


class Index:
    """Every checked benchmark text's n-grams (long texts) and whole token tuples (short ones)."""

    def __init__(self, texts: list[tuple[str, ...]], n: int, min_tokens: int):
        self.texts, self.n, self.min_tokens = texts, n, min_tokens
        self.grams: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self.short: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, toks in enumerate(texts):
            if len(toks) >= n:
                for gram in set(windows(toks, n)):
                    self.grams[gram].append(i)
            elif len(toks) >= min_tokens:
                self.short[toks].append(i)
        self.short_lengths = sorted({len(t) for t in self.short})

    def hits(self, toks: tuple[str, ...]) -> list[Hit]:
        """The benchmark texts ``toks`` copies verbatim (one hit per text, its largest coverage)."""
        best: dict[int, Hit] = {}
        for size in self.short_lengths:
            for gram in windows(toks, size):
                for i in self.short.get(gram, ()):
                    best[i] = Hit(i, "exact" if len(toks) == size else "contained", 1.0)
        if len(toks) >= self.n and self.grams:
            shared: dict[int, set[int]] = defaultdict(set)  # text -> positions of shared n-grams in toks
            for pos, gram in enumerate(windows(toks, self.n)):
                for i in self.grams.get(gram, ()):
                    shared[i].add(pos)
            for i, positions in shared.items():
                covered = {p + k for p in positions for k in range(self.n)}
                target = self.texts[i]
                kind = "exact" if toks == target else "ngram"
                best[i] = Hit(i, kind, 1.0 if kind == "exact" else min(1.0, len(covered) / len(target)))
        return list(best.values())

"""The contamination check of one case's generated rows: ``check(rows, benchmarks, rule)``.

A row is flagged when its instruction or response copies a benchmark item's question or reference answer
verbatim (ngrams.py: the 13-gram rule, whole-text containment for short items). A near copy (near.py:
numbers changed, words reordered) is reported beside the flags but not flagged: on short items it cannot
be told from a clean row with certainty, so it informs the reader and never drops data by itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pytest_agorabench.contamination.near import NearIndex
from pytest_agorabench.contamination.ngrams import Index
from pytest_agorabench.contamination.normalize import tokens

ROW_FIELDS = ("instruction", "response")
ITEM_FIELDS = ("question", "answer")
KIND_RANK = {"exact": 0, "contained": 1, "ngram": 2}
EXAMPLES = 3
EXCERPT = 240  # characters of each text an example shows


@dataclass(frozen=True)
class Rule:
    """The check's parameters (part of its artifact's key)."""

    n: int = 13  # the GPT-3 paper's n-gram length, for benchmark texts of at least n tokens
    min_tokens: int = 4  # shorter benchmark texts (a bare final answer) are not checked
    near_threshold: float = 0.8  # Jaccard of the number-masked token sets
    num_perm: int = 128  # MinHash permutations
    seed: int = 1  # MinHash seed


@dataclass(frozen=True)
class _Text:
    benchmark: str
    item: str
    field: str
    text: str


def check(
    rows: Sequence[Mapping[str, Any]], benchmarks: Mapping[str, Sequence[Mapping[str, Any]]], rule: Rule = Rule(),
    on_progress: Callable[..., None] | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """(the report, the positions of the flagged rows in ``rows``)."""
    refs = [_Text(name, str(item["id"]), f, str(item.get(f) or ""))
            for name, items in benchmarks.items() for item in items for f in ITEM_FIELDS]
    ref_tokens = [tokens(r.text) for r in refs]
    verbatim = Index(ref_tokens, rule.n, rule.min_tokens)
    near = NearIndex(ref_tokens, rule.n, rule.min_tokens, rule.near_threshold, rule.num_perm, rule.seed)

    queries = [(pos, f) for pos in range(len(rows)) for f in ROW_FIELDS]
    query_tokens = [tokens(str(rows[pos].get(f) or "")) for pos, f in queries]
    near_hits = near.hits_many(query_tokens)

    flags: dict[int, list[dict]] = defaultdict(list)  # row position -> its verbatim matches
    nears: dict[int, list[dict]] = defaultdict(list)
    for q, (pos, field) in enumerate(queries):
        for hit in verbatim.hits(query_tokens[q]):
            flags[pos].append(_match(rows[pos], pos, field, refs[hit.text], hit.kind, hit.coverage))
        for hit in near_hits[q]:
            nears[pos].append(_match(rows[pos], pos, field, refs[hit.text], "near", hit.jaccard))
        if on_progress is not None and field == ROW_FIELDS[-1]:
            on_progress(pos + 1, len(rows))
    nears = {pos: m for pos, m in nears.items() if pos not in flags}  # a flagged row is not also "near"

    by_benchmark = {name: {"items": len(items), "rows_flagged": 0, "near_copies": 0}
                    for name, items in benchmarks.items()}
    for found, key in ((flags, "rows_flagged"), (nears, "near_copies")):
        for matches in found.values():
            for name in {m["benchmark"] for m in matches}:
                by_benchmark[name][key] += 1

    worst = sorted((min(m, key=_severity) for m in flags.values()), key=_severity)
    closest = sorted((min(m, key=_severity) for m in nears.values()), key=_severity)
    report = {
        "rule": asdict(rule),
        "rows_checked": len(rows),
        "rows_flagged": len(flags),
        "share": len(flags) / len(rows) if rows else 0.0,
        "near_copies": len(nears),
        "by_benchmark": by_benchmark,
        "worst": worst[:EXAMPLES],
        "near_examples": closest[:EXAMPLES],
    }
    return report, sorted(flags)


def _match(row: Mapping[str, Any], pos: int, field: str, ref: _Text, kind: str, score: float) -> dict[str, Any]:
    return {
        "row": str(row.get("id", pos)),
        "position": pos,
        "row_field": field,
        "benchmark": ref.benchmark,
        "item": ref.item,
        "item_field": ref.field,
        "kind": kind,
        "score": round(score, 4),
        "row_text": _excerpt(str(row.get(field) or "")),
        "item_text": _excerpt(ref.text),
    }


def _severity(m: dict[str, Any]) -> tuple:
    """Worst first: the largest share of the item copied, whole-text copies before partial ones."""
    return (-m["score"], KIND_RANK.get(m["kind"], 3), m["position"], m["benchmark"], m["item"], m["row_field"])


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"

"""Judged benchmarks (AlpacaEval 2.0, Arena-Hard): from the models' answers to judge requests, from judgments
to per-item results and win rates (the length-controlled and Arena-Hard math is in win_rates.py).

Roles are the models judged on the same items: in a case the student, the base and the reference model
(S_G, S_0, S_ref). Each role's answer is compared with the item's benchmark answer (AlpacaEval's
reference output, Arena-Hard's baseline answer). An item enters a metric only when every role has a
usable judgment on it (AlpacaEval: its one judgment; Arena-Hard: at least one of its two games), so the
student, base and reference figures and their paired bootstrap stand on the same items; the counts of
what was left out, and why, travel with the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pytest_agorabench.evaluation.benchmarks import get_benchmark
from pytest_agorabench.evaluation.if_benchmarks import judge_style
from pytest_agorabench.evaluation.judge_prompts import (
    GRADED,
    PREFERENCE,
    PREFERENCE_OUTCOME,
    model_first,
    model_result,
    prompt_version,
)
from pytest_agorabench.evaluation.judge_runner import JudgmentCache, judge_requests
from pytest_agorabench.evaluation.judgments import (
    JudgeRequest,
    JudgeSettings,
    JudgeStats,
    Judgment,
    request_key,
)
from pytest_agorabench.evaluation.win_rates import (
    arena_battles,
    arena_interval,
    arena_scores,
    fit_length_controlled,
    length_scale,
)

ROLES = ("student", "base", "reference")


def build_requests(
    style: str, items: Sequence[Mapping[str, Any]], answers: Mapping[str, Mapping[str, str]], judge_model: str
) -> list[JudgeRequest]:
    """The judgments a benchmark needs: per role and item, one (preference) or both answer orders (graded)."""
    requests = []
    for role, by_id in answers.items():
        for item in items:
            item_id, question, bench = str(item["id"]), str(item["question"]), str(item["answer"])
            output = by_id[item_id]
            if style == PREFERENCE:
                games = [("A", output, bench) if model_first(item_id) else ("B", bench, output)]
            else:  # graded: the benchmark answer first, then the model's answer first
                games = [("B", bench, output), ("A", output, bench)]
            for game, (position, a, b) in enumerate(games):
                key = request_key(judge_model, style, question, a, b)
                requests.append(JudgeRequest(key, item_id, role, game, style, question, a, b, position))
    return requests


@dataclass
class JudgedTable:
    """Per-role arrays over the items every role has a usable judgment on (the metric's items)."""

    style: str
    roles: tuple[str, ...]
    ids: list[str]
    first: np.ndarray  # preference: outcomes (M, n); graded: wins
    second: np.ndarray  # preference: length differences; graded: battles
    sigma: float = 1.0

    @property
    def size(self) -> int:
        return len(self.ids)

    def aggregate(self, weights: np.ndarray) -> np.ndarray:
        """(k, M) metric per role on a 0-1 scale for item weights (k, n): LC win rate or Arena-Hard score."""
        if self.style == PREFERENCE:
            return fit_length_controlled(self.first, self.second, weights, sigma=self.sigma).lc
        return arena_scores(self.first, self.second, weights)


@dataclass
class JudgedBenchmark:
    name: str
    style: str
    judge: str
    rows: dict[str, list[dict[str, Any]]]  # role -> per-item results, in item order
    stats: dict[str, JudgeStats]
    table: JudgedTable
    items: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def score_lists(self) -> list[list[dict[str, Any]]]:
        """Per role, ``{"id", "score"}`` over the metric's items (for metrics.pgr, with ``table.aggregate``)."""
        keep = set(self.table.ids)
        return [[{"id": r["id"], "score": r["score"]} for r in self.rows[role] if r["id"] in keep] for role in self.table.roles]

    def metric(self) -> dict[str, float] | None:
        """Point metric per role in percent, None when no item is usable for every role."""
        if not self.table.size:
            return None
        values = self.table.aggregate(np.ones((1, self.table.size)))[0]
        return {role: 100.0 * float(v) for role, v in zip(self.table.roles, values)}

    def undefined_reason(self) -> str | None:
        if self.table.size:
            return None
        failed = {}
        for stats in self.stats.values():
            for reason, n in stats.failed.items():
                failed[reason] = failed.get(reason, 0) + n
        why = ", ".join(f"{k}: {v}" for k, v in sorted(failed.items())) or "no judgments"
        return f"{self.name}: no item has a usable judgment for every model (judge failures: {why})"

    def summary(self) -> dict[str, Any]:
        """The judging block of a benchmark in the report: counts per role and in total."""
        total = JudgeStats()
        for stats in self.stats.values():
            total.total += stats.total
            total.usable += stats.usable
            total.cached += stats.cached
            total.retried += stats.retried
            total.input_tokens += stats.input_tokens
            total.output_tokens += stats.output_tokens
            for reason, n in stats.failed.items():
                total.failed[reason] = total.failed.get(reason, 0) + n
            for reason, text in stats.examples.items():
                total.examples.setdefault(reason, text)
            for reason, n in stats.attempt_failures.items():
                total.attempt_failures[reason] = total.attempt_failures.get(reason, 0) + n
        total.failed = dict(sorted(total.failed.items()))
        total.attempt_failures = dict(sorted(total.attempt_failures.items()))
        per_role = {}
        for role, stats in self.stats.items():
            usable_items = sum(r["score"] is not None for r in self.rows[role])
            per_role[role] = {**stats.to_dict(), "items_usable": usable_items}
        return {
            "judge": self.judge,
            "style": self.style,
            "prompt_version": prompt_version(self.style),
            "items": self.items,
            "items_used": self.table.size,
            **total.to_dict(),
            "per_role": per_role,
        }

    def details(self, resamples: int, seed: int) -> dict[str, Any]:
        """The benchmark's own figures beside PGR: raw and LC win rates, or scores with bootstrap intervals."""
        metric = self.metric()
        if metric is None:
            return {"items_used": 0}
        t = self.table
        if self.style == PREFERENCE:
            raw = (t.first.mean(axis=1) * 100.0).tolist()
            return {
                "metric": "length-controlled win rate (%)",
                "lc_win_rate": metric,
                "raw_win_rate": dict(zip(t.roles, raw)),
                "length_scale_chars": t.sigma,
                "items_used": t.size,
            }
        intervals = {}
        for m, role in enumerate(t.roles):
            ci = arena_interval(t.first[m], t.second[m], resamples=resamples, seed=seed)
            intervals[role] = None if ci is None else [100.0 * ci[0], 100.0 * ci[1]]
        return {
            "metric": "win rate vs the baseline answers (%), strong verdicts x3, ties half",
            "score": metric,
            "interval_95": intervals,
            "battles": dict(zip(t.roles, t.second.sum(axis=1).tolist())),
            "items_used": t.size,
        }


def item_results(
    style: str,
    items: Sequence[Mapping[str, Any]],
    answers: Mapping[str, str],
    role: str,
    requests: Sequence[JudgeRequest],
    judgments: Mapping[str, Judgment],
) -> list[dict[str, Any]]:
    """One role's per-item rows: its answer, the judged result of each game, and the item score."""
    games: dict[str, list[tuple[JudgeRequest, Judgment]]] = {}
    for r in requests:
        if r.role == role:
            games.setdefault(r.item_id, []).append((r, judgments[r.key]))
    rows = []
    for item in items:
        item_id = str(item["id"])
        output = answers[item_id]
        played = sorted(games.get(item_id, []), key=lambda pair: pair[0].game)
        results = [model_result(j.verdict, r.model_position) if j.usable else None for r, j in played]
        row: dict[str, Any] = {
            "id": item_id,
            "output": output,
            "games": results,
            "failures": [j.failure for _, j in played if not j.usable],
            "length_diff": len(output) - len(str(item["answer"])),
        }
        if style == PREFERENCE:
            row["score"] = PREFERENCE_OUTCOME[results[0]] if results and results[0] is not None else None
        else:
            wins, battles = arena_battles(results)
            row.update(wins=wins, battles=battles, score=wins / battles if battles else None)
        rows.append(row)
    return rows


def build_table(style: str, rows: Mapping[str, list[dict[str, Any]]]) -> JudgedTable:
    roles = tuple(rows)
    usable = [{r["id"] for r in rows[role] if r["score"] is not None} for role in roles]
    common = set.intersection(*usable) if usable else set()
    ids = [r["id"] for r in rows[roles[0]] if r["id"] in common] if roles else []
    by_role = {role: {r["id"]: r for r in rows[role]} for role in roles}
    if style == PREFERENCE:
        first = np.array([[by_role[role][i]["score"] for i in ids] for role in roles], dtype=float)
        second = np.array([[by_role[role][i]["length_diff"] for i in ids] for role in roles], dtype=float)
        sigma = length_scale(second) if ids else 1.0
    else:
        first = np.array([[by_role[role][i]["wins"] for i in ids] for role in roles], dtype=float)
        second = np.array([[by_role[role][i]["battles"] for i in ids] for role in roles], dtype=float)
        sigma = 1.0
    shape = (len(roles), len(ids))
    return JudgedTable(style, roles, ids, first.reshape(shape), second.reshape(shape), sigma)


def judge_benchmark(
    name: str,
    items: list[dict[str, Any]],
    answers: Mapping[str, Sequence[Mapping[str, str]]],
    settings: JudgeSettings,
    *,
    cache: JudgmentCache | None,
    log_dir: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> JudgedBenchmark:
    """Judge every role's answers (``role -> [{"id", "output"}]``) on benchmark ``name``.
    ``on_progress(done, total)``: judgments so far, for a progress display (judge_runner.judge_requests)."""
    style = judge_style(get_benchmark(name))
    if style not in (PREFERENCE, GRADED):
        raise ValueError(f"{name} is not a judged benchmark")
    by_role = {role: {str(a["id"]): str(a["output"]) for a in rows} for role, rows in answers.items()}
    requests = build_requests(style, items, by_role, settings.model)
    judgments = judge_requests(requests, settings, cache=cache, log_dir=Path(log_dir), on_progress=on_progress)
    rows = {role: item_results(style, items, by_role[role], role, requests, judgments) for role in by_role}
    stats = {
        role: JudgeStats.of(judgments[r.key] for r in requests if r.role == role) for role in by_role
    }
    return JudgedBenchmark(name, style, settings.model, rows, stats, build_table(style, rows), items=len(items))

"""From judgments to per-item results, the metric's item set and its figures (no model involved)."""

import numpy as np
import pytest

from pytest_agorabench.evaluation.judge_prompts import GRADED, PREFERENCE, model_first
from pytest_agorabench.evaluation.judged_benchmarks import (
    JudgedBenchmark,
    build_requests,
    build_table,
    item_results,
)
from pytest_agorabench.evaluation.judgments import JudgeStats, Judgment
from pytest_agorabench.evaluation.win_rates import fit_length_controlled

ITEMS = [
    {"id": "i0", "question": "q0", "answer": "reference zero"},
    {"id": "i1", "question": "q1", "answer": "reference one!"},
    {"id": "i2", "question": "q2", "answer": "ref two"},
]


def answers(prefix):
    return {"i0": f"{prefix} a", "i1": f"{prefix} bb", "i2": f"{prefix} ccc"}


def test_preference_requests_place_the_model_answer_by_the_item_coin():
    reqs = build_requests(PREFERENCE, ITEMS, {"student": answers("s")}, "judge")
    assert len(reqs) == 3
    for r in reqs:
        first = model_first(r.item_id)
        assert r.model_position == ("A" if first else "B")
        model_answer = r.answer_a if first else r.answer_b
        assert model_answer.startswith("s ")


def test_graded_requests_play_both_orders():
    reqs = build_requests(GRADED, ITEMS[:1], {"student": answers("s"), "base": answers("b")}, "judge")
    assert [(r.role, r.game, r.model_position, r.answer_a) for r in reqs] == [
        ("student", 0, "B", "reference zero"),
        ("student", 1, "A", "s a"),
        ("base", 0, "B", "reference zero"),
        ("base", 1, "A", "b a"),
    ]
    assert len({r.key for r in reqs}) == 4


def _judge_all(reqs, verdicts):
    """verdicts: (role, item, game) -> verdict string or a failure reason prefixed with '!'"""
    out = {}
    for r in reqs:
        v = verdicts[(r.role, r.item_id, r.game)]
        out[r.key] = Judgment(r.key, None, v[1:]) if v.startswith("!") else Judgment(r.key, v, None)
    return out


def test_graded_item_scores_and_the_common_item_set():
    by_role = {"student": answers("s"), "base": answers("b"), "reference": answers("r")}
    reqs = build_requests(GRADED, ITEMS, by_role, "judge")
    # Game 0 shows the benchmark answer as A, game 1 the model's answer as A.
    v = {
        ("student", "i0", 0): "B>>A", ("student", "i0", 1): "A>B",  # much better (3/3) + better (1/1)
        ("student", "i1", 0): "A=B", ("student", "i1", 1): "B>A",  # tie (0.5/1) + worse (0/1)
        ("student", "i2", 0): "A>>B", ("student", "i2", 1): "!unparseable",  # much worse (0/3), skipped
        ("base", "i0", 0): "A>B", ("base", "i0", 1): "B>A",
        ("base", "i1", 0): "!timeout", ("base", "i1", 1): "!refusal",  # nothing usable: item i1 left out
        ("base", "i2", 0): "A>B", ("base", "i2", 1): "A>B",
        ("reference", "i0", 0): "B>A", ("reference", "i0", 1): "A>B",
        ("reference", "i1", 0): "B>A", ("reference", "i1", 1): "A>B",
        ("reference", "i2", 0): "A=B", ("reference", "i2", 1): "A=B",
    }
    judgments = _judge_all(reqs, v)
    rows = {role: item_results(GRADED, ITEMS, by_role[role], role, reqs, judgments) for role in by_role}
    s = rows["student"]
    assert [r["games"] for r in s] == [["much_better", "better"], ["tie", "worse"], ["much_worse", None]]
    assert [(r["wins"], r["battles"]) for r in s] == [(4.0, 4.0), (0.5, 2.0), (0.0, 3.0)]
    assert [r["score"] for r in s] == [1.0, 0.25, 0.0]
    assert rows["base"][1]["score"] is None and rows["base"][1]["failures"] == ["timeout", "refusal"]
    assert s[2]["failures"] == ["unparseable"]

    table = build_table(GRADED, rows)
    assert table.ids == ["i0", "i2"]  # i1 has no usable base judgment
    # Pooled over i0 and i2. Student: (4 + 0) / (4 + 3) = 4/7.
    # Base: i0 worse (0/1) + worse (0/1); i2 worse (0/1) + better (1/1) -> 1/4.
    # Reference: i0 better + better (2/2); i2 tie + tie (1/2) -> 3/4.
    point = table.aggregate(np.ones((1, 2)))[0]
    assert point == pytest.approx([4 / 7, 1 / 4, 3 / 4])

    stats = {role: JudgeStats.of(judgments[r.key] for r in reqs if r.role == role) for role in by_role}
    bench = JudgedBenchmark("arena_hard", GRADED, "judge", rows, stats, table, items=3)
    assert bench.metric() == pytest.approx({"student": 400 / 7, "base": 25.0, "reference": 75.0})
    lists = bench.score_lists()
    assert [[x["id"] for x in role] for role in lists] == [["i0", "i2"]] * 3
    summary = bench.summary()
    assert summary["items"] == 3 and summary["items_used"] == 2
    assert summary["total"] == 18 and summary["usable"] == 15
    assert summary["failed"] == {"refusal": 1, "timeout": 1, "unparseable": 1}
    assert summary["per_role"]["base"]["items_usable"] == 2
    details = bench.details(resamples=200, seed=0)
    assert details["score"]["student"] == pytest.approx(400 / 7)
    low, high = details["interval_95"]["student"]
    assert low <= 400 / 7 <= high
    assert details["battles"]["student"] == 7


def test_preference_table_feeds_the_length_controlled_fit():
    by_role = {"student": answers("s"), "base": answers("b"), "reference": answers("r")}
    reqs = build_requests(PREFERENCE, ITEMS, by_role, "judge")
    # The model wins on i0 and i2 for the student, loses everything for base, wins all for reference.
    wins = {"student": {"i0", "i2"}, "base": set(), "reference": {"i0", "i1", "i2"}}
    judgments = {}
    for r in reqs:
        won = r.item_id in wins[r.role]
        verdict = ("A>B" if r.model_position == "A" else "B>A") if won else (
            "B>A" if r.model_position == "A" else "A>B")
        judgments[r.key] = Judgment(r.key, verdict, None)
    rows = {role: item_results(PREFERENCE, ITEMS, by_role[role], role, reqs, judgments) for role in by_role}
    assert [r["score"] for r in rows["student"]] == [1.0, 0.0, 1.0]
    assert rows["student"][0]["length_diff"] == len("s a") - len("reference zero")
    table = build_table(PREFERENCE, rows)
    expected = fit_length_controlled(
        np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]], float),
        np.array([[r["length_diff"] for r in rows[role]] for role in ("student", "base", "reference")], float),
    ).lc[0]
    assert table.aggregate(np.ones((1, 3)))[0] == pytest.approx(expected)


def test_no_usable_item_leaves_the_metric_undefined_with_the_reasons():
    by_role = {"student": answers("s"), "base": answers("b"), "reference": answers("r")}
    reqs = build_requests(PREFERENCE, ITEMS, by_role, "judge")
    judgments = {r.key: Judgment(r.key, None, "unparseable") for r in reqs}
    rows = {role: item_results(PREFERENCE, ITEMS, by_role[role], role, reqs, judgments) for role in by_role}
    stats = {role: JudgeStats.of(judgments[r.key] for r in reqs if r.role == role) for role in by_role}
    bench = JudgedBenchmark("alpacaeval2", PREFERENCE, "judge", rows, stats, build_table(PREFERENCE, rows), items=3)
    assert bench.metric() is None
    assert "unparseable: 9" in bench.undefined_reason()
    assert bench.details(100, 0) == {"items_used": 0}

"""Judged evaluation through inspect-ai, the way the pipeline runs it: a scripted student answers
(``answer_items``), a scripted judge compares (``judge_benchmark`` with the judgment cache), offline."""

from pathlib import Path

import pytest

from pytest_agorabench.evaluation import EvaluationError, answer_items, evaluate, load_items
from pytest_agorabench.evaluation.judge_runner import JudgmentCache
from pytest_agorabench.evaluation.judged_benchmarks import judge_benchmark
from pytest_agorabench.evaluation.judgments import JudgeSettings

pytest.importorskip("inspect_ai")

SCRIPTS = Path(__file__).resolve().parents[2] / "e2e" / "scripted_if.py"
LONGER = f"agora-script/{SCRIPTS}:longer_wins"
FLAKY = f"agora-script/{SCRIPTS}:flaky"


def judged(model, benchmark, items, *, max_tokens, log_dir, judge, judge_cache_dir=None):
    """Per-item rows ``{"id", "score", "output", "judgment"}`` of one model on a judged benchmark."""
    settings = judge if isinstance(judge, JudgeSettings) else JudgeSettings(model=str(judge))
    answers = answer_items(model, benchmark, items, max_tokens=max_tokens, log_dir=Path(log_dir) / "answers")
    cache = JudgmentCache(Path(judge_cache_dir), settings.model) if judge_cache_dir is not None else None
    result = judge_benchmark(benchmark, items, {"model": answers}, settings, cache=cache,
                             log_dir=Path(log_dir) / "judge")
    return [
        {"id": row["id"], "score": row["score"], "output": row["output"],
         "judgment": {k: v for k, v in row.items() if k not in ("id", "output", "score")}}
        for row in result.rows["model"]
    ]


def student_script(tmp_path: Path, body: str) -> str:
    """An agora-script student that answers every item with ``body``."""
    file = tmp_path / "student.py"
    file.write_text(f"def answer(messages, config):\n    return {body!r}\n")
    return f"agora-script/{file}:answer"


def test_alpaca_eval_scores_follow_the_judges_verdicts_and_a_rerun_is_free(tmp_path, monkeypatch):
    counter = tmp_path / "calls"
    monkeypatch.setenv("AGORA_JUDGE_COUNTER", str(counter))
    items = load_items("alpacaeval2")[:5]
    # The student's answer is longer than every reference: the length-preferring judge picks it each time.
    student = student_script(tmp_path, "x" * 2000)
    judge = JudgeSettings(LONGER, max_tokens=64)
    rows = judged(student, "alpacaeval2", items, max_tokens=32, log_dir=tmp_path / "logs", judge=judge,
                    judge_cache_dir=tmp_path / "cache")
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    assert [r["score"] for r in rows] == [1.0] * 5
    assert all(r["judgment"]["games"] == ["better"] for r in rows)
    assert int(counter.read_text()) == 5
    assert list((tmp_path / "logs" / "judge").glob("*.eval")), "the judge's calls are an inspect log"

    again = judged(student, "alpacaeval2", items, max_tokens=32, log_dir=tmp_path / "logs2", judge=judge,
                     judge_cache_dir=tmp_path / "cache")
    assert [r["score"] for r in again] == [1.0] * 5
    assert int(counter.read_text()) == 5  # every judgment came from the cache


def test_arena_hard_with_a_short_student_loses_both_games(tmp_path):
    items = load_items("arena_hard")[:3]
    rows = judged(student_script(tmp_path, "No."), "arena_hard", items, max_tokens=16, log_dir=tmp_path,
                    judge=LONGER)
    for row in rows:
        assert row["judgment"]["games"] == ["much_worse", "much_worse"]
        assert (row["judgment"]["wins"], row["judgment"]["battles"], row["score"]) == (0.0, 6.0, 0.0)


def test_every_judge_failure_is_counted_never_raised(tmp_path):
    items = load_items("arena_hard")
    rows = judged(student_script(tmp_path, "A medium length answer."), "arena_hard", items, max_tokens=16,
                    log_dir=tmp_path, judge=JudgeSettings(FLAKY, backoff_s=0))
    failures = [f for r in rows for f in r["judgment"]["failures"]]
    assert {"unparseable", "refusal", "timeout"} <= set(failures)
    assert "rate_limit" not in failures  # the flaky judge's rate limits clear on the retry
    assert any(r["score"] is None for r in rows) and any(r["score"] is not None for r in rows)


def test_an_unusable_judge_model_counts_errors_instead_of_crashing(tmp_path):
    items = load_items("alpacaeval2")[:2]
    rows = judged(student_script(tmp_path, "Hi."), "alpacaeval2", items, max_tokens=8, log_dir=tmp_path,
                    judge=JudgeSettings("nosuchprovider/judge", backoff_s=0))
    assert [r["score"] for r in rows] == [None, None]
    assert all(r["judgment"]["failures"] == ["error"] for r in rows)


def test_a_judged_benchmark_without_a_judge_is_a_clear_error(tmp_path):
    with pytest.raises(EvaluationError, match="judged by a language model"):
        evaluate("mockllm/model", "alpacaeval2", load_items("alpacaeval2")[:1], max_tokens=8, log_dir=tmp_path)

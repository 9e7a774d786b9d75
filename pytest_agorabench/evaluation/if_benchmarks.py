"""The instruction-following benchmarks, AlpacaEval 2.0 and Arena-Hard v0.1, in the benchmark registry.

An item is ``{"id", "question", "answer"}`` where ``answer`` is the text the judge compares the student's
answer with: AlpacaEval's reference output, Arena-Hard's baseline answer. The scorer name
``judge:<style>`` marks a benchmark as judged (see ``judge_prompts.py`` for the styles).

Formats, as published:
- AlpacaEval 2.0 (``tatsu-lab/alpaca_eval``, file ``alpaca_eval_gpt4_baseline.json``, 805 rows): a JSON
  list of ``{"instruction", "output", "generator", "dataset"}``; ``output`` is the reference answer.
- Arena-Hard v0.1 (``lmarena-ai/arena-hard-auto``, folder ``data/arena-hard-v0.1``): ``question.jsonl``
  rows ``{"question_id", "category", "cluster", "turns": [{"content"}]}`` and baseline answers in
  ``model_answer/<model>.jsonl`` rows ``{"question_id", "answer_id", "model_id", "choices": [{"index",
  "turns": [{"content", "token_len"}]}], "tstamp"}``, default baseline ``gpt-4-0314``. A local copy is that
  folder (or a folder holding it as ``arena_hard/``); our fixture is ``fixtures/benchmarks/arena_hard/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_agorabench.evaluation.benchmarks import BenchmarkError, BenchmarkSpec, _read_rows, register_benchmark

DOMAIN = "instruction_following"
JUDGE_PREFIX = "judge:"

ALPACA_REPO = "tatsu-lab/alpaca_eval"
ALPACA_FILE = "alpaca_eval_gpt4_baseline.json"
ARENA_REPO = "lmarena-ai/arena-hard-auto"
ARENA_FOLDER = "data/arena-hard-v0.1"
ARENA_BASELINE = "gpt-4-0314"

Download = Callable[[str, str], str]  # (repo id, file in the dataset repo) -> local path


def judge_style(spec: BenchmarkSpec) -> str | None:
    """The judge prompt style of a judged benchmark, None for the others."""
    return spec.scorer[len(JUDGE_PREFIX) :] if spec.scorer.startswith(JUDGE_PREFIX) else None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing or empty")
    return value.strip()


def _alpaca_row(row: dict[str, Any]) -> tuple[str, str]:
    return _text(row.get("instruction"), "instruction"), _text(row.get("output"), "output (reference answer)")


def _first_turn(turns: Any, what: str) -> str:
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], dict):
        raise ValueError(f"{what}: 'turns' must be a non-empty list of {{'content': ...}} objects")
    return _text(turns[0].get("content"), f"{what} first turn")


def _arena_row(row: dict[str, Any]) -> tuple[str, str]:
    question = _first_turn(row.get("turns"), "question")
    baseline = row.get("baseline")
    choices = baseline.get("choices") if isinstance(baseline, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ValueError("baseline answer has no 'choices'")
    return question, _first_turn(choices[0].get("turns"), "baseline answer")


def _arena_root(path: Path) -> tuple[Path, Path]:
    """(question file, model_answer folder) for a question file or a folder in the original layout."""
    if path.is_file():
        return path, path.parent / "model_answer"
    for root in (path, path / "arena_hard", path / "arena-hard-v0.1"):
        if (root / "question.jsonl").is_file():
            return root / "question.jsonl", root / "model_answer"
    raise BenchmarkError(
        f"arena_hard: {path} holds no question.jsonl (expected Arena-Hard's layout: question.jsonl and "
        "model_answer/<baseline>.jsonl, directly or in an arena_hard/ subfolder)"
    )


def _baseline_file(answers: Path) -> Path:
    preferred = answers / f"{ARENA_BASELINE}.jsonl"
    if preferred.is_file():
        return preferred
    found = sorted(answers.glob("*.jsonl")) if answers.is_dir() else []
    if len(found) == 1:
        return found[0]
    listing = ", ".join(f.name for f in found) or "none"
    raise BenchmarkError(
        f"arena_hard: need the baseline answers as {preferred} (or a single .jsonl in {answers}); found: {listing}"
    )


def join_arena(questions: list[dict[str, Any]], answers: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """Question rows with their baseline answer row under ``baseline`` (joined on question_id)."""
    by_id = {str(a.get("question_id")): a for a in answers if isinstance(a, dict)}
    joined, missing = [], []
    for q in questions:
        if not isinstance(q, dict):
            raise BenchmarkError(f"{where}: a question row is not an object")
        qid = str(q.get("question_id"))
        if qid not in by_id:
            missing.append(qid)
            continue
        joined.append({**q, "baseline": by_id[qid]})
    if missing:
        raise BenchmarkError(f"{where}: {len(missing)} question(s) have no baseline answer, e.g. {missing[:3]}")
    return joined


def read_arena(path: Path) -> list[dict[str, Any]]:
    questions, answers = _arena_root(Path(path))
    return join_arena(_read_rows(questions), _read_rows(_baseline_file(answers)), str(questions))


def _hf_download(repo: str, filename: str) -> str:
    try:
        from huggingface_hub import hf_hub_download

        return hf_hub_download(repo_id=repo, filename=filename, repo_type="dataset")
    except Exception as exc:  # noqa: BLE001 - offline, gated or renamed: one clear message
        raise BenchmarkError(
            f"could not download {filename} from the dataset {repo} on the Hugging Face hub: {exc}. "
            "Offline? Use the fixture items or --agora-benchmark-dir with a local copy in the hub layout."
        ) from None


def alpaca_hub_rows(download: Download = _hf_download) -> list[dict[str, Any]]:
    # The dataset's loading script is not supported by current `datasets`: read its JSON file directly.
    return _read_rows(Path(download(ALPACA_REPO, ALPACA_FILE)))


def arena_hub_rows(download: Download = _hf_download) -> list[dict[str, Any]]:
    questions = _read_rows(Path(download(ARENA_REPO, f"{ARENA_FOLDER}/question.jsonl")))
    answers = _read_rows(Path(download(ARENA_REPO, f"{ARENA_FOLDER}/model_answer/{ARENA_BASELINE}.jsonl")))
    return join_arena(questions, answers, f"{ARENA_REPO}/{ARENA_FOLDER}")


ALPACA_EVAL = register_benchmark(
    BenchmarkSpec(
        "alpacaeval2", ALPACA_REPO, (), "eval", 805, "length-controlled win rate vs the reference outputs", 0.0,
        f"{JUDGE_PREFIX}preference", fields=("instruction", "output"), domain=DOMAIN,
    ),
    _alpaca_row,
    hub_rows=lambda: alpaca_hub_rows(),
)
ARENA_HARD = register_benchmark(
    BenchmarkSpec(
        "arena_hard", ARENA_REPO, (), "test", 500, "win rate vs the baseline answers", 0.0,
        f"{JUDGE_PREFIX}graded", fields=("turns", "baseline"), domain=DOMAIN,
    ),
    _arena_row,
    reader=read_arena,
    hub_rows=lambda: arena_hub_rows(),
)

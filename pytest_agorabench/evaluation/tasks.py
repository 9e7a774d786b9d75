"""Evaluate a model on a benchmark through inspect-ai, in-process, and return per-item scores.

inspect is imported inside ``evaluate`` (via ``_inspect_task``) so importing this package stays fast.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pytest_agorabench.evaluation.benchmarks import get_benchmark
from pytest_agorabench.evaluation.math_answers import extract_answer, gsm8k_equal, math_equal

# Decoding of AGORABENCH.md section 4, in one place.
SYSTEM_MESSAGE = "You are a helpful AI assistant."
TOP_P = 0.95
REPETITION_PENALTY = 1.03  # sent as extra_body: vllm and our local provider read it


class EvaluationError(Exception):
    """An evaluation that did not produce a score for every item; the message names the inspect log."""


# A scorer maps (model output, item) to (score in [0, 1], extracted answer or None). It may be async
# (code benchmarks will await a sandbox). Items may carry extra keys (tests, entry points) beside the answer.
ScoreFn = Callable[[str, dict[str, Any]], "tuple[float, str | None] | Awaitable[tuple[float, str | None]]"]


def _final_answer_scorer(equal: Callable[[str | None, str], bool]) -> ScoreFn:
    def score(output: str, item: dict[str, Any]) -> tuple[float, str | None]:
        extracted = extract_answer(output)
        return (1.0 if equal(extracted, item["answer"]) else 0.0), extracted

    return score


SCORERS: dict[str, ScoreFn] = {
    "gsm8k": _final_answer_scorer(gsm8k_equal),
    "math": _final_answer_scorer(math_equal),
}


def register_scorer(name: str, fn: ScoreFn) -> None:
    """Make ``fn`` available to benchmarks whose spec names ``scorer=name``."""
    SCORERS[name] = fn


def evaluate(
    model: Any,
    benchmark: str,
    items: list[dict[str, Any]],
    *,
    max_tokens: int,
    log_dir: Path,
    temperature: float | None = None,
    model_args: dict[str, Any] | None = None,
    max_connections: int | None = None,
    judge: Any = None,
    judge_cache_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Generate an answer for every item with ``model`` and score it.

    Judged benchmarks (AlpacaEval 2.0, Arena-Hard) need ``judge``: a ``judging.JudgeSettings`` or a model
    string; their item score is None where the judge gave no usable verdict, and each row carries a
    ``judgment`` (see ``judged.evaluate_judged``). ``judge_cache_dir`` keeps judgments between runs.

    ``model`` is an inspect model string ("vllm/...", "agora/...", "mockllm/model") or an inspect ``Model``.
    ``temperature`` defaults to the benchmark's (0.2 for math). Returns
    ``{"id", "score", "extracted", "output"}`` per item, in item order. The inspect log stays in ``log_dir``
    (open it with ``inspect view --log-dir <log_dir>``).
    """
    spec = get_benchmark(benchmark)
    if spec.scorer.startswith("judge:"):
        return _evaluate_judged(model, benchmark, items, judge, judge_cache_dir, max_tokens=max_tokens,
                                log_dir=log_dir, temperature=temperature, model_args=model_args,
                                max_connections=max_connections)
    if spec.scorer not in SCORERS:
        raise EvaluationError(f"{benchmark}: no scorer registered under {spec.scorer!r}")
    if not items:
        raise EvaluationError(f"{benchmark}: no items to evaluate")
    ids = [str(item["id"]) for item in items]
    if len(set(ids)) != len(ids):
        raise EvaluationError(f"{benchmark}: item ids are not unique")

    from pytest_agorabench.evaluation._inspect_task import build_task, run_task

    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    task = build_task(spec, items, SYSTEM_MESSAGE)
    config: dict[str, Any] = {
        "temperature": spec.temperature if temperature is None else temperature,
        "top_p": TOP_P,
        "max_tokens": max_tokens,
        "extra_body": {"repetition_penalty": REPETITION_PENALTY},
    }
    if max_connections is not None:
        config["max_connections"] = max_connections
    try:
        samples, location = run_task(task, model, model_args or {}, log_dir, config)
    except EvaluationError:
        raise
    except Exception as exc:  # noqa: BLE001 - inspect raises before writing a log (bad model name, provider)
        raise EvaluationError(
            f"{benchmark}: evaluating {model!r} failed before a log was written: {exc} (log dir: {log_dir})"
        ) from exc

    scores = []
    for item_id in ids:
        sample = samples.get(item_id)
        if sample is None:
            raise EvaluationError(f"{benchmark}: item {item_id!r} has no score in the inspect log {location}")
        scores.append({"id": item_id, **sample})
    return scores


def _evaluate_judged(model: Any, benchmark: str, items: list[dict[str, Any]], judge: Any, cache_dir: Path | None,
                     **kwargs: Any) -> list[dict[str, Any]]:
    from pytest_agorabench.evaluation.judged import evaluate_judged
    from pytest_agorabench.evaluation.judging import JudgeSettings

    if judge is None:
        raise EvaluationError(f"{benchmark} is judged by a language model: pass judge= (e.g. --judge gpt-4o)")
    if not items:
        raise EvaluationError(f"{benchmark}: no items to evaluate")
    settings = judge if isinstance(judge, JudgeSettings) else JudgeSettings(model=str(judge))
    return evaluate_judged(model, benchmark, items, judge=settings, cache_dir=cache_dir, **kwargs)

"""A model on a benchmark through inspect-ai: ``evaluate`` scores every item (math, code); ``answer_items``
only collects the answers of a judged benchmark, which the judge compares later (judged_benchmarks.py).

inspect is imported inside the functions (via ``_inspect_task``) so importing this package stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_agorabench.evaluation.benchmarks import BenchmarkSpec, get_benchmark
from pytest_agorabench.evaluation.common import (
    SCORERS,
    SYSTEM_MESSAGE,
    EvaluationError,
    decoding,
)


def evaluate(
    model: Any,
    benchmark: str,
    items: list[dict[str, Any]],
    *,
    max_tokens: int,
    log_dir: Path,
    seed: int = 42,
    temperature: float | None = None,
    model_args: dict[str, Any] | None = None,
    max_connections: int | None = None,
) -> list[dict[str, Any]]:
    """Generate an answer for every item with ``model`` and score it.

    ``model`` is an inspect model string ("vllm/...", "agora/...", "mockllm/model") or an inspect ``Model``.
    ``temperature`` defaults to the benchmark's (0.2 for math); each item samples with its own seed derived
    from ``seed`` and its id (``common.item_seed``), so a recomputation gives the same answers. Returns
    ``{"id", "score", "extracted", "output"}`` per item, in item order. The inspect log stays in ``log_dir``
    (open it with ``inspect view --log-dir <log_dir>``). Judged benchmarks go through ``answer_items``.
    """
    spec = get_benchmark(benchmark)
    if spec.scorer.startswith("judge:"):
        raise EvaluationError(
            f"{benchmark} is judged by a language model: collect answers with answer_items and judge them "
            "with evaluation.judged_benchmarks.judge_benchmark"
        )
    if spec.scorer not in SCORERS:
        raise EvaluationError(f"{benchmark}: no scorer registered under {spec.scorer!r}")
    ids = _check_items(benchmark, items)

    from pytest_agorabench.evaluation._inspect_task import build_task, run_task

    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    task = build_task(spec, items, SYSTEM_MESSAGE, seed)
    config = decoding(_temperature(spec, temperature), max_tokens, max_connections)
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


def answer_items(
    model: Any,
    benchmark: str,
    items: list[dict[str, Any]],
    *,
    max_tokens: int,
    log_dir: Path,
    seed: int = 42,
    temperature: float | None = None,
    model_args: dict[str, Any] | None = None,
    max_connections: int | None = None,
) -> list[dict[str, str]]:
    """``{"id", "output"}`` per item, in item order: the model's answers, decoded as in section 4 with each
    item's own seed (as in ``evaluate``)."""
    from pytest_agorabench.evaluation._inspect_task import run_answers

    spec = get_benchmark(benchmark)
    _check_items(benchmark, items)
    config = decoding(_temperature(spec, temperature), max_tokens, max_connections)
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    answers, _ = run_answers(model, spec.name, items, SYSTEM_MESSAGE, model_args or {}, Path(log_dir), config, seed)
    return [{"id": str(item["id"]), "output": answers[str(item["id"])]} for item in items]


def _temperature(spec: BenchmarkSpec, temperature: float | None) -> float:
    return spec.temperature if temperature is None else temperature


def _check_items(benchmark: str, items: list[dict[str, Any]]) -> list[str]:
    if not items:
        raise EvaluationError(f"{benchmark}: no items to evaluate")
    ids = [str(item["id"]) for item in items]
    if len(set(ids)) != len(ids):
        raise EvaluationError(f"{benchmark}: item ids are not unique")
    return ids

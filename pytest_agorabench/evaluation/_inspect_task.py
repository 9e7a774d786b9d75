"""The inspect-ai side of tasks.py (scored evaluation and answers of judged benchmarks): imported lazily
because inspect takes seconds to import."""

from __future__ import annotations

import inspect as pyinspect
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import Score, Target, accuracy, scorer, stderr
from inspect_ai.solver import Generate, Solver, TaskState, solver, system_message

from pytest_agorabench.evaluation.benchmarks import BenchmarkSpec
from pytest_agorabench.evaluation.common import SCORERS, EvaluationError, item_seed

SCORER_NAME = "agora_answer"
_ITEM_KEYS = ("id", "question")  # the rest of an item travels in sample metadata for the scorer


@scorer(metrics=[accuracy(), stderr()], name=SCORER_NAME)
def agora_answer(scorer_key: str) -> Any:
    # The key, not the function, is the argument: inspect records scorer arguments in the log.
    score_fn = SCORERS[scorer_key]

    async def score(state: TaskState, target: Target) -> Score:
        output = state.output.completion if state.output else ""
        item = dict(state.metadata)
        result = score_fn(output, item)
        if pyinspect.isawaitable(result):
            result = await result
        value, extracted, *detail = result  # a scorer may add its own explanation (code: how the program ran)
        return Score(
            value=float(value),
            answer=extracted,
            explanation=detail[0] if detail else f"extracted {extracted!r}, gold {target.text!r}",
            metadata={"extracted": extracted},
        )

    return score


@solver(name="agora_item_seeded_generate")
def item_seeded_generate(run_seed: int) -> Solver:
    """generate() with a seed of each item's own (``common.item_seed``): a sampled answer depends on the
    item, the run's seed and the weights, not on which requests the server batched it with or in what order
    they ran (our provider and vllm both sample per request from the request's seed)."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await generate(state, seed=item_seed(run_seed, state.sample_id))

    return solve


def build_task(spec: BenchmarkSpec, items: list[dict[str, Any]], system: str, seed: int) -> Task:
    samples = [
        Sample(
            id=str(item["id"]),
            input=item["question"],
            target=str(item["answer"]),
            metadata={k: v for k, v in item.items() if k not in _ITEM_KEYS},
        )
        for item in items
    ]
    return Task(
        name=f"agorabench_{spec.name}",
        dataset=MemoryDataset(samples, name=spec.name),
        solver=[system_message(system), item_seeded_generate(seed)],
        scorer=agora_answer(spec.scorer),
        sandbox=_code_sandbox() if spec.runs_code else None,
    )


def _code_sandbox() -> Any:
    from pytest_agorabench.sandbox.inspect_env import task_sandbox

    return task_sandbox()


def run_task(
    task: Task, model: Any, model_args: dict[str, Any], log_dir: Path, config: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Run the task; returns per-sample ``{score, extracted, output}`` by id and the log's location."""
    (log,) = inspect_eval(
        task,
        model=model,
        model_args=model_args,
        log_dir=str(log_dir),
        display="none",
        log_samples=True,
        score_display=False,
        **config,
    )
    location = log.location or str(log_dir)
    if log.status != "success":
        reason = log.error.message if log.error else f"status {log.status!r}"
        raise EvaluationError(
            f"inspect eval of {task.name} ended with {log.status}: {reason}. "
            f"Log: {location} (open with `inspect view --log-dir {log_dir}`)"
        )
    by_id: dict[str, dict[str, Any]] = {}
    for sample in log.samples or []:
        result = (sample.scores or {}).get(SCORER_NAME)
        if result is None or sample.error:
            raise EvaluationError(
                f"inspect eval of {task.name}: sample {sample.id!r} was not scored"
                f"{f' ({sample.error.message})' if sample.error else ''}. Log: {location}"
            )
        extracted = (result.metadata or {}).get("extracted")
        by_id[str(sample.id)] = {
            "score": float(result.value),  # type: ignore[arg-type]
            "extracted": extracted,
            "output": sample.output.completion if sample.output else "",
        }
    return by_id, location


def run_answers(
    model: Any, name: str, items: list[dict[str, Any]], system: str, model_args: dict[str, Any], log_dir: Path,
    config: dict[str, Any], seed: int,
) -> tuple[dict[str, str], str]:
    """The model's answer to every item, by id, and the log's location. Raises EvaluationError when an
    item got no answer (the judge would have nothing to compare)."""
    samples = [Sample(id=str(item["id"]), input=item["question"]) for item in items]
    task = Task(
        name=f"agorabench_{name}_answers",
        dataset=MemoryDataset(samples, name=name),
        solver=[system_message(system), item_seeded_generate(seed)],
    )
    (log,) = inspect_eval(
        task, model=model, model_args=model_args, log_dir=str(log_dir), display="none", score=False, **config
    )
    location = log.location or str(log_dir)
    if log.status != "success":
        reason = log.error.message if log.error else f"status {log.status!r}"
        raise EvaluationError(f"{name}: answering ended with {log.status}: {reason}. Log: {location}")
    answers: dict[str, str] = {}
    for sample in log.samples or []:
        if sample.error:
            raise EvaluationError(f"{name}: item {sample.id!r} got no answer ({sample.error.message}). Log: {location}")
        answers[str(sample.id)] = sample.output.completion if sample.output else ""
    return answers, location

"""The inspect-ai task whose model is the judge: one sample per judgment.

Imported lazily (by judge_runner.py). The solver hands each sample's model call to ``judge``, the retry
policy of ``judge_runner.judge_one``; the judge's own provider still does its usual retries inside a call
(bounded by ``attempt_timeout``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from pytest_agorabench.evaluation.judgments import Call, CallResult, JudgeRequest, JudgeSettings, Judgment

# The retry policy around one judgment's calls (judge_runner.judge_one), passed in so this adapter stays below it.
JudgeOne = Callable[[JudgeRequest, Call, JudgeSettings], Awaitable[Judgment]]

JUDGE_TEMPERATURE = 0.0  # judges decode greedily: the same prompt gives the same verdict


def judge_config(settings: JudgeSettings) -> GenerateConfig:
    extra = {} if settings.attempt_timeout_s is None else {"attempt_timeout": int(settings.attempt_timeout_s)}
    return GenerateConfig(temperature=JUDGE_TEMPERATURE, max_tokens=settings.max_tokens, **extra)


def _solver(
    by_id: dict[str, JudgeRequest], settings: JudgeSettings, judge: JudgeOne, done: Callable[[Judgment], None]
) -> Solver:
    config = judge_config(settings)

    @solver(name="agorabench_judge")
    def agorabench_judge() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            request = by_id[str(state.sample_id)]
            model = get_model()
            last = {}

            async def call(system: str, prompt: str) -> CallResult:
                messages = [ChatMessageSystem(content=system), ChatMessageUser(content=prompt)]
                output = await model.generate(messages, config=config)
                last["messages"], last["output"] = messages, output
                stop = output.choices[0].stop_reason if output.choices else None
                usage = output.usage
                return CallResult(
                    output.completion or "",
                    stop,
                    usage.input_tokens if usage else 0,
                    usage.output_tokens if usage else 0,
                )

            judgment = await judge(request, call, settings)
            done(judgment)
            if "output" in last and last["output"].choices:  # readable in `inspect view`
                state.output = last["output"]
                state.messages = [*last["messages"], last["output"].message]
            state.metadata["judgment"] = {
                "verdict": judgment.verdict,
                "failure": judgment.failure,
                "detail": judgment.detail,
                "attempts": judgment.attempts,
                "reasons": judgment.reasons,
            }
            return state

        return solve

    return agorabench_judge()


def run_judge_eval(
    requests: list[JudgeRequest],
    settings: JudgeSettings,
    log_dir: Path,
    judge: JudgeOne,
    done: Callable[[Judgment], None],
) -> str | None:
    """Judge every request; ``done`` receives each finished judgment. Returns the eval's error, if any."""
    by_id = {r.key: r for r in requests}
    samples = [
        Sample(
            id=r.key,
            input=f"{r.role} / {r.item_id} / game {r.game}",
            metadata={"item": r.item_id, "role": r.role, "game": r.game, "model_position": r.model_position},
        )
        for r in requests
    ]
    style = requests[0].style
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    task = Task(
        dataset=MemoryDataset(samples, name=f"agorabench-judge-{style}"),
        solver=_solver(by_id, settings, judge, done),
        name=f"agorabench_judge_{style}",
        metadata={"style": style, "judge": settings.model},
    )
    try:
        (log,) = inspect_eval(
            task,
            model=settings.model,
            model_args=dict(settings.model_args),
            log_dir=str(log_dir),
            display="none",
            max_connections=settings.concurrency,
            max_samples=settings.concurrency,
            fail_on_error=False,  # one broken sample must not lose the others' judgments
            retry_on_error=0,  # retries are ours, counted per judgment
            score=False,
            tags=["agorabench", "judge", style],
        )
    except Exception as exc:  # noqa: BLE001 - e.g. an unknown provider: every judgment counts as an error
        return f"the judge could not run: {type(exc).__name__}: {exc}"[:300]
    if log.status != "success" and log.error is not None:
        return f"judge eval {log.status}: {log.error.message}"[:300]
    errors = [s.error.message for s in (log.samples or []) if s.error is not None]
    return errors[0][:300] if errors else None

"""The inspect-ai side of generation: one Task, one sample per missing instance, a custom solver.

Imported lazily by the runner (inspect takes seconds to import). The solver does its own retries
(truncation, parse and validation failures, model errors) because they are part of the protocol and
must be counted per attempt; inspect still handles provider-level retries (rate limits) inside each
``generate`` call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import (
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelOutput,
    get_model,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.generation.instance import Attempt, GenerationContext, instance_id
from pytest_agorabench.providers.constrained import FORCE_CLOSED_KEY
from pytest_agorabench.generation.prompts.base import END_MARKER
from pytest_agorabench.generation.validators import estimate_tokens
from pytest_agorabench.settings import Method

# AGORABENCH.md 2.1: sampling for generation.
TEMPERATURE = 1.0
TOP_P = 0.9
STOP_SEQS = [END_MARKER]


def generation_config(max_tokens: int) -> GenerateConfig:
    return GenerateConfig(temperature=TEMPERATURE, top_p=TOP_P, max_tokens=max_tokens, stop_seqs=list(STOP_SEQS))


def unreachable(exc: BaseException) -> bool:
    """A failure to reach the model's endpoint at all (refused or dropped connection), not an answer."""
    import httpx

    try:
        from openai import APIConnectionError, APITimeoutError
    except ImportError:  # no openai package: no provider that raises its errors
        return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.TimeoutException)
    if isinstance(exc, APIConnectionError):
        return not isinstance(exc, APITimeoutError)
    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.TimeoutException)


def _attempt_from(output: ModelOutput, system: str, prompt: str) -> Attempt:
    text = output.completion or ""
    stop = output.choices[0].stop_reason if output.choices else None
    forced = int((output.metadata or {}).get(FORCE_CLOSED_KEY, 0))
    if output.usage is not None:
        return Attempt(text, stop, output.usage.input_tokens, output.usage.output_tokens, force_closed=forced)
    # No usage from the provider: estimate, and let the row say so.
    return Attempt(text, stop, estimate_tokens(system + "\n" + prompt), estimate_tokens(text), usage_estimated=True,
                   force_closed=forced)


def _solver(ctx: GenerationContext, config: GenerateConfig) -> Solver:
    @solver(name="agorabench_generate")
    def agorabench_generate() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            model = get_model()
            last: dict[str, Any] = {}

            async def call(system: str, prompt: str) -> Attempt:
                messages = [ChatMessageSystem(content=system), ChatMessageUser(content=prompt)]
                last["messages"] = messages
                try:
                    output = await model.generate(messages, config=config)
                except Exception as exc:  # noqa: BLE001 - any provider failure is one failed attempt...
                    if isinstance(exc, AgoraBenchError):
                        # ...except a request the provider cannot serve (a constraint it cannot apply): every
                        # attempt would fail alike, so the stage stops with the provider's sentence.
                        raise
                    if unreachable(exc):
                        # ...except an endpoint that cannot be reached (a server that died): that is no
                        # answer from the generator, so the instance stays unjournaled and a rerun resumes it.
                        raise
                    return Attempt(error=f"model_error: {type(exc).__name__}: {str(exc)[:500]}")
                last["output"] = output
                return _attempt_from(output, system, prompt)

            _, meta = await ctx.produce(state.metadata["index"], call)
            # Make the sample readable in `inspect view`: the final prompt and the last answer.
            if "output" in last and last["output"].choices:
                state.output = last["output"]
                state.messages = [*last["messages"], last["output"].message]
            state.metadata["agorabench"] = meta
            return state

        return solve

    return agorabench_generate()


def run_eval(
    ctx: GenerationContext,
    indices: list[int],
    *,
    model: str | Model,
    model_args: dict[str, Any] | None,
    max_tokens: int,
    log_dir: Path,
    concurrency: int,
    metadata: dict[str, Any],
    constraint: dict[str, Any] | None = None,
) -> EvalLog:
    setting = ctx.setting
    samples = [Sample(id=instance_id(i), input=_sample_input(ctx, i), metadata={"index": i}) for i in indices]
    # constraint: the GenerateConfig fields that carry --agora-structured to the backend (constraint.py).
    config = generation_config(max_tokens).model_copy(update=constraint or {})
    task = Task(
        dataset=MemoryDataset(samples, name=f"agorabench-{setting.id}"),
        solver=_solver(ctx, config),
        config=config,
        name=f"agorabench_generate_{setting.domain.value}_{setting.method.value}",
        metadata=metadata,
    )
    logs = inspect_eval(
        task,
        model=model,
        model_args=model_args or {},
        log_dir=str(log_dir),
        display="none",
        # One sample = one instance, and it calls the model once at a time, so these two together
        # bound the in-flight requests; max_samples also bounds how stale the IG demo pool can be.
        max_connections=concurrency,
        max_samples=concurrency,
        # A sample that still errors (a bug, not a model error: those are drops) must not stop the
        # others; the runner reports any instance left unjournaled and a rerun resumes it.
        fail_on_error=False,
        # Protocol retries happen in the solver, counted per attempt; a whole-sample retry would
        # double-count them.
        retry_on_error=0,
        score=False,
        tags=["agorabench", "generation", setting.id],
    )
    return logs[0]


def _sample_input(ctx: GenerationContext, index: int) -> str:
    # The real prompt is built at solve time; the input only labels the sample in the log.
    if ctx.setting.method is Method.INSTANCE_GENERATION:
        return f"{ctx.setting.key}: new instance {index}"
    return str(ctx.seeds[index]["instruction"])

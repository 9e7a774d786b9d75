"""Rubric grades 1-5 from an LLM judge for every row: instruction difficulty or response quality.

The judge is any inspect model string (``openai/gpt-4o``, ``vllm/prometheus-eval/...``, our
``agora/<dir>`` or ``agora-script/<file.py>:<fn>``). One inspect eval per call, one sample per row, greedy
decoding, so every request is in the eval log (``inspect view``). Nothing here raises for a bad judge:
a failed call, an empty, refused, unparseable or out-of-range reply is counted by reason and the row left
without a grade; if the eval cannot run at all, every row counts as ``error`` and the reason is kept.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_agorabench.intrinsic.rubrics import (
    DIFFICULTY,
    ERROR,
    KINDS,
    SCORE_REGEX,
    SYSTEM_MESSAGE,
    judge_prompt,
    parse_score,
)

EMPTY_INPUT = "empty_input"  # nothing to grade: not sent to the judge
JUDGE_TEMPERATURE = 0.0


@dataclass
class JudgeScores:
    kind: str
    model: str
    per_example: list[int | None]
    failures: dict[str, int] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    log: str | None = None  # the eval log's location
    error: str | None = None  # why the eval could not run, or the first failed call's message

    @property
    def mean(self) -> float | None:
        graded = [s for s in self.per_example if s is not None]
        return sum(graded) / len(graded) if graded else None


def _requests(rows: Sequence[Mapping[str, Any]], domain: str, kind: str) -> tuple[dict[int, str], Counter]:
    prompts, skipped = {}, Counter()
    for index, row in enumerate(rows):
        instruction = str(row.get("instruction") or "")
        response = str(row.get("response") or "")
        if not instruction.strip() or (kind != DIFFICULTY and not response.strip()):
            skipped[EMPTY_INPUT] += 1
            continue
        prompts[index] = judge_prompt(kind, domain, instruction, response)
    return prompts, skipped


def judge_scores(
    rows: Sequence[Mapping[str, Any]],
    domain: str,
    kind: str,
    model: str,
    *,
    model_args: Mapping[str, Any] | None = None,
    max_tokens: int = 512,
    concurrency: int = 16,
    log_dir: str | Path | None = None,
    structured: bool = False,
) -> JudgeScores:
    """Grade every row with the judge ``model``; see the module docstring for the failure policy."""
    from inspect_ai.model import GenerateConfig

    if kind not in KINDS:
        raise ValueError(f"unknown judge kind {kind!r}; choose from {', '.join(KINDS)}")
    judge_prompt(kind, domain, "x", "x")  # unknown domain: a clear ValueError before any model call
    result = JudgeScores(kind, model, [None] * len(rows))
    prompts, failures = _requests(rows, domain, kind)
    if prompts:
        config = GenerateConfig(temperature=JUDGE_TEMPERATURE, max_tokens=max_tokens)
        if structured:  # the grade line alone (rubrics.SCORE_REGEX), as vllm's structured outputs take it
            config.extra_body = {"structured_outputs": {"regex": SCORE_REGEX}}
        replies = _run_eval(prompts, kind, model, dict(model_args or {}), config, concurrency, log_dir, result)
        for index in prompts:
            reply = replies.get(index)
            if reply is None:
                failures[ERROR] += 1
                continue
            grade = parse_score(reply)
            if grade.score is None:
                failures[grade.failure] += 1
            result.per_example[index] = grade.score
    result.failures = dict(failures)
    return result


def _run_eval(prompts, kind, model, model_args, config, concurrency, log_dir, result) -> dict[int, str]:
    """index -> reply text for each sample that got one. Fills the token counts, log and error of ``result``."""
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser
    from inspect_ai.solver import generate

    samples = [
        Sample(id=f"{kind}-{index}", input=[ChatMessageSystem(content=SYSTEM_MESSAGE), ChatMessageUser(content=text)])
        for index, text in prompts.items()
    ]
    task = Task(
        dataset=MemoryDataset(samples, name=f"agorabench-intrinsic-{kind}"),
        solver=generate(),
        name=f"agorabench_intrinsic_{kind}",
        config=config,
    )
    logs = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="agorabench-judge-"))
    try:
        (log,) = inspect_eval(
            task,
            model=model,
            model_args=model_args,
            log_dir=str(logs),
            display="none",
            max_connections=concurrency,
            max_samples=concurrency,
            fail_on_error=False,  # one failed call must not lose the other grades
            score=False,
            tags=["agorabench", "intrinsic", kind],
        )
    except Exception as exc:  # noqa: BLE001 - an unknown provider, a missing key...: counted, not raised
        result.error = f"the judge could not run: {type(exc).__name__}: {exc}"[:500]
        return {}
    result.log = log.location or str(logs)
    if log.status != "success" and log.error is not None and not log.samples:
        result.error = f"judge eval {log.status}: {log.error.message}"[:500]
    replies: dict[int, str] = {}
    for sample in log.samples or []:
        usage = sample.output.usage if sample.output else None
        if usage:
            result.input_tokens += usage.input_tokens
            result.output_tokens += usage.output_tokens
        if sample.error is not None or sample.output is None:
            if result.error is None and sample.error is not None:
                result.error = sample.error.message[:500]
            continue
        replies[int(str(sample.id).rsplit("-", 1)[1])] = sample.output.completion or ""
    return replies

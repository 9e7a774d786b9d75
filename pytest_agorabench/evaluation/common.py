"""Names every evaluation module shares, kept at the bottom so no module has to reach back up for them:
the error, the decoding of AGORABENCH.md section 4, and the registry of answer scorers."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.evaluation.math_answers import extract_answer, gsm8k_equal, math_equal

# Decoding of AGORABENCH.md section 4, in one place.
SYSTEM_MESSAGE = "You are a helpful AI assistant."
TOP_P = 0.95
REPETITION_PENALTY = 1.03  # sent as extra_body: vllm and our local provider read it


class EvaluationError(AgoraBenchError):
    """An evaluation that did not produce a score for every item; the message names the inspect log."""


def decoding(temperature: float, max_tokens: int, max_connections: int | None = None) -> dict[str, Any]:
    """inspect generate-config of a student answering a benchmark (section 4)."""
    config: dict[str, Any] = {
        "temperature": temperature,
        "top_p": TOP_P,
        "max_tokens": max_tokens,
        "extra_body": {"repetition_penalty": REPETITION_PENALTY},
    }
    if max_connections is not None:
        config["max_connections"] = max_connections
    return config


def item_seed(run_seed: int, item_id: object) -> int:
    """The sampling seed of one benchmark item: fixed by the run's seed and the item's id, the same on every
    machine, so recomputing an evaluation gives the same answers (AGORABENCH.md section 4 samples at
    temperature 0.2 for math)."""
    digest = hashlib.sha256(f"agorabench-item:{run_seed}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (2**31 - 1)


# A scorer maps (model output, item) to (score in [0, 1], extracted answer or None). It may be async
# (code benchmarks await a sandbox). Items may carry extra keys (tests, entry points) beside the answer.
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

"""What a judgment is: the judge's settings, one request (an item, a role, an answer order), the judgment
that comes back (a verdict or a failure reason), a provider reply, and the counts a report shows.

Plain records with no inspect and no I/O; judge_runner.py runs requests, judged_benchmarks.py reads them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.evaluation.judge_prompts import judge_prompt, prompt_version
from pytest_agorabench.files import canonical_json

DETAIL_CHARS = 300
RAW_CHARS = 2_000


@dataclass(frozen=True)
class JudgeSettings:
    model: str  # inspect model string (aliases resolved by the caller)
    max_tokens: int = 1024
    max_attempts: int = 3  # calls per judgment when they fail transiently
    backoff_s: float = 2.0  # first back-off after a rate limit or error; doubles per retry
    attempt_timeout_s: float | None = None  # per call (inspect's attempt_timeout); None: the provider's own
    concurrency: int = 16
    model_args: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> dict[str, Any]:
        """What changes a judgment (not the retry knobs): part of evaluation cache keys."""
        return {"model": self.model, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class JudgeRequest:
    key: str
    item_id: str
    role: str  # whose answer is judged: student / base / reference (or any label)
    game: int  # 0, or 1 for the second answer order
    style: str
    instruction: str
    answer_a: str
    answer_b: str
    model_position: str  # "A" or "B": where the judged model's answer is

    def prompt(self) -> str:
        return judge_prompt(self.style, self.instruction, self.answer_a, self.answer_b)


def request_key(judge_model: str, style: str, instruction: str, answer_a: str, answer_b: str) -> str:
    payload = canonical_json(
        {"judge": judge_model, "prompt": prompt_version(style), "q": instruction, "a": answer_a, "b": answer_b}
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class Judgment:
    key: str
    verdict: str | None  # "A>>B" ... "B>>A" from the side of answer A; None when unusable
    failure: str | None  # reason when unusable
    detail: str = ""
    attempts: int = 0
    reasons: list[str] = field(default_factory=list)  # failure reason of every failed attempt
    input_tokens: int = 0
    output_tokens: int = 0
    raw: str = ""
    cached: bool = False

    @property
    def usable(self) -> bool:
        return self.verdict is not None

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.key,
            "verdict": self.verdict,
            "failure": self.failure,
            "detail": self.detail,
            "attempts": self.attempts,
            "reasons": self.reasons,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "raw": self.raw,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Judgment:
        fields = {k: row.get(k) for k in ("verdict", "failure", "detail", "raw")}
        return cls(
            key=row["id"],
            verdict=fields["verdict"],
            failure=fields["failure"],
            detail=fields["detail"] or "",
            attempts=int(row.get("attempts", 0)),
            reasons=list(row.get("reasons", [])),
            input_tokens=int(row.get("input_tokens", 0)),
            output_tokens=int(row.get("output_tokens", 0)),
            raw=fields["raw"] or "",
            cached=True,
        )


@dataclass
class CallResult:
    text: str
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


Call = Callable[[str, str], Awaitable[CallResult]]  # (system message, user message) -> reply; may raise
Sleep = Callable[[float], Awaitable[Any]]


@dataclass
class JudgeStats:
    """Counts over the judgments of one benchmark (or one role): what a report shows."""

    total: int = 0
    usable: int = 0
    cached: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # reason -> judgments without a verdict
    retried: int = 0  # judgments that needed more than one call
    attempt_failures: dict[str, int] = field(default_factory=dict)  # reason -> failed calls, recovered ones too
    input_tokens: int = 0
    output_tokens: int = 0
    examples: dict[str, str] = field(default_factory=dict)  # reason -> one detail, to see what went wrong

    @classmethod
    def of(cls, judgments: Iterable[Judgment]) -> JudgeStats:
        stats = cls()
        failed: Counter = Counter()
        attempts: Counter = Counter()
        for j in judgments:
            stats.total += 1
            stats.usable += j.usable
            stats.cached += j.cached
            stats.retried += j.attempts > 1 and not j.cached
            if not j.cached:
                attempts.update(j.reasons)
                stats.input_tokens += j.input_tokens
                stats.output_tokens += j.output_tokens
            if not j.usable:
                reason = j.failure or "unparseable"
                failed[reason] += 1
                stats.examples.setdefault(reason, j.detail)
        stats.failed = dict(sorted(failed.items()))
        stats.attempt_failures = dict(sorted(attempts.items()))
        return stats

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "usable": self.usable,
            "cached": self.cached,
            "failed": self.failed,
            "retried": self.retried,
            "attempt_failures": self.attempt_failures,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "examples": self.examples,
        }

"""Running pairwise judgments: requests, the per-judgment retry policy, the cache, and failure counts.

Free of inspect (the model call is injected, as in generation/instance.py); ``_judged_inspect`` is the thin
inspect adapter. Policy, per judgment:
- rate limit, timeout, other provider error: retried up to ``max_attempts`` calls in all, with
  exponential back-off for rate limits and errors; still failing, the judgment is counted under its last
  reason and is *not* cached, so the next run tries again.
- unparseable reply or refusal: not retried. Judges decode greedily, so the same prompt gives the same
  reply; a refusal comes from the content, which swapping the answers would not change (and Arena-Hard
  already judges both orders). These outcomes are cached: a rerun does not pay for them again.
- a usable verdict is cached. The cache key is the judge model, the prompt version, the instruction and
  both answers in the order shown, so any change to one of them asks the judge afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_agorabench.evaluation.judge import (
    SYSTEM_MESSAGE,
    TRANSIENT,
    RATE_LIMIT,
    ERROR,
    classify_exception,
    judge_prompt,
    parse_verdict,
    prompt_version,
)
from pytest_agorabench.store import Journal, canonical_json

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


async def judge_one(request: JudgeRequest, call: Call, settings: JudgeSettings, sleep: Sleep = asyncio.sleep) -> Judgment:
    """One judgment under the retry policy of the module docstring. Never raises for a judge failure."""
    prompt = request.prompt()
    out = Judgment(request.key, None, None)
    for attempt in range(1, settings.max_attempts + 1):
        out.attempts = attempt
        try:
            reply = await call(SYSTEM_MESSAGE, prompt)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure is a counted, classified attempt
            reason = classify_exception(exc)
            out.reasons.append(reason)
            out.failure, out.detail = reason, f"{type(exc).__name__}: {exc}"[:DETAIL_CHARS]
            if attempt < settings.max_attempts and reason in (RATE_LIMIT, ERROR) and settings.backoff_s > 0:
                await sleep(settings.backoff_s * 2 ** (attempt - 1))
            continue
        out.input_tokens += reply.input_tokens
        out.output_tokens += reply.output_tokens
        out.raw = (reply.text or "")[:RAW_CHARS]
        parsed = parse_verdict(request.style, reply.text, reply.stop_reason)
        if parsed.verdict is not None:
            out.verdict, out.failure, out.detail = parsed.verdict, None, ""
            return out
        out.reasons.append(parsed.failure or "unparseable")
        out.failure, out.detail = parsed.failure, parsed.detail
        return out  # unparseable / refusal: final (see the module docstring)
    return out


class JudgmentCache:
    """Finished judgments of one judge, in an append-only journal: ``<dir>/<judge hash>.jsonl``.

    Callers hold ``lock()`` while they judge, so one process writes at a time and a second worker that
    waited finds the shared judgments (e.g. the base model's) already there.
    """

    def __init__(self, directory: Path, judge_model: str):
        self.directory = Path(directory)
        self.name = hashlib.sha256(judge_model.encode()).hexdigest()[:16]
        self.path = self.directory / f"{self.name}.jsonl"
        self._journal: Journal | None = None

    def lock(self) -> Any:
        from filelock import FileLock

        self.directory.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.directory / f".{self.name}.lock"))

    @property
    def journal(self) -> Journal:
        if self._journal is None:
            self._journal = Journal(self.path)  # read on first use, i.e. after the lock is taken
        return self._journal

    def _index(self) -> dict[str, list[dict[str, Any]]]:
        index: dict[str, list[dict[str, Any]]] = {}
        for row in self.journal.rows:
            index.setdefault(row["id"], []).append(row)
        return index

    def lookup(self, keys: Iterable[str]) -> dict[str, Judgment]:
        index = self._index()
        return {k: Judgment.from_row(index[k][0]) for k in keys if k in index}

    def put(self, judgment: Judgment) -> None:
        if judgment.failure in TRANSIENT:
            return  # worth another try next run
        self.journal.append(judgment.to_row())


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


def judge_requests(
    requests: list[JudgeRequest],
    settings: JudgeSettings,
    *,
    cache: JudgmentCache | None,
    log_dir: Path,
) -> dict[str, Judgment]:
    """Judgments for all requests by key: from the cache, else from the judge (one inspect eval)."""
    unique = {r.key: r for r in requests}
    if cache is None:
        return _run(list(unique.values()), settings, None, log_dir)
    with cache.lock():
        found = cache.lookup(unique)
        todo = [r for k, r in unique.items() if k not in found]
        if todo:
            found.update(_run(todo, settings, cache, log_dir))
    return found


def _run(todo: list[JudgeRequest], settings: JudgeSettings, cache: JudgmentCache | None, log_dir: Path) -> dict[str, Judgment]:
    if not todo:
        return {}
    from pytest_agorabench.evaluation._judged_inspect import run_judge_eval  # lazy: inspect is slow to import

    results: dict[str, Judgment] = {}

    def done(judgment: Judgment) -> None:
        results[judgment.key] = judgment
        if cache is not None:
            cache.put(judgment)

    problem = run_judge_eval(todo, settings, log_dir, done)
    for r in todo:
        if r.key not in results:  # the sample itself failed (a bug or an interrupted eval): counted, not raised
            results[r.key] = Judgment(r.key, None, ERROR, problem or "the judge task did not finish this judgment")
    return results

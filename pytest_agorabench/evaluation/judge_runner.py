"""Running a judge over requests: the per-judgment retry policy, the judgment cache, and one inspect eval
for whatever the cache does not hold.

The retry policy is free of inspect (the model call is injected, as in generation/instance.py);
``judge_inspect`` is the thin inspect adapter that calls ``judge_one`` per sample. Policy, per judgment:
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
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pytest_agorabench.evaluation.judge_prompts import (
    ERROR,
    RATE_LIMIT,
    SYSTEM_MESSAGE,
    TRANSIENT,
    classify_exception,
    parse_verdict,
)
from pytest_agorabench.evaluation.judgments import (
    DETAIL_CHARS,
    RAW_CHARS,
    Call,
    JudgeRequest,
    JudgeSettings,
    Judgment,
    Sleep,
)
from pytest_agorabench.files import Journal


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


def judge_requests(
    requests: list[JudgeRequest],
    settings: JudgeSettings,
    *,
    cache: JudgmentCache | None,
    log_dir: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Judgment]:
    """Judgments for all requests by key: from the cache, else from the judge (one inspect eval).
    ``on_progress(done, total)``: called with the judgments the cache holds, then after every new one."""
    unique = {r.key: r for r in requests}
    if cache is None:
        return _run(list(unique.values()), settings, None, log_dir, _ticker(0, len(unique), on_progress))
    with cache.lock():
        found = cache.lookup(unique)
        todo = [r for k, r in unique.items() if k not in found]
        tick = _ticker(len(found), len(unique), on_progress)
        if todo:
            found.update(_run(todo, settings, cache, log_dir, tick))
    return found


def _ticker(done: int, total: int, on_progress: Callable[[int, int], None] | None) -> Callable[[], None] | None:
    if on_progress is None:
        return None
    count = [done]
    on_progress(done, total)

    def tick() -> None:
        count[0] += 1
        on_progress(count[0], total)

    return tick


def _run(
    todo: list[JudgeRequest], settings: JudgeSettings, cache: JudgmentCache | None, log_dir: Path,
    tick: Callable[[], None] | None = None,
) -> dict[str, Judgment]:
    if not todo:
        return {}
    from pytest_agorabench.evaluation.judge_inspect import run_judge_eval  # lazy: inspect is slow to import

    results: dict[str, Judgment] = {}

    def done(judgment: Judgment) -> None:
        results[judgment.key] = judgment
        if cache is not None:
            cache.put(judgment)
        if tick is not None:
            tick()

    problem = run_judge_eval(todo, settings, log_dir, judge_one, done)
    for r in todo:
        if r.key not in results:  # the sample itself failed (a bug or an interrupted eval): counted, not raised
            results[r.key] = Judgment(r.key, None, ERROR, problem or "the judge task did not finish this judgment")
    return results

"""The per-judgment retry policy, the judgment cache and the failure counts, with an injected judge call."""

import asyncio

import pytest

from pytest_agorabench.evaluation import judge_runner
from pytest_agorabench.evaluation.judge_prompts import GRADED, PREFERENCE
from pytest_agorabench.evaluation.judge_runner import JudgmentCache, judge_one, judge_requests
from pytest_agorabench.evaluation.judgments import (
    CallResult,
    Judgment,
    JudgeRequest,
    JudgeSettings,
    JudgeStats,
    request_key,
)


class RateLimitError(Exception):
    pass


def request(style=GRADED, a="answer one", b="answer two", judge="judge/model"):
    key = request_key(judge, style, "the request", a, b)
    return JudgeRequest(key, "item-1", "student", 0, style, "the request", a, b, "B")


class Script:
    """A judge call that plays a list of replies (str, dict or exception), recording what it was sent."""

    def __init__(self, *replies):
        self.replies = list(replies)
        self.prompts = []

    async def __call__(self, system, prompt):
        self.prompts.append((system, prompt))
        reply = self.replies.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, dict):
            return CallResult(reply["text"], reply.get("stop"), 10, 2)
        return CallResult(reply, "stop", 10, 2)


class Sleeps:
    def __init__(self):
        self.waits = []

    async def __call__(self, seconds):
        self.waits.append(seconds)


def run(req, script, settings=None, sleep=None):
    settings = settings or JudgeSettings("judge/model", max_attempts=3, backoff_s=1.5)
    return asyncio.run(judge_one(req, script, settings, sleep or Sleeps()))


def test_a_usable_verdict_takes_one_call():
    script = Script("Short reasoning.\nVerdict: B much better")
    out = run(request(), script)
    assert (out.verdict, out.failure, out.attempts) == ("B>>A", None, 1)
    assert (out.input_tokens, out.output_tokens) == (10, 2)
    system, prompt = script.prompts[0]
    assert "impartial" in system and "answer one" in prompt and "answer two" in prompt


def test_rate_limits_are_retried_with_growing_back_off_then_succeed():
    sleeps = Sleeps()
    script = Script(RateLimitError("429"), RateLimitError("429"), "Verdict: tie")
    out = run(request(), script, sleep=sleeps)
    assert out.verdict == "A=B" and out.attempts == 3
    assert out.reasons == ["rate_limit", "rate_limit"]
    assert sleeps.waits == [1.5, 3.0]


def test_a_timeout_every_time_ends_as_a_counted_timeout_without_raising():
    sleeps = Sleeps()
    out = run(request(), Script(TimeoutError(), TimeoutError(), TimeoutError()), sleep=sleeps)
    assert out.verdict is None and out.failure == "timeout" and out.attempts == 3
    assert out.reasons == ["timeout"] * 3
    assert sleeps.waits == []  # a timeout has already waited: retry at once


def test_provider_errors_are_retried_and_counted_as_error():
    out = run(request(), Script(ConnectionError("reset"), ConnectionError("reset"), ConnectionError("reset")))
    assert out.failure == "error" and "ConnectionError" in out.detail


def test_unparseable_and_refusal_are_final_after_one_call():
    script = Script("no idea", "should not be called")
    out = run(request(), script)
    assert (out.failure, out.attempts, len(script.prompts)) == ("unparseable", 1, 1)
    out = run(request(), Script({"text": "", "stop": "content_filter"}))
    assert out.failure == "refusal"
    out = run(request(), Script("I'm sorry, but I can't help with that."))
    assert out.failure == "refusal"


def test_a_transient_failure_then_an_unparseable_reply_ends_unparseable():
    out = run(request(), Script(TimeoutError(), "banana"))
    assert out.failure == "unparseable" and out.reasons == ["timeout", "unparseable"] and out.attempts == 2


def test_keys_change_with_judge_prompt_and_answer_order():
    base = request_key("j", GRADED, "q", "a", "b")
    assert base == request_key("j", GRADED, "q", "a", "b")
    assert len({base, request_key("k", GRADED, "q", "a", "b"), request_key("j", PREFERENCE, "q", "a", "b"),
                request_key("j", GRADED, "q", "b", "a"), request_key("j", GRADED, "q2", "a", "b")}) == 5


def test_cache_keeps_final_outcomes_and_skips_transient_ones(tmp_path):
    cache = JudgmentCache(tmp_path, "judge/model")
    with cache.lock():
        cache.put(Judgment("k1", "A>B", None, attempts=1))
        cache.put(Judgment("k2", None, "unparseable", "junk"))
        cache.put(Judgment("k3", None, "rate_limit"))
        cache.put(Judgment("k4", None, "timeout"))
    again = JudgmentCache(tmp_path, "judge/model")  # a new run reads the journal back
    found = again.lookup(["k1", "k2", "k3", "k4"])
    assert set(found) == {"k1", "k2"}
    assert found["k1"].cached and found["k1"].verdict == "A>B"
    assert found["k2"].failure == "unparseable"
    assert JudgmentCache(tmp_path, "other/judge").lookup(["k1"]) == {}


def test_judge_requests_serves_cached_judgments_without_calling_the_judge(tmp_path, monkeypatch):
    reqs = [request(a="x"), request(a="y")]
    cache = JudgmentCache(tmp_path, "judge/model")
    with cache.lock():
        for r in reqs:
            cache.put(Judgment(r.key, "B>A", None, attempts=1))

    def no_eval(*args, **kwargs):
        raise AssertionError("the judge must not run when every judgment is cached")

    monkeypatch.setattr(judge_runner, "_run", no_eval)
    found = judge_requests(reqs, JudgeSettings("judge/model"), cache=JudgmentCache(tmp_path, "judge/model"),
                           log_dir=tmp_path / "logs")
    assert {k: j.verdict for k, j in found.items()} == {reqs[0].key: "B>A", reqs[1].key: "B>A"}


def test_judge_requests_runs_only_the_missing_ones(tmp_path, monkeypatch):
    cached, fresh = request(a="x"), request(a="y")
    cache = JudgmentCache(tmp_path, "judge/model")
    with cache.lock():
        cache.put(Judgment(cached.key, "A>B", None))
    seen = []

    def fake_run(todo, settings, cache, log_dir, tick=None):
        seen.extend(r.key for r in todo)
        return {r.key: Judgment(r.key, None, "timeout") for r in todo}

    monkeypatch.setattr(judge_runner, "_run", fake_run)
    found = judge_requests([cached, fresh, fresh], JudgeSettings("judge/model"),
                           cache=JudgmentCache(tmp_path, "judge/model"), log_dir=tmp_path)
    assert seen == [fresh.key]
    assert found[cached.key].verdict == "A>B" and found[fresh.key].failure == "timeout"


def test_stats_count_usable_failed_cached_and_retried():
    judgments = [
        Judgment("a", "A>B", None, attempts=1, input_tokens=5, output_tokens=1),
        Judgment("b", "A>B", None, attempts=2, reasons=["rate_limit"], input_tokens=5),
        Judgment("c", None, "unparseable", "junk", attempts=1),
        Judgment("d", None, "timeout", "slow", attempts=3, reasons=["timeout"] * 3),
        Judgment("e", "B>A", None, attempts=1, cached=True, input_tokens=99),
    ]
    stats = JudgeStats.of(judgments)
    assert (stats.total, stats.usable, stats.cached, stats.retried) == (5, 3, 1, 2)
    assert stats.failed == {"timeout": 1, "unparseable": 1}
    assert stats.attempt_failures == {"rate_limit": 1, "timeout": 3}
    assert stats.input_tokens == 10  # cached judgments cost nothing this run
    assert stats.examples == {"unparseable": "junk", "timeout": "slow"}
    assert set(stats.to_dict()) >= {"total", "usable", "failed", "cached", "attempt_failures"}


@pytest.mark.parametrize("attempts", [1, 2])
def test_max_attempts_bounds_the_calls(attempts):
    script = Script(*[RateLimitError("429")] * 5)
    out = run(request(), script, JudgeSettings("judge/model", max_attempts=attempts, backoff_s=0))
    assert len(script.prompts) == attempts and out.failure == "rate_limit"

"""One instance's retry loop with an injected model call (no inspect): acceptance, retries, token sums."""

import asyncio

from pytest_agorabench.generation.instance import Attempt, GenerationContext, reason_key
from pytest_agorabench.generation.prompts import SYSTEM_MESSAGE
from pytest_agorabench.settings import get_setting
from pytest_agorabench.files import Journal

GOOD = "Steps.\n[RESULT] 4 [/RESULT]"
SEEDS = [{"id": f"s{i}", "instruction": f"Problem {i}?", "response": "r"} for i in range(4)]


def ctx(tmp_path, setting="math/response_generation", attempts=3):
    return GenerationContext(
        setting=get_setting(setting),
        seeds=SEEDS,
        journal=Journal(tmp_path / "j.jsonl"),
        seed=0,
        demo_mix="intended",
        max_attempts=attempts,
    )


def scripted(*attempts):
    calls = []

    async def call(system, prompt):
        calls.append((system, prompt))
        return attempts[len(calls) - 1]

    return call, calls


def test_accept_first_try(tmp_path):
    c = ctx(tmp_path)
    call, calls = scripted(Attempt(GOOD, "stop", 100, 20))
    row, meta = asyncio.run(c.produce(1, call))
    assert row == {
        "id": "gen-00001",
        "instruction": "Problem 1?",
        "response": GOOD,
        "attempts": 1,
        "input_tokens": 100,
        "output_tokens": 20,
        "cleaned": [],
    }
    assert calls[0][0] == SYSTEM_MESSAGE and "INPUT: Problem 1?" in calls[0][1]
    assert c.journal.rows == [row] and c.pool == [row] and meta["accepted"]


def test_truncated_then_parse_failure_then_ok_sums_tokens(tmp_path):
    c = ctx(tmp_path)
    call, calls = scripted(
        Attempt("Steps that never", "max_tokens", 100, 50),
        Attempt("no tags at all", "stop", 100, 10),
        Attempt(GOOD + "\n\nNote: easy.", "stop", 100, 30),
    )
    row, meta = asyncio.run(c.produce(0, call))
    assert row["attempts"] == 3 and row["input_tokens"] == 300 and row["output_tokens"] == 90
    assert row["response"] == GOOD and row["cleaned"] == ["trailing_note"]
    assert [reason_key(r) for r in meta["reasons"]] == ["truncated", "result_tags"]
    assert len({p for _, p in calls}) == 1  # the same prompt for every attempt of an instance


def test_end_marker_accepts_even_when_stop_reason_says_length(tmp_path):
    call, _ = scripted(Attempt(GOOD + " [END]", "max_tokens", 1, 1))
    row, _ = asyncio.run(ctx(tmp_path).produce(0, call))
    assert row["response"] == GOOD


def test_dropped_after_max_attempts(tmp_path):
    c = ctx(tmp_path, attempts=2)
    call, _ = scripted(
        Attempt(error="model_error: RuntimeError: down"),
        Attempt("x" * 3000 + " OUTPUT: y\n" + GOOD, "stop", 5, 7),
    )
    row, _ = asyncio.run(c.produce(2, call))
    assert row["dropped"].startswith("leak:") and row["attempts"] == 2
    assert row["input_tokens"] == 5 and row["output_tokens"] == 7
    assert len(row["last_output"]) == 2000
    assert [reason_key(r) for r in row["attempt_reasons"]] == ["model_error", "leak"]
    assert c.pool == [] and c.journal.rows == [row]


def test_content_filter_is_not_accepted(tmp_path):
    call, _ = scripted(Attempt(GOOD, "content_filter", 1, 1))
    row, _ = asyncio.run(ctx(tmp_path, attempts=1).produce(0, call))
    assert reason_key(row["dropped"]) == "stopped_content_filter"


def test_estimated_usage_is_flagged(tmp_path):
    call, _ = scripted(Attempt(GOOD, "stop", 3, 4, usage_estimated=True))
    row, _ = asyncio.run(ctx(tmp_path).produce(0, call))
    assert row["usage_estimated"] is True


def test_instance_generation_pool_feeds_later_prompts(tmp_path):
    c = ctx(tmp_path, setting="math/instance_generation")
    call, calls = scripted(
        Attempt("Brand new problem?\nOUTPUT: " + GOOD, "stop", 1, 1),
        Attempt("Second problem?\nOUTPUT: " + GOOD, "stop", 1, 1),
    )
    first, meta0 = asyncio.run(c.produce(0, call))
    assert first["instruction"] == "Brand new problem?" and meta0["demo_origins"] == ["seed"] * 3
    _, meta1 = asyncio.run(c.produce(1, call))
    assert sorted(meta1["demo_origins"]) == ["generated", "seed", "seed"]
    assert "INPUT: Brand new problem?" in calls[1][1]


def test_pool_starts_from_the_journal(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    journal.append({"id": "gen-00000", "instruction": "old", "response": GOOD, "attempts": 1})
    journal.append({"id": "gen-00001", "dropped": "leak: x", "attempts": 1})
    c = GenerationContext(get_setting("math/instance_generation"), SEEDS, journal, 0, "intended", 1)
    assert [r["id"] for r in c.pool] == ["gen-00000"]

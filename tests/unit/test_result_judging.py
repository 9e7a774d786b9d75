"""Judge fields of the case result (JSON round trip, older reports, JUnit properties) and the judge settings."""

from pathlib import Path

import pytest

from pytest_agorabench.config import PROFILES, build_config
from pytest_agorabench.pipeline.evaluate import JudgeMissing, judge_settings, merge_judgments
from pytest_agorabench.metrics.pgr import Estimate
from pytest_agorabench.result import BenchmarkOutcome, CaseResult


def case(**extra):
    judged = BenchmarkOutcome(
        name="arena_hard", items=20, student=None, base=None, reference=None, reference_source="measured",
        pgr=Estimate(None, None, None, "arena_hard: no item has a usable judgment", 0),
        judging={"total": 120, "usable": 100, "cached": 40, "retried": 3, "items_used": 17,
                 "failed": {"unparseable": 15, "timeout": 5}, "attempt_failures": {"rate_limit": 3, "timeout": 15}},
        details={"items_used": 17},
    )
    plain = BenchmarkOutcome("alpacaeval2", 24, 40.0, 10.0, 60.0, "measured", Estimate(60.0, 20.0, 90.0, None, 100))
    data = dict(
        setting="instruction_following/response_generation", generator="g", student="tiny", reference="gold",
        profile="smoke", smoke=True, pgr=Estimate(None, None, None, "why", 0), benchmarks=[plain, judged],
        instances_requested=4, instances_valid=4, instances_dropped=0, drops_by_reason={}, seed_rows=40,
        seed_drops={}, train_rows=4, attempts=4, input_tokens=1, output_tokens=1, cost_usd=0.0,
    )
    data.update(extra)
    return CaseResult(**data)


def test_judge_counts_round_trip_through_json():
    result = case(judge="smollm2-135m", judgments={"total": 120, "usable": 100})
    again = CaseResult.from_dict(result.to_dict())
    assert again == result
    assert again.benchmarks[1].judging["failed"] == {"unparseable": 15, "timeout": 5}


def test_reports_written_before_judging_still_load():
    old = case().to_dict()
    for key in ("judge", "judgments"):
        old.pop(key)
    for bench in old["benchmarks"]:
        bench.pop("judging")
        bench.pop("details")
    loaded = CaseResult.from_dict(old)
    assert loaded.judge is None and loaded.judgments == {} and loaded.benchmarks[0].judging == {}


def test_junit_properties_show_usable_and_failed_judgments():
    outcome = case().benchmarks[1]
    totals = merge_judgments([outcome])
    assert totals == {"total": 120, "usable": 100, "cached": 40, "retried": 3,
                      "failed": {"timeout": 5, "unparseable": 15}, "attempt_failures": {"rate_limit": 3, "timeout": 15}}
    props = dict(case(judge="smollm2-135m", judgments=totals).junit_properties())
    assert props["judge"] == "smollm2-135m"
    assert (props["judgments"], props["judgments_usable"], props["judgments_cached"]) == (120, 100, 40)
    assert props["judgments_failed_unparseable"] == 15 and props["judgments_failed_timeout"] == 5
    assert props["arena_hard_items_used"] == 17
    assert props["arena_hard_student"] == "undefined"
    assert "judgments" not in dict(case().junit_properties())  # nothing judged: no judge properties


def test_smoke_judges_with_the_smoke_judge_in_process(tmp_path: Path):
    config = build_config({}, {}, tmp_path)
    settings = judge_settings(config)
    assert settings.model == "agora-script/pytest_agorabench.evaluation.smoke_judge:judge"
    assert settings.max_tokens == PROFILES["smoke"].judge_max_tokens <= 16
    assert settings.backoff_s == 0 and settings.attempt_timeout_s is None
    paper = PROFILES["paper"]
    assert paper.judge_max_attempts >= 2 and paper.judge_backoff_s > 0 and paper.judge_timeout_s


def test_a_user_judge_string_is_used_as_given(tmp_path: Path):
    config = build_config({"judge": "agora-script/judge.py:fn"}, {}, tmp_path)
    assert judge_settings(config).model == "agora-script/judge.py:fn"
    alias = build_config({"judge": "gpt-4o-mini"}, {}, tmp_path)
    assert judge_settings(alias).model == "openai/gpt-4o-mini-2024-07-18"


def test_no_judge_is_a_clear_error(tmp_path: Path):
    from dataclasses import replace

    config = replace(build_config({}, {}, tmp_path), judge=None)
    with pytest.raises(JudgeMissing, match="--judge"):
        judge_settings(config)


def test_a_judged_case_without_judge_stops_before_any_work(tmp_path: Path):
    from dataclasses import replace

    from pytest_agorabench.pipeline import run_case
    from pytest_agorabench.settings import get_setting
    from pytest_agorabench.store import Store

    config = replace(build_config({}, {}, tmp_path), judge=None)
    store = Store(tmp_path / "store")
    with pytest.raises(JudgeMissing):
        run_case(get_setting("instruction_following/response_generation"), config, store)
    assert not (store.root / "artifacts").exists()


def test_a_case_whose_judge_left_items_unjudged_fails_closed():
    from pytest_agorabench.api import _too_few_judged

    result = case()  # arena_hard: 17 of 20 items judged for every model, 3 left out (15 %)
    why = _too_few_judged(result, 0.05)
    assert why.startswith("the judge's verdicts do not cover the benchmark: arena_hard: 3 of 20 items")
    assert "judgments usable 100 of 120" in why and "unparseable 15" in why
    assert _too_few_judged(result, 0.75) is None  # smoke's 135M judge: only three quarters unjudged fails
    assert PROFILES["paper"].max_unjudged_share == 0.05 and PROFILES["smoke"].max_unjudged_share == 0.75


def test_junit_names_each_skipped_intrinsic_scorer_and_a_skipped_stage():
    measured = {"metrics": {"diversity": 0.5}, "skipped": {"judge": "no judge configured", "reward_model": "none"}}
    props = dict(case(intrinsic=measured).junit_properties())
    assert props["intrinsic_skipped_judge"] == "no judge configured" and props["intrinsic_skipped_reward_model"] == "none"
    assert "intrinsic_skipped" not in props and props["intrinsic_diversity"] == "0.5000"
    assert dict(case(intrinsic={"skipped": "no generated rows to measure"}).junit_properties())[
        "intrinsic_skipped"] == "no generated rows to measure"
    assert not any(k.startswith("intrinsic_skipped") for k in dict(case(intrinsic={"skipped": {}}).junit_properties()))

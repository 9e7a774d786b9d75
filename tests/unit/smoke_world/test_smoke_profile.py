"""The smoke profile reads the smoke world and judges it with the smoke judge; the rubric metrics keep an
LLM judge, and a judge the user names serves both roles. Paper and quick keep their LLM judges and the hub."""

from __future__ import annotations

from pathlib import Path

from pytest_agorabench.config import build_config
from pytest_agorabench.models import SMOKE_JUDGE, SMOLLM2, resolve_model
from pytest_agorabench.pipeline import case_seeds
from pytest_agorabench.pipeline.evaluate import benchmark_items
from pytest_agorabench.pipeline.intrinsic import intrinsic_config
from pytest_agorabench.profiles import PROFILES
from pytest_agorabench.settings import get_setting


def cfg(**cli):
    return build_config(cli, {}, Path("/tmp"))


def test_smoke_reads_the_smoke_world():
    config = cfg()
    assert "smoke_world" in case_seeds(get_setting("code/response_generation"), config).source
    questions = [i["question"] for i in benchmark_items("gsm8k", config)]
    assert questions and all(q.startswith("What is ") for q in questions)
    assert any("Reply with the larger of" in i["question"] for i in benchmark_items("arena_hard", config))


def test_smoke_judges_with_the_smoke_judge_and_grades_rubrics_with_smollm2():
    config = cfg()
    assert config.judge == SMOKE_JUDGE
    judges = intrinsic_config(config, "student", "/tmp/logs").judges
    assert list(judges.values()) == [resolve_model(SMOLLM2).inspect_model]


def test_a_judge_the_user_names_judges_everything():
    config = cfg(judge="agora-script/tests/e2e/scripted.py:grader")
    judges = intrinsic_config(config, "student", "/tmp/logs").judges
    assert list(judges.values()) == ["agora-script/tests/e2e/scripted.py:grader"]


def test_structured_smoke_holds_a_grammar_judge_to_the_grade_line_and_leaves_others_free():
    assert intrinsic_config(cfg(), "student", "/tmp/logs").judge_structured
    assert not intrinsic_config(cfg(structured="off"), "student", "/tmp/logs").judge_structured
    # A script or an API judge cannot take a grammar: its reply stays free text, parsed as before.
    assert not intrinsic_config(cfg(judge="agora-script/tests/e2e/scripted.py:grader"), "student", "/tmp/logs").judge_structured


def test_paper_and_quick_keep_their_llm_judges_and_the_hub():
    for name in ("paper", "quick"):
        profile = PROFILES[name]
        assert profile.judge.startswith("openai/") and profile.world is None and profile.data_source == "hub"


def test_smoke_trains_its_reward_model_on_the_worlds_seed_rows_once_each():
    from pytest_agorabench.pipeline.students import fixture_seed_rows

    world = fixture_seed_rows("smoke_world")
    # The three methods of a domain share their seed rows: each comes once (80 per domain).
    assert len(world) == len({(r["instruction"], r["response"]) for r in world}) == 240
    assert {r["source"] for r in world} == {"smoke_world"}
    assert len(fixture_seed_rows()) > 0 and not any(r.get("source") == "smoke_world" for r in fixture_seed_rows())


def test_smoke_scores_a_sample_with_its_model_based_scorers_and_paper_scores_all():
    assert intrinsic_config(cfg(), "student", "/tmp/logs").sample_size == PROFILES["smoke"].intrinsic_sample == 8
    assert PROFILES["paper"].intrinsic_sample is None and PROFILES["quick"].intrinsic_sample is None

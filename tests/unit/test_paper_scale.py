"""bench/paper_scale.py's arithmetic: GPU-hours from the paper profile and recipe read from our code."""

import importlib.util
import sys
from pathlib import Path

import pytest

from pytest_agorabench.profiles import PROFILES
from pytest_agorabench.settings import get_setting
from pytest_agorabench.training.recipes import get_recipe

_PATH = Path(__file__).resolve().parents[2] / "bench" / "paper_scale.py"
_spec = importlib.util.spec_from_file_location("paper_scale", _PATH)
paper_scale = importlib.util.module_from_spec(_spec)
sys.modules["paper_scale"] = paper_scale  # its dataclasses look their module up there
_spec.loader.exec_module(paper_scale)

PAPER = PROFILES["paper"]
RECIPE = get_recipe(PAPER.recipe)


def assumptions(**changes):
    base = dict(row_tokens=600.0, attempts_per_instance=1.2, gen_tokens_per_s=2500.0, eval_output_tokens=400.0,
                student_tokens_per_s=3000.0, mfu=0.35)
    return paper_scale.Assumptions(**{**base, **changes})


def test_doubling_mfu_halves_the_sft_hours_and_nothing_else_changes_but_scoring():
    setting = get_setting("math/response_generation")
    low = paper_scale.case_hours(setting, PAPER, RECIPE, assumptions(mfu=0.2))
    high = paper_scale.case_hours(setting, PAPER, RECIPE, assumptions(mfu=0.4))
    assert high.training == pytest.approx(low.training / 2)
    assert high.generation == low.generation and high.evaluation == low.evaluation


def test_sft_hours_are_six_params_tokens_epochs_over_peak_times_mfu():
    # Instance generation trains on the seed rows too: 14,856 math seeds + 10,000 generated.
    case = paper_scale.case_hours(get_setting("math/instance_generation"), PAPER, RECIPE, assumptions())
    tokens = (14_856 + 10_000) * 600
    assert case.trained_tokens == tokens
    assert case.training == pytest.approx(6 * 8.03e9 * tokens * 5 / (989e12 * 0.35) / 3600)


def test_generation_hours_are_tokens_over_node_throughput_times_eight_gpus():
    case = paper_scale.case_hours(get_setting("code/quality_enhancement"), PAPER, RECIPE, assumptions())
    assert case.generation == pytest.approx(10_000 * 1.2 * 600 / 2500 / 3600 * 8)


def test_more_nodes_never_lengthen_the_wall_clock():
    keys = ("math/instance_generation", "code/response_generation", "instruction_following/quality_enhancement")
    cases = [paper_scale.case_hours(get_setting(k), PAPER, RECIPE, assumptions()) for k in keys]
    walls = [paper_scale.layout(cases, 6, k, RECIPE.num_gpus)["wall_h"] for k in (1, 2, 4, 8)]
    assert walls == sorted(walls, reverse=True)


def test_a_bad_flag_is_refused_with_a_message(capsys):
    with pytest.raises(SystemExit) as stop:
        paper_scale.parse_args(["--mfu", "0"])
    assert stop.value.code == 2
    assert "--mfu must be in (0, 1]" in capsys.readouterr().err

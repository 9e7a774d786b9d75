"""The smoke world has signal in every cell: data that is right recovers most of the gap, corrupted data
does not (issue 20).

Each case runs the smoke profile as users get it (fixtures/smoke_world, the tiny student, the gold
reference, the smoke judge for the judged benchmarks) with a scripted generator of tests/e2e/scripted_world.py:
``world`` writes right data, ``world_corrupted`` the same layouts with wrong answers. The default tier covers
response generation in each domain; the slow tier the other six settings. Instance generation trains on the
80 seed rows plus the generated ones, so it asks for three times as many for the generated rows to decide
what the student learns.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.pipeline import run_case
from pytest_agorabench.settings import SETTINGS, get_setting

pytestmark = pytest.mark.signal  # conftest.py: AGORABENCH_SIGNAL_TEST=1 (.ci/run sets it)

SCRIPT = Path(__file__).with_name("scripted_world.py")
DEFAULT = ("math/response_generation", "code/response_generation", "instruction_following/response_generation")
OTHERS = tuple(s.key for s in SETTINGS if s.key not in DEFAULT)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One store for the module: the gold reference and S_0 of a domain are computed once."""
    return tmp_path_factory.mktemp("smoke_world") / "store"


def _case(store: Path, key: str, function: str):
    setting = get_setting(key)
    cli = {
        "generator": f"agora-script/{SCRIPT}:{function}",
        "instances": 240 if setting.trains_on_seed else 80,
        "store": str(store),
        "intrinsic": "off",  # PGR is what this test is about
    }
    return run_case(setting, build_config(cli, {}, Path.cwd()))


def _check(store: Path, key: str) -> None:
    good = _case(store, key, "world")
    bad = _case(store, key, "world_corrupted")
    assert good.instances_valid == good.instances_requested, good.drops_by_reason
    assert bad.instances_valid == bad.instances_requested, bad.drops_by_reason
    for b in good.benchmarks:
        assert b.reference - b.base >= 25.0, (key, b)
    assert good.pgr.point is not None and good.pgr.point >= 60.0, (key, good.pgr, good.benchmarks)
    assert bad.pgr.point is not None and bad.pgr.point <= 20.0, (key, bad.pgr, bad.benchmarks)


@pytest.mark.parametrize("key", DEFAULT)
def test_right_data_recovers_the_gap_and_corrupted_data_does_not(store, key):
    _check(store, key)


@pytest.mark.slow
@pytest.mark.parametrize("key", OTHERS)
def test_the_same_holds_in_the_other_six_settings(store, key):
    _check(store, key)

"""The benchmark has signal: correct generated data recovers clearly more of the gap than corrupted data.

Response generation on single-digit sums (fixtures/signal): the seed file holds 80 of the 100 pairs with
worked answers, the benchmark folder holds the other 20 in the GSM8K and MATH hub formats. The scripted generator answers the
seed instructions correctly or off by seven; the tiny student learns whichever it is given, the gold
reference is the student trained on the seeds' own (correct) answers, and the untrained student scores (almost) 0.
"""

from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.pipeline import run_case
from pytest_agorabench.settings import get_setting

pytestmark = pytest.mark.signal  # conftest.py: AGORABENCH_SIGNAL_TEST=1 (.ci/run sets it)

SCRIPT = Path(__file__).with_name("scripted.py")


SIGNAL = Path(__file__).resolve().parents[2] / "fixtures" / "signal"  # the sums; see its README.md


@pytest.fixture(scope="module")
def sums(tmp_path_factory):
    return {
        "seed_file": SIGNAL / "seeds.jsonl",
        "benchmark_dir": SIGNAL / "benchmarks",
        "store": tmp_path_factory.mktemp("sums") / "store",
    }


def _case(sums, function: str):
    cli = {
        "generator": f"agora-script/{SCRIPT}:{function}",
        "instances": 80,
        "seed_file": str(sums["seed_file"]),
        "benchmark_dir": str(sums["benchmark_dir"]),
        "store": str(sums["store"]),
        "intrinsic": "off",  # PGR is what this test is about; the math e2e run measures the intrinsic metrics
    }
    config = build_config(cli, {}, Path.cwd())
    return run_case(get_setting("math/response_generation"), config)


def test_correct_data_recovers_clearly_more_of_the_gap_than_wrong_data(sums):
    good = _case(sums, "arithmetic")
    bad = _case(sums, "arithmetic_wrong")
    assert good.instances_valid == bad.instances_valid == 80
    for result in (good, bad):
        assert all(b.base <= 10.0 for b in result.benchmarks), result.benchmarks  # S_0 guesses at most 2 of 20
        assert all(b.reference >= 25.0 for b in result.benchmarks), result.benchmarks
    assert good.pgr.point >= 60.0, good.benchmarks
    assert bad.pgr.point <= 10.0, bad.benchmarks
    # Not just the points: the intervals do not overlap.
    assert good.pgr.low > bad.pgr.high

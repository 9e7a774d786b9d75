"""--agora-sizes on the signal set-up (tests/e2e/test_signal.py: sums the tiny student learns): one generation
run of 80 instances, a student per prefix of 20, 40 and 80. Correct data recovers more of the gap the more
of it the student gets; corrupted data recovers none at any size. Every prefix is cut from the one
generation artifact: the generator answers each instance once."""

from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.pipeline import run_case
from pytest_agorabench.settings import get_setting
from tests.e2e.test_signal import SCRIPT, sums  # noqa: F401 - the module-scoped fixture

pytestmark = pytest.mark.signal  # conftest.py: AGORABENCH_SIGNAL_TEST=1 (.ci/run sets it)

RG = get_setting("math/response_generation")
PRICES = {"prices": {f"agora-script/{SCRIPT}:arithmetic": {"input": 1.0, "output": 2.0}}}


def _case(sums, function: str, **extra):  # noqa: F811
    cli = {
        "generator": f"agora-script/{SCRIPT}:{function}",
        "sizes": "20,40,80",
        "seed_file": str(sums["seed_file"]),
        "benchmark_dir": str(sums["benchmark_dir"]),
        "store": str(sums["store"]),
        "intrinsic": "off",
        **extra,
    }
    return run_case(RG, build_config(cli, PRICES, Path.cwd()))


def test_pgr_rises_with_size_for_correct_data_and_not_for_corrupted_data(sums, tmp_path, monkeypatch, record_property):  # noqa: F811
    counter = tmp_path / "calls"
    monkeypatch.setenv("AGORA_TEST_COUNTER", str(counter))
    good = _case(sums, "arithmetic")
    assert int(counter.read_text()) == 80  # one generation run: each instance asked for once
    bad = _case(sums, "arithmetic_wrong")
    assert int(counter.read_text()) == 160
    for name, result in (("correct", good), ("corrupted", bad)):  # the figures the README quotes (--junitxml)
        record_property(name, [(s["instances"], s["pgr"]["point"], s["pgr"]["low"], s["pgr"]["high"], s["cost_usd"])
                               for s in result.sizes])

    for result in (good, bad):
        assert [s["instances"] for s in result.sizes] == [20, 40, 80]
        assert [s["valid"] for s in result.sizes] == [20, 40, 80]
        assert [s["train_rows"] for s in result.sizes] == [20, 40, 80]
        # Three students, the largest the case's own (same key, same PGR).
        keys = [s["student"] for s in result.sizes]
        assert len(set(keys)) == 3 and keys[-1] == result.artifacts["training"]
        assert result.sizes[-1]["pgr"]["point"] == result.pgr.point
        # The whole run's tokens are the largest prefix's; smaller prefixes cost less.
        assert (result.sizes[-1]["input_tokens"], result.sizes[-1]["output_tokens"]) == (
            result.input_tokens, result.output_tokens)
        assert 0 < result.sizes[0]["input_tokens"] < result.sizes[1]["input_tokens"] < result.input_tokens

    costs = [s["cost_usd"] for s in good.sizes]
    assert costs[-1] == good.cost_usd and 0 < costs[0] < costs[1] < costs[2]
    assert all(s["cost_usd"] is None and s["pgr_per_usd"] is None for s in bad.sizes)  # unpriced
    assert good.sizes[0]["pgr_per_usd"] == round(good.sizes[0]["pgr"]["point"] / costs[0], 3)

    rising = [s["pgr"] for s in good.sizes]
    flat = [s["pgr"] for s in bad.sizes]
    # Interval-aware: the largest prefix's lower end is above the smallest's upper end.
    assert rising[-1]["low"] > rising[0]["high"], rising
    assert rising[0]["point"] <= rising[1]["point"] <= rising[2]["point"], rising  # never falls
    # Corrupted data: no size recovers any of the gap beyond noise, and more of it does not help.
    assert all(p["point"] <= 10.0 for p in flat), flat
    assert flat[-1]["low"] <= flat[0]["high"], flat


def test_sizes_with_repeats_train_every_prefix_with_every_seed(sums):  # noqa: F811
    # The store already holds the seed-42 students of the test above; seed 43 adds one student per size.
    result = _case(sums, "arithmetic", sizes="40,80", repeats=2)
    assert [s["instances"] for s in result.sizes] == [40, 80]
    for entry in result.sizes:
        by_seed = entry["pgr_by_seed"]
        assert len(by_seed) == 2 and entry["pgr"]["low"] <= entry["pgr"]["point"] <= entry["pgr"]["high"]
        assert entry["pgr"]["point"] == pytest.approx(sum(by_seed) / 2, rel=1e-12)
    assert result.sizes[-1]["pgr"] == result.to_dict()["pgr"]  # the largest prefix is the case, seeds and all

"""The regression gate with signal, on the signal test's set-up (tests/e2e/test_signal.py: sums the tiny
student learns): the scripted generator's correct data is the baseline; the same data trained with another
seed passes the gate; data with three answers in five wrong fails it. Then the plugin end to end: a run
saved with --agora-save, compared with --agora-compare --agora-max-drop 5 after the generator got worse at
response generation only: that case fails with its delta and interval, the unchanged ones pass, and JUnit
carries the gate's properties."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.gate import case_record, compare, describe
from pytest_agorabench.pipeline import run_case
from pytest_agorabench.pipeline.train import case_recipe
from pytest_agorabench.settings import get_setting
from tests.e2e.runs import run_suite
from tests.e2e.test_signal import SCRIPT, sums  # noqa: F401 - the module-scoped fixture

pytestmark = pytest.mark.signal  # conftest.py: AGORABENCH_SIGNAL_TEST=1 (.ci/run sets it)

RG = get_setting("math/response_generation")


def _record(sums, function: str, train_seed: int = 42, repeats: int = 1, result_out: list | None = None) -> dict:  # noqa: F811
    cli = {
        "repeats": repeats,
        "generator": f"agora-script/{SCRIPT}:{function}",
        "instances": 80,
        "seed_file": str(sums["seed_file"]),
        "benchmark_dir": str(sums["benchmark_dir"]),
        "store": str(sums["store"]),
        "intrinsic": "off",
        "train_seed": train_seed,
    }
    config = build_config(cli, {}, Path.cwd())
    result = run_case(RG, config)
    if result_out is not None:
        result_out.append(result)
    return case_record(result, case_recipe(config, RG.domain).fingerprint(), list(config.training_seeds))


def test_another_training_seed_passes_and_mostly_wrong_data_fails(sums):  # noqa: F811
    baseline = _record(sums, "arithmetic")
    reseeded = _record(sums, "arithmetic", train_seed=43)
    worse = _record(sums, "arithmetic_mostly_wrong")
    assert reseeded["store_keys"]["training"] != baseline["store_keys"]["training"]  # a new student
    # A byte-identical rerun (what a fresh store rebuilds: every stage is deterministic) passes, whatever
    # share of resamples ties the reference with the base on these 20 items.
    rerun = compare(json.loads(json.dumps(baseline)), baseline, margin=5.0, tests=1, max_failures=0.05,
                    resamples=2000)
    assert rerun["gate"] == "passed" and rerun["delta_pgr"] == 0.0, describe(rerun)
    same = compare(reseeded, baseline, margin=5.0, tests=1, max_failures=0.05, resamples=1000)
    assert same["gate"] == "passed", describe(same)
    assert same["s0_sref"].startswith("shared")
    bad = compare(worse, baseline, margin=5.0, tests=1, max_failures=0.05, resamples=1000)
    assert bad["gate"] == "failed", describe(bad)
    assert bad["delta_pgr_high"] < -5.0


def test_repeats_report_the_mean_over_seeds_and_compare_with_them(sums):  # noqa: F811
    out: list = []
    both = _record(sums, "arithmetic", repeats=2, result_out=out)  # seeds 42 and 43: trained above, cached
    (result,) = out
    assert result.repeats["seeds"] == [42, 43] and both["seeds"] == [42, 43]
    by_seed = result.repeats["pgr_by_seed"]
    # The mean is taken with numpy: equal to the last few ulps, not bit for bit.
    assert result.pgr.point == pytest.approx(sum(by_seed) / 2, rel=1e-12) and result.pgr.low <= result.pgr.point <= result.pgr.high
    assert 0.0 <= result.repeats["share_seeds"] <= 1.0
    assert len(both["item_scores"]["gsm8k"]["student"]) == 2
    block = compare(both, _record(sums, "arithmetic"), margin=5.0, tests=1, max_failures=0.05, resamples=500)
    assert block["gate"] == "passed" and block["seeds"] == {"run": [42, 43], "baseline": [42]}


def test_save_then_compare_fails_the_case_that_got_worse(pytester, sums):  # noqa: F811
    common = (
        "-k", "math", "--instances=80", "--agora-intrinsic=off",
        f"--agora-seed-file={sums['seed_file']}", f"--agora-benchmark-dir={sums['benchmark_dir']}",
    )
    store = sums["store"]
    saved = run_suite(pytester, store, *common, "--agora-save=v1")
    saved.assert_outcomes(passed=3)
    assert (store / "runs" / "v1" / "manifest.json").exists()
    junit = pytester.path / "gate.xml"
    worse = run_suite(
        pytester, store, *common, "--agora-compare=v1", "--agora-max-drop=5", f"--junitxml={junit}",
        generator="arithmetic_worse_responses",
    )
    worse.assert_outcomes(passed=2, failed=1)
    text = worse.stdout.str()
    assert "math/response_generation: delta PGR -" in text and "failed: PGR dropped by more than 5 points" in text
    assert "(5 % over 3 gated case(s), Bonferroni;" in text  # -k math: the six deselected cases do not count
    props = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        props[case.get("name")] = {p.get("name"): p.get("value") for p in case.iter("property")}
    rg = props["test_setting[math-response_generation]"]
    assert rg["gate"] == "failed" and rg["baseline"] == "v1" and float(rg["delta_pgr_high"]) < -5
    assert {"delta_pgr", "delta_pgr_low", "delta_p", "gate_reason"} <= set(rg)
    assert props["test_setting[math-instance_generation]"]["gate"] == "passed"
    report = json.loads((store / "report.json").read_text())
    assert report["summary"]["gate"]["failed"] == 1 and report["summary"]["gate"]["gated"] == 3

"""The three math cases end to end through pytest, on the tiny student with a scripted generator.

Every stage is real (inspect generation task, validators, trl SFT, inspect evaluation, bootstrap PGR);
only the generator is a script, so the run is fast and offline. Inner runs are subprocesses so the
plugin loads through its installed entry point, as it does for users.
"""

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("scripted.py")
SUITE = REPO / "suites" / "test_math.py"
CASE_IDS = ("math-instance_generation", "math-response_generation", "math-quality_enhancement")


@pytest.fixture
def suite(pytester):
    shutil.copy(SUITE, pytester.path / "test_math.py")
    return pytester


def _run(pytester, store, *args, **env):
    for name, value in env.items():
        pytester._monkeypatch.setenv(name, value)
    return pytester.runpytest_subprocess(
        f"--generator=agora-script/{SCRIPT}:arithmetic",
        f"--agora-store={store}",
        "-p",
        "no:cacheprovider",
        *args,
        timeout=600,
    )


def test_three_math_cases_run_end_to_end_and_a_rerun_is_served_from_the_store(suite, tmp_path):
    store, report, junit = tmp_path / "store", tmp_path / "report.json", tmp_path / "junit.xml"
    first = _run(suite, store, f"--agora-json={report}", f"--junitxml={junit}")
    first.assert_outcomes(passed=3)
    first.stdout.fnmatch_lines(["*= agorabench =*", "setting*PGR*", "math/instance_generation*"])

    data = json.loads(report.read_text())
    assert data["schema"] == "pytest-agorabench/report"
    cases = {c["setting"]: c for c in data["cases"]}
    assert sorted(cases) == sorted(f"math/{i.split('-', 1)[1]}" for i in CASE_IDS)
    for case in cases.values():
        assert case["instances_valid"] == case["instances_requested"] == 4
        assert {b["name"] for b in case["benchmarks"]} == {"gsm8k", "math"}
        assert case["pgr"]["resamples"] > 0
        assert case["smoke"] is True
        assert case["input_tokens"] > 0 and case["output_tokens"] > 0
        # instance generation trains on seed + generated, the other methods on generated only
    assert cases["math/instance_generation"]["train_rows"] > 4
    assert cases["math/response_generation"]["train_rows"] == 4

    props = {
        tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
        for tc in ET.parse(junit).getroot().iter("testcase")
    }
    for case_id in CASE_IDS:
        p = props[f"test_setting[{case_id}]"]
        for key in ("pgr", "pgr_low", "pgr_high", "gsm8k_student", "math_base", "instances_valid", "cost_usd"):
            assert key in p, (case_id, key)

    second = _run(suite, store, f"--agora-json={report}")
    second.assert_outcomes(passed=3)
    again = {c["setting"]: c for c in json.loads(report.read_text())["cases"]}
    for key, case in again.items():
        assert {"generation", "training", "evaluation"} <= set(case["cached_stages"]), key
        assert case["pgr"] == cases[key]["pgr"]


def test_garbage_generator_output_is_counted_and_the_student_stays_untrained(suite, tmp_path):
    report = tmp_path / "report.json"
    result = suite.runpytest_subprocess(
        f"--generator=agora-script/{SCRIPT}:garbage",
        f"--agora-store={tmp_path / 'store'}",
        f"--agora-json={report}",
        "-k",
        "response_generation",
        timeout=600,
    )
    result.assert_outcomes(passed=1)
    (case,) = json.loads(report.read_text())["cases"]
    assert case["instances_valid"] == 0 and case["instances_dropped"] == 4
    assert case["drops_by_reason"] == {"result_tags": 4}
    assert case["attempts"] == 8  # the smoke profile's two attempts per instance, all retried and counted
    assert "skipped" in case["training"]
    assert all(b["student"] == b["base"] for b in case["benchmarks"])


def test_missing_seed_file_is_a_usage_error(suite, tmp_path):
    result = _run(suite, tmp_path / "store", f"--agora-seed-file={tmp_path / 'nope.jsonl'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nope.jsonl*"])
    assert "Traceback" not in result.stderr.str()


def test_unknown_generator_alias_is_a_usage_error(suite, tmp_path):
    result = suite.runpytest_subprocess("--generator=llama-3.1-7b", f"--agora-store={tmp_path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown model alias 'llama-3.1-7b'*Did you mean*"])
    assert "Traceback" not in result.stderr.str()

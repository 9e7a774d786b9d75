"""The three math cases end to end through pytest, on the tiny student with a scripted generator.

Every stage is real (inspect generation task, validators, trl SFT, inspect evaluation, bootstrap PGR);
only the generator is a script, so the run is fast and offline. Inner runs are subprocesses so the
plugin loads through its installed entry point, as it does for users.
"""

import json
import xml.etree.ElementTree as ET

import pytest

from .runs import run_suite

CASE_IDS = ("math-instance_generation", "math-response_generation", "math-quality_enhancement")


def test_three_math_cases_run_end_to_end(math_run):
    out = math_run["stdout"]
    assert math_run["returncode"] == 0, out[-4000:] + math_run["stderr"][-2000:]
    assert "3 passed" in out
    assert "= agorabench =" in out and "math/instance_generation" in out

    data = json.loads(math_run["report"].read_text())
    assert data["schema"] == "pytest-agorabench/report"
    cases = {c["setting"]: c for c in data["cases"]}
    assert sorted(cases) == sorted(f"math/{i.split('-', 1)[1]}" for i in CASE_IDS)
    for case in cases.values():
        assert case["instances_valid"] == case["instances_requested"] == 4
        assert {b["name"] for b in case["benchmarks"]} == {"gsm8k", "math"}
        # A PGR comes with its interval, or with the reason it is undefined.
        assert (case["pgr"]["point"] is not None and case["pgr"]["resamples"] > 0) or case["pgr"]["undefined_reason"]
        assert case["smoke"] is True
        assert case["input_tokens"] > 0 and case["output_tokens"] > 0
        assert case["training"]["rows"] == case["train_rows"]
        metrics = case["intrinsic"]["metrics"]
        for name in ("instruction_diversity_cdist", "response_diversity_cdist", "response_perplexity",
                     "instruction_difficulty_scriptedpygrader_judge", "response_quality_scriptedpygrader_judge",
                     "response_quality_rm"):
            assert isinstance(metrics[name], float), (case["setting"], name, case["intrinsic"])
    # instance generation trains on seed + generated, the other methods on generated only
    assert cases["math/instance_generation"]["train_rows"] == cases["math/instance_generation"]["seed_rows"] + 4
    assert cases["math/response_generation"]["train_rows"] == 4

    props = {
        tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
        for tc in ET.parse(math_run["junit"]).getroot().iter("testcase")
    }
    for case_id in CASE_IDS:
        p = props[f"test_setting[{case_id}]"]
        for key in ("pgr", "pgr_low", "pgr_high", "gsm8k_student", "math_base", "instances_valid", "cost_usd",
                    "intrinsic_response_perplexity"):
            assert key in p, (case_id, key)


def test_a_rerun_is_served_from_the_store_with_identical_figures(math_run, tmp_path):
    import subprocess

    report = tmp_path / "again.json"
    cmd = [c if not c.startswith("--agora-json=") else f"--agora-json={report}" for c in math_run["cmd"]]
    proc = subprocess.run(cmd, cwd=math_run["inner"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    first = {c["setting"]: c for c in json.loads(math_run["report"].read_text())["cases"]}
    again = {c["setting"]: c for c in json.loads(report.read_text())["cases"]}
    for key, case in again.items():
        assert {"generation", "training", "evaluation", "intrinsic"} <= set(case["cached_stages"]), key
        assert case["pgr"] == first[key]["pgr"] and case["benchmarks"] == first[key]["benchmarks"]


def test_garbage_generator_output_is_counted_and_the_student_stays_untrained(pytester, store_copy, tmp_path):
    report = tmp_path / "report.json"
    result = run_suite(pytester, store_copy, f"--agora-json={report}", "-k", "response_generation",
                       generator="garbage")
    result.assert_outcomes(passed=1)
    (case,) = json.loads(report.read_text())["cases"]
    assert case["instances_valid"] == 0 and case["instances_dropped"] == 4
    assert case["drops_by_reason"] == {"result_tags": 4}
    assert case["attempts"] == 8  # the smoke profile's two attempts per instance, all retried and counted
    assert "skipped" in case["training"]
    assert case["intrinsic"] == {"skipped": "no generated rows to measure"}
    assert all(b["student"] == b["base"] for b in case["benchmarks"])


def test_missing_seed_file_is_a_usage_error(pytester, tmp_path):
    result = run_suite(pytester, tmp_path / "store", f"--agora-seed-file={tmp_path / 'nope.jsonl'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nope.jsonl*does not exist*"])
    assert "Traceback" not in result.stderr.str()


def test_unknown_generator_alias_is_a_usage_error(pytester, tmp_path):
    result = pytester.runpytest_subprocess("--generator=llama-3.1-7b", f"--agora-store={tmp_path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown model alias 'llama-3.1-7b'*Did you mean*"])
    assert "Traceback" not in result.stderr.str()

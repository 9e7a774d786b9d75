"""A run killed during generation resumes: no lost, no duplicated rows, and no finished sample is paid twice."""

import json
import signal

from .runs import generated_rows, run_suite


def _calls(counter) -> int:
    return int(counter.read_text()) if counter.exists() else 0


def test_killed_generation_resumes_without_lost_or_duplicated_rows(pytester, math_run, store_copy, tmp_path):
    # The uninterrupted session run is what the resumed run must end up with.
    (clean,) = [c for c in json.loads(math_run["report"].read_text())["cases"]
                if c["setting"] == "math/response_generation"]
    expected = generated_rows(math_run["store"], clean)

    killed = run_suite(pytester, store_copy, "-k", "response_generation",
                       AGORA_TEST_COUNTER=str(tmp_path / "killed.count"), AGORA_TEST_DIE_AFTER="2")
    assert killed.ret == -signal.SIGKILL, killed.stdout.str()
    journal = next((store_copy / "journals" / "generation").glob("*.jsonl"))
    journaled = {json.loads(line)["id"] for line in journal.read_text().splitlines() if line.strip()}
    assert 0 < len(journaled) < len(expected)  # killed part-way: some rows were saved, some not

    counter = tmp_path / "resume.count"
    report = tmp_path / "report.json"
    resumed = run_suite(pytester, store_copy, "-k", "response_generation", f"--agora-json={report}",
                        AGORA_TEST_COUNTER=str(counter))
    resumed.assert_outcomes(passed=1)
    (case,) = json.loads(report.read_text())["cases"]
    rows = generated_rows(store_copy, case)
    assert [r["id"] for r in rows] == [r["id"] for r in expected]  # none lost, none twice, same order
    assert rows == expected
    # Only what the journal did not hold was asked for again, and the rest of the case was unchanged.
    assert _calls(counter) == len(expected) - len(journaled)
    assert case["pgr"] == clean["pgr"]
    assert "training" in case["cached_stages"]


def test_a_run_killed_before_its_first_row_starts_over_cleanly(pytester, math_run, store_copy, tmp_path):
    killed = run_suite(pytester, store_copy, "-k", "quality_enhancement",
                       AGORA_TEST_COUNTER=str(tmp_path / "a.count"), AGORA_TEST_DIE_AFTER="0")
    assert killed.ret == -signal.SIGKILL
    report = tmp_path / "report.json"
    resumed = run_suite(pytester, store_copy, "-k", "quality_enhancement", f"--agora-json={report}")
    resumed.assert_outcomes(passed=1)
    (case,) = json.loads(report.read_text())["cases"]
    assert case["instances_valid"] == 4 and "training" in case["cached_stages"]

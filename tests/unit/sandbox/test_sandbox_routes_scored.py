"""Every forging route of issue 21, as a wrong HumanEval answer, scored by ``score_humaneval`` five times
outside inspect and five times inside an inspect sample (the ``agora`` sandbox, as CI and users get it):
each must score 0. The routes come from test_sandbox_forgery.py and test_sandbox_tricks.py, where each is
also shown to forge a stand-in guard, so a route that merely crashed is caught there.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.sandbox import test_sandbox_forgery as forgery
from tests.unit.sandbox import test_sandbox_tricks as tricks

REPEATS = 5
# A HumanEval item whose answer (``return None``) is wrong: the check can only pass if the program forges.
ITEM = {"prompt": "def f():\n", "test": "def check(candidate):\n    assert candidate() == 1\n", "entry_point": "f"}


def _routes() -> dict[str, str]:
    routes = {f"frames: {k}": v for k, v in forgery.REACH_MAIN.items()}
    routes.update({f"refused: {k}": v for k, (v, _) in forgery.REFUSED.items()})
    routes["renamed sub-interpreter module"] = forgery.RENAMED_INTERPRETERS
    for liar, (opener, _) in tricks.LYING_OBJECTS.items():
        for target, (program, _) in tricks.LYING_TARGETS.items():
            path, mode = tricks.TARGET_ARGUMENTS[target]
            routes[f"lying path: {liar} -> {target}"] = tricks.LIARS + program(
                opener.replace("PATH", path).replace("MODE", mode)
            )
    routes.update({f"native: {k}": load + use for k, (load, use, _) in tricks.NATIVE.items()})
    routes.update({
        f"bytecode: {k}": tricks.FAKE_BYTEARRAY + make + tricks.RUN_BYTECODE + tricks.SCAN_THROUGH_VIEW
        for k, (make, _) in tricks.BYTECODE.items()
    })
    routes.update({f"hook state: {k}": v + forgery.MEMORY_SCAN for k, v in tricks.HOOK_STATE.items()})
    routes.update({f"plain: {k}": v for k, v in tricks.PLAIN.items()})
    routes["the start line taken"] = STEAL_STARTED
    return routes


# Takes the guard's start line from its own stdout (through /proc, where there is one) and exits like a
# guard that failed to start: that must be the program's failure, never a sandbox error that stops scoring.
STEAL_STARTED = r'''
try:
    _reader = os.open("/proc/self/fd/1", os.O_RDONLY | os.O_NONBLOCK)
    os.read(_reader, 4096)
except OSError:
    pass
os.write(2, b"agora-sandbox: cannot read the nonce\n")
_exit(3)
'''


def _answer(route: str, outside: str) -> str:
    """The completion: the wrong body, then the attack at module level (it runs before the check)."""
    return "    return None\n\n" + forgery.PRELUDE + _routes()[route].replace(tricks.OUTSIDE, outside)


ROUTES = sorted(_routes())


@pytest.mark.parametrize("route", ROUTES)
def test_each_route_scores_zero_five_times_outside_inspect(route, tmp_path):
    from pytest_agorabench.evaluation.code_benchmarks import score_humaneval

    outside = tmp_path / "outside.txt"
    for _ in range(REPEATS):
        score, _, explanation = asyncio.run(score_humaneval(_answer(route, str(outside)), ITEM))
        assert score == 0.0, explanation
    assert not outside.exists()


def test_each_route_scores_zero_five_times_in_an_inspect_sample(tmp_path):
    from pytest_agorabench.evaluation import evaluate

    outside = tmp_path / "outside.txt"
    items, answers = [], {}
    for n, route in enumerate(ROUTES):
        for repeat in range(REPEATS):
            question = f"route {n} run {repeat}: {route}"
            items.append({**ITEM, "id": f"{n}-{repeat}", "question": question, "answer": "    return 1\n"})
            answers[question] = _answer(route, str(outside))
    # The control: a right answer in the same evaluation scores 1, so the zeros above are verdicts.
    items.append({**ITEM, "id": "control", "question": "control", "answer": "    return 1\n"})
    answers["control"] = "    return 1\n"
    from tests.unit.evaluation.test_evaluate_code_inspect import Scripted

    scores = evaluate("mockllm/model", "humaneval", items, max_tokens=128, log_dir=tmp_path / "logs",
                      model_args={"custom_outputs": Scripted(answers)})
    assert len(scores) == len(items)
    passed = [s["id"] for s in scores if s["score"] != 0.0]
    assert passed == ["control"], passed
    assert not outside.exists()

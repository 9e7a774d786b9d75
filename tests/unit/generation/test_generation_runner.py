"""run_generation end to end through inspect-ai with a scripted mockllm model.

The scripted model answers from the prompt it receives (the seed instruction or the attempt count),
so the tests hold with concurrency > 1. Every ModelOutput carries usage: without it mockllm would try
to download a tokenizer.
"""

import json
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pytest_agorabench.generation import SYSTEM_MESSAGE, GenerationIncomplete, run_generation
from pytest_agorabench.settings import get_setting
from pytest_agorabench.files import Journal

pytest.importorskip("inspect_ai")

from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

RG = get_setting("math/response_generation")
IG = get_setting("math/instance_generation")
QE = get_setting("math/quality_enhancement")
GOOD = "Steps.\n[RESULT] {n} [/RESULT]"


def seeds(n):
    return [
        {"id": f"s{i}", "instruction": f"Problem {i}?", "response": f"Old answer {i}.", "source": "t"} for i in range(n)
    ]


def output(text, stop="stop", inp=100, out=10):
    o = ModelOutput.from_content("mockllm/model", text, stop_reason=stop)
    o.usage = ModelUsage(input_tokens=inp, output_tokens=out, total_tokens=inp + out)
    return o


class Script:
    """A mockllm callable: ``script(problem_number, attempt) -> ModelOutput`` (or raises)."""

    def __init__(self, script):
        self.script = script
        self.calls = []  # (problem number or None, attempt, messages, config)
        self.lock = threading.Lock()
        self.attempts = defaultdict(int)

    def __call__(self, messages, tools, tool_choice, config):
        match = re.findall(r"Problem (\d+)\?", messages[-1].text)
        key = int(match[-1]) if match else None
        with self.lock:
            self.attempts[key] += 1
            attempt = self.attempts[key]
            self.calls.append((key, attempt, messages, config))
        return self.script(key, attempt)

    def model(self):
        return get_model("mockllm/model", custom_outputs=self, memoize=False)


def run(setting, seed_rows, script, tmp_path, journal=None, **kw):
    args = dict(
        model=script.model(),
        instances=len(seed_rows),
        max_tokens=256,
        max_attempts=3,
        seed=7,
        demo_mix="intended",
        journal=journal or Journal(tmp_path / "journal.jsonl"),
        log_dir=tmp_path / "logs",
        concurrency=3,
    )
    args.update(kw)
    return run_generation(setting, seed_rows, **args)


def rg_script(n, attempt):
    if n == 1 and attempt == 1:
        return output("Steps that got cut", stop="max_tokens", out=256)
    if n == 2:
        return output("I think the answer is 4.")  # no result tags, every time
    if n == 3:
        return output("OUTPUT: leaked\n" + GOOD.format(n=n))
    if n == 4:
        raise RuntimeError("provider down")
    if n == 5:
        return output(GOOD.format(n=n) + "\n\nNote: easy one.")
    return output(GOOD.format(n=n) + " [END]" if n == 6 else GOOD.format(n=n))


def test_response_generation_end_to_end(tmp_path):
    script = Script(rg_script)
    result = run(RG, seeds(7), script, tmp_path)
    assert result.requested == 7
    assert [r["id"] for r in result.rows] == ["gen-00000", "gen-00001", "gen-00005", "gen-00006"]
    assert result.drops == {"result_tags": 1, "leak": 1, "model_error": 1}
    by_id = {r["id"]: r for r in result.rows + result.dropped_rows}
    assert by_id["gen-00001"]["attempts"] == 2  # truncated, then retried
    assert by_id["gen-00001"]["input_tokens"] == 200 and by_id["gen-00001"]["output_tokens"] == 266
    assert by_id["gen-00005"]["cleaned"] == ["trailing_note"] and by_id["gen-00005"]["response"] == GOOD.format(n=5)
    assert by_id["gen-00006"]["response"] == GOOD.format(n=6)
    assert by_id["gen-00000"]["instruction"] == "Problem 0?"
    assert by_id["gen-00002"]["attempts"] == 3 and by_id["gen-00002"]["last_output"] == "I think the answer is 4."
    assert by_id["gen-00004"]["dropped"] == "model_error: RuntimeError: provider down"
    assert by_id["gen-00004"]["input_tokens"] == 0
    # Totals count every attempt: 1 + 2 + 3 + 3 + 3(errors, no tokens) + 1 + 1.
    assert result.attempts == 14 == sum(r["attempts"] for r in by_id.values())
    assert result.input_tokens == 100 * 11
    assert result.output_tokens == sum(r["output_tokens"] for r in by_id.values())
    # Sampling defaults and the chat layout of every call.
    _, _, messages, config = script.calls[0]
    assert [m.role for m in messages] == ["system", "user"] and messages[0].text == SYSTEM_MESSAGE
    assert (config.temperature, config.top_p, config.max_tokens, config.stop_seqs) == (1.0, 0.9, 256, ["[END]"])
    assert Counter(k for k, *_ in script.calls) == {0: 1, 1: 2, 2: 3, 3: 3, 4: 3, 5: 1, 6: 1}
    assert result.log_file and Path(result.log_file.replace("file://", "")).exists()


def test_instances_capped_at_seed_count_and_instance_i_uses_seed_i(tmp_path):
    script = Script(lambda n, a: output(GOOD.format(n=n)))
    result = run(RG, seeds(3), script, tmp_path, instances=10)
    assert result.requested == 3
    assert [(r["id"], r["instruction"]) for r in result.rows] == [
        ("gen-00000", "Problem 0?"),
        ("gen-00001", "Problem 1?"),
        ("gen-00002", "Problem 2?"),
    ]


def test_quality_enhancement(tmp_path):
    def script(n, attempt):
        return output(f"Revised Question: Cleaned problem {n}?\nRevised Answer: {GOOD.format(n=n)}")

    result = run(QE, seeds(2), Script(script), tmp_path)
    assert [r["instruction"] for r in result.rows] == ["Cleaned problem 0?", "Cleaned problem 1?"]
    assert result.drops == {}


def test_instance_generation_uses_generated_rows_as_demos(tmp_path):
    counter = iter(range(100))

    def script(n, attempt):
        k = next(counter)
        return output(f"New generated question {k}?\nOUTPUT: {GOOD.format(n=k)}\n[END]")

    s = Script(script)
    result = run(IG, seeds(5), s, tmp_path, instances=4, concurrency=1)
    assert [r["instruction"] for r in result.rows] == [f"New generated question {k}?" for k in range(4)]
    prompts = [c[2][-1].text for c in s.calls]
    assert "New generated question" not in prompts[0]
    assert all(p.count("[EXAMPLE") == 3 and p.endswith("INPUT: ") for p in prompts)
    assert all("New generated question" in p for p in prompts[1:])  # 1 generated demo each (intended mix)


def test_resume_after_interrupted_run(tmp_path):
    class Kill(BaseException):
        """Escapes the solver's model-error handling, like a process dying mid-run."""

    def dying(n, attempt):
        if n == 3:
            raise Kill()
        return output(GOOD.format(n=n))

    journal_path = tmp_path / "journal.jsonl"
    with pytest.raises(GenerationIncomplete, match="rerun to resume"):
        run(RG, seeds(8), Script(dying), tmp_path, journal=Journal(journal_path), concurrency=1)
    first = [json.loads(line)["id"] for line in journal_path.read_text().splitlines()]
    assert first == ["gen-00000", "gen-00001", "gen-00002"]

    healthy = Script(lambda n, a: output(GOOD.format(n=n)))
    result = run(RG, seeds(8), healthy, tmp_path, journal=Journal(journal_path))
    assert sorted(k for k, *_ in healthy.calls) == [3, 4, 5, 6, 7]  # only the missing ones
    ids = [json.loads(line)["id"] for line in journal_path.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 8
    assert [r["id"] for r in result.rows] == [f"gen-{i:05d}" for i in range(8)]

    # A third run finds everything journaled: no eval, no model call.
    idle = Script(lambda n, a: pytest.fail("the model must not be called"))
    again = run(RG, seeds(8), idle, tmp_path, journal=Journal(journal_path))
    assert again.rows == result.rows and again.log_file is None and idle.calls == []


def test_resume_from_a_partial_journal_counts_earlier_rows(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    journal.append(
        {
            "id": "gen-00001",
            "instruction": "Problem 1?",
            "response": GOOD.format(n=1),
            "attempts": 2,
            "input_tokens": 50,
            "output_tokens": 5,
            "cleaned": [],
        }
    )
    journal.append(
        {
            "id": "gen-00003",
            "dropped": "leak: x",
            "attempts": 3,
            "input_tokens": 30,
            "output_tokens": 3,
            "last_output": "x",
        }
    )
    journal.append({"id": "gen-00099", "instruction": "beyond the request", "response": "r", "attempts": 1})
    s = Script(lambda n, a: output(GOOD.format(n=n), inp=10, out=1))
    result = run(RG, seeds(5), s, tmp_path, journal=journal)
    assert sorted(k for k, *_ in s.calls) == [0, 2, 4]
    assert [r["id"] for r in result.rows] == ["gen-00000", "gen-00001", "gen-00002", "gen-00004"]
    assert result.drops == {"leak": 1}
    assert (result.attempts, result.input_tokens, result.output_tokens) == (8, 110, 11)


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from pytest_agorabench.generation import run_generation
    from pytest_agorabench.settings import get_setting
    from pytest_agorabench.files import Journal

    calls = []
    def script(messages, tools, tool_choice, config):
        calls.append(1)
        if len(calls) > 4:
            os.kill(os.getpid(), signal.SIGKILL)  # a real kill: no cleanup, no exception handling
        o = ModelOutput.from_content("mockllm/model", "Steps.\\n[RESULT] 1 [/RESULT]", stop_reason="stop")
        o.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return o

    tmp = Path(sys.argv[1])
    seeds = [{"id": f"s{i}", "instruction": f"Problem {i}?", "response": "r"} for i in range(10)]
    run_generation(get_setting("math/response_generation"), seeds,
                   model=get_model("mockllm/model", custom_outputs=script, memoize=False),
                   instances=10, max_tokens=64, max_attempts=2, seed=0, demo_mix="intended",
                   journal=Journal(tmp / "journal.jsonl"), log_dir=tmp / "logs", concurrency=2)
    """
)


def test_resume_after_sigkill(tmp_path):
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    journal = Journal(tmp_path / "journal.jsonl")
    done = journal.done_ids
    assert 1 <= len(done) <= 4
    s = Script(lambda n, a: output(GOOD.format(n=n)))
    result = run(RG, seeds(10), s, tmp_path, journal=journal)
    called = sorted(f"gen-{k:05d}" for k, *_ in s.calls)
    assert sorted(done) + called == sorted(f"gen-{i:05d}" for i in range(10)) and not set(done) & set(called)
    ids = [json.loads(line)["id"] for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 10 == len(result.rows)


def test_argument_checks(tmp_path):
    s = Script(lambda n, a: output("x"))
    with pytest.raises(ValueError, match="demo_mix"):
        run(RG, seeds(2), s, tmp_path, demo_mix="bogus")
    with pytest.raises(ValueError, match="at least 3 seed rows"):
        run(IG, seeds(2), s, tmp_path)
    with pytest.raises(ValueError, match="max_attempts"):
        run(RG, seeds(2), s, tmp_path, max_attempts=0)


def test_structured_runs_recheck_every_output_and_count_closed_parts(tmp_path):
    from pytest_agorabench.providers.constrained import FORCE_CLOSED_KEY

    def script(n, attempt):
        if n == 1:  # parses, but outside the layout (no space before the stop string's place): a misfit
            return output("I think so.\n[RESULT] 1 [/RESULT]\n\nNote: easy.")
        out = output(f"Steps.\n[RESULT] {n} [/RESULT] ")
        out.metadata = {FORCE_CLOSED_KEY: 1 if n == 2 else 0}
        return out

    result = run(RG, seeds(4), Script(script), tmp_path, structured=True)
    assert len(result.rows) == 4
    assert result.force_closed == 1 and result.misfits == 1
    by_id = {r["id"]: r for r in result.rows}
    assert by_id["gen-00002"]["force_closed"] == 1 and by_id["gen-00001"]["misfits"] == 1
    # Off: nothing is re-checked (a provider only closes parts of a constrained request).
    off = run(RG, seeds(4), Script(script), tmp_path / "off")
    assert off.misfits == 0 and "misfits" not in off.rows[1]

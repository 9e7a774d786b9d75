"""The generation stage as the pipeline runs it: prompt variants, the shared journal, budget mode.

The generator is a scripted function served by our ``agora-script`` provider (its token usage is a
word count), so the whole path runs: config -> cache key -> journal -> inspect -> rows and summary.
"""

import json
import textwrap
from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.pipeline import case_seeds
from pytest_agorabench.pipeline.generate import generate as generate_stage
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.serving import Servers
from pytest_agorabench.settings import get_setting
from pytest_agorabench.store import Store

pytest.importorskip("inspect_ai")

RG = get_setting("math/response_generation")

SCRIPT = textwrap.dedent(
    '''
    import json, os, re

    def _log(prompt):
        with open(os.environ["AGORA_TEST_CALLS"], "a") as fh:
            fh.write(json.dumps(prompt[-80:]) + "\\n")

    def answer(messages, config):
        prompt = messages[-1]["content"]
        _log(prompt)
        solution = "Worked out.\\n[RESULT] 1 [/RESULT]"
        if '"response"' in prompt:  # the json variant: every other answer wrapped in a fence
            body = json.dumps({"response": solution})
            # Alternate calls (counted in the log), not the prompt's length, which depends on the seed data.
            calls = len(open(os.environ["AGORA_TEST_CALLS"]).read().splitlines())
            return "```json\\n" + body + "\\n```" if calls % 2 else body
        return solution
    '''
)


@pytest.fixture
def env(tmp_path, monkeypatch):
    script = tmp_path / "gen.py"
    script.write_text(SCRIPT)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("AGORA_TEST_CALLS", str(calls))
    generator = f"agora-script/{script}:answer"
    store = Store(tmp_path / "store")

    def generate(cli=None, pyproject=None):
        config = build_config({"generator": generator, **(cli or {})}, pyproject or {}, tmp_path)
        seeds = case_seeds(RG, config)
        clock = Clock()
        art = generate_stage(store, RG, seeds, config, clock, Servers(store.servers_dir(), "test"))
        return art, art.read_json("summary.json"), art.read_jsonl("rows.jsonl")

    def n_calls():
        return len(calls.read_text().splitlines()) if calls.exists() else 0

    generate.store = store
    return generate, n_calls, generator


def test_json_variant_counts_fenced_outputs_and_has_its_own_cache_key(env):
    generate, n_calls, _ = env
    art, summary, rows = generate({"instances": 6, "prompts": "json"})
    assert summary["prompts"] == "json" and summary["valid"] == 6
    assert summary["fence_stripped"] == sum(1 for r in rows if r.get("fence_stripped")) > 0
    assert all(r["response"].endswith("[/RESULT]") for r in rows)
    default, default_summary, _ = generate({"instances": 6})
    assert default.key != art.key and default_summary["fence_stripped"] is None
    assert n_calls() == 12
    again, _, _ = generate({"instances": 6, "prompts": "json"})
    assert again.cached and n_calls() == 12


def test_more_instances_continue_the_journal_of_fewer(env):
    generate, n_calls, _ = env
    _, first, rows3 = generate({"instances": 3})
    assert n_calls() == 3
    _, second, rows5 = generate({"instances": 5})
    assert n_calls() == 5  # only instances 3 and 4 were generated
    assert rows5[:3] == rows3 and second["requested"] == 5


def test_a_finished_generation_leaves_no_journal_and_the_cache_command_says_so(env, capsys):
    from pytest_agorabench.cli import main

    generate, n_calls, _ = env
    generate({"instances": 2})
    assert generate.store.unfinished_journals() == []
    main(["cache", "--store", str(generate.store.root)])
    out = capsys.readouterr().out
    assert "generation" in out and "unfinished" not in out
    # The journal moved into the artifact: a larger request still continues its rows.
    _, _, rows = generate({"instances": 3})
    assert n_calls() == 3 and len(rows) == 3


def test_budget_mode_sizes_the_run_and_reports_how(env):
    generate, n_calls, generator = env
    prices = {"prices": {generator: {"input": 1000.0, "output": 1000.0}}}  # 0.1 cent per word
    art, summary, rows = generate({"budget_usd": 4.0}, prices)
    budget = summary["budget"]
    per_instance = budget["spent_usd"] / budget["sized_instances"]
    assert summary["requested"] == budget["sized_instances"] == len(rows) == n_calls()
    assert budget["spent_usd"] <= 4.0 < budget["spent_usd"] + 2 * per_instance  # close to the budget
    assert budget["pilot"] == 16 and 16 < budget["sized_instances"] < 40 and len(budget["rounds"]) > 1
    # A smaller budget reuses the journal: no new calls, a shorter prefix.
    _, small, _ = generate({"budget_usd": 1.0}, prices)
    assert n_calls() == budget["sized_instances"] and small["requested"] < summary["requested"]

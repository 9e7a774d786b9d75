"""The generation stage against a served generator (the stand-in vllm server of fake_vllm/): the server
dies mid-run, is restarted once, and the journal resumes with no lost or duplicated instance; a connection
refused is never counted as a failed attempt of the generator."""

import os
import sys
from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.pipeline import case_seeds
from pytest_agorabench.pipeline.generate import generate
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.serving import Servers
from pytest_agorabench.settings import get_setting
from pytest_agorabench.store import Store

pytest.importorskip("openai")  # inspect's vllm provider speaks the OpenAI API

FAKE = Path(__file__).parent / "fake_vllm"
RG = get_setting("math/response_generation")


def test_a_server_killed_mid_generation_is_restarted_and_the_journal_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_VLLM_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]))
    flag = tmp_path / "die-once"
    flag.write_text("")
    monkeypatch.setenv("FAKE_VLLM_DIE_FLAG", str(flag))
    monkeypatch.setenv("FAKE_VLLM_DIE_AFTER", "4")
    store = Store(tmp_path / "store")
    config = build_config({"generator": "vllm/some-org/arithmetic", "instances": 12}, {}, tmp_path)
    servers = Servers(store.servers_dir(), "s1", log_dir=tmp_path / "logs")
    try:
        art = generate(store, RG, case_seeds(RG, config), config, Clock(), servers)
    finally:
        servers.close()
    summary = art.read_json("summary.json")
    rows = art.read_jsonl("rows.jsonl")
    journal = art.read_jsonl("journal.jsonl")
    assert not flag.exists()  # the first server did die
    key = servers.registry.keys()[0]
    assert servers.registry.starts(key, "s1") == 2
    assert summary["requested"] == summary["valid"] == len(rows) == 12
    assert sorted(r["id"] for r in journal) == sorted({r["id"] for r in journal})  # no duplicate
    assert len(journal) == 12
    assert "model_error" not in summary["drops"]
    assert servers.registry.record(key) is None  # stopped at close

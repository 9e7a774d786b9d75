"""The local sandbox on ordinary programs: verdicts, the private directory, the environment, the limits."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

import pytest

from pytest_agorabench.sandbox import Limits
from pytest_agorabench.sandbox._guard import MARKER_PREFIX
from pytest_agorabench.sandbox.local import CommandResult, network_prefix, run_command, workers
from pytest_agorabench.sandbox.programs import verdict



def test_a_program_that_runs_to_its_end_passes(run_program):
    result = run_program("def f(x):\n    return x + 1\nassert f(1) == 2\nprint('done')\n")
    assert result.passed and result.status == "passed"
    assert result.stdout.strip() == "done"  # the marker is ours, not the program's output


def test_a_failing_assert_fails_with_the_exception_as_the_detail(run_program):
    result = run_program("assert 1 + 1 == 3, 'arithmetic'\n")
    assert result.status == "failed" and result.detail == "AssertionError: arithmetic"


def test_a_syntax_error_fails(run_program):
    result = run_program("def broken(:\n    pass\n")
    assert result.status == "failed" and result.detail.startswith("SyntaxError")


def test_the_program_is_not_run_as_main(run_program):
    result = run_program("if __name__ == '__main__':\n    raise SystemExit(3)\nprint(__name__)\n")
    assert result.passed and "__main__" not in result.stdout


def test_printing_a_guessed_marker_and_exiting_zero_does_not_pass(run_program):
    result = run_program(f"import os\nprint('{MARKER_PREFIX}' + '0' * 32)\nos._exit(0)\n")
    assert result.status == "failed" and "before its end" in result.detail


def test_the_program_cannot_read_the_nonce_from_stdin(run_program):
    result = run_program("import sys\nassert sys.stdin.read() == ''\n")
    assert result.passed


def test_environment_is_minimal_and_home_is_the_private_directory(monkeypatch, sandbox_root, run_program):
    monkeypatch.setenv("AGORA_FAKE_API_KEY", "sk-should-never-leak")
    source = (
        "import os\nprint(sorted(os.environ))\n"
        "print(os.environ['HOME'] == os.getcwd() == os.environ['TMPDIR'])\nprint(os.getcwd())\n"
    )
    result = run_program(source)
    assert result.passed
    assert "AGORA_FAKE_API_KEY" not in result.stdout and "sk-should" not in result.stdout
    *_, same, cwd = result.stdout.strip().splitlines()
    assert same == "True" and cwd.startswith(os.path.realpath(sandbox_root))


def test_the_private_directory_is_removed_even_when_the_program_locks_it(sandbox_root, run_program):
    source = "import os\nos.mkdir('locked')\nopen('locked/f', 'w').write('x')\nos.chmod('locked', 0)\nprint(os.getcwd())\n"
    result = run_program(source)
    assert result.passed
    assert list(sandbox_root.iterdir()) == []


def test_files_the_program_writes_in_its_directory_are_fine(run_program):
    result = run_program("open('notes.txt', 'w').write('hi')\nassert open('notes.txt').read() == 'hi'\n")
    assert result.passed


def test_wall_clock_limit_stops_a_sleeping_program(run_program):
    result = run_program("import time\ntime.sleep(60)\n", Limits(wall_seconds=1, cpu_seconds=5))
    assert result.status == "timeout" and result.seconds < 10


def test_cpu_limit_stops_a_busy_program_before_the_wall_clock(run_program):
    result = run_program("while True:\n    pass\n", Limits(wall_seconds=30, cpu_seconds=1))
    assert result.status == "crashed" and ("SIGKILL" in result.detail or "SIGXCPU" in result.detail)
    assert result.seconds < 20


def test_memory_limit_turns_a_large_allocation_into_a_failure(run_program):
    result = run_program("block = bytearray(3 << 30)\n")
    assert result.status in ("failed", "crashed") and not result.passed


def test_output_cap_kills_the_program_and_keeps_the_head(run_program, fast_limits):
    result = run_program("while True:\n    print('y' * 1000)\n")
    assert result.status == "output_limit"
    assert 0 < len(result.stdout) <= fast_limits.output_bytes


def test_file_size_limit(run_program):
    result = run_program("open('big.bin', 'wb').write(b'x' * (64 << 20))\n", Limits(wall_seconds=10, file_bytes=1 << 20))
    assert not result.passed


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (CommandResult(0, "out\nAGORA-SANDBOX-FINISHED-abc\n", "", False, False, 0.1), "passed"),
        (CommandResult(0, "AGORA-SANDBOX-FINISHED-xyz\n", "", False, False, 0.1), "failed"),
        (CommandResult(1, "", "Traceback\nValueError: bad\n", False, False, 0.1), "failed"),
        (CommandResult(-9, "", "", False, False, 0.1), "crashed"),
        # Before STARTED, a failing guard or launcher is a sandbox error inside the namespace boundary only:
        # outside it a program can take the STARTED line and then look like either (test_sandbox_isolation.py).
        (CommandResult(3, "", "agora-sandbox: cannot read\n", False, False, 0.1, True), "error"),
        (CommandResult(1, "", "bwrap: Creating new namespace failed\n", False, False, 0.1, True), "error"),
        (CommandResult(3, "", "agora-sandbox: cannot read\n", False, False, 0.1), "failed"),
        (CommandResult(1, "", "unshare: unshare failed: No space left on device\n", False, False, 0.1), "failed"),
        # After the guard's STARTED line an exit is the program's, whatever it looks like.
        (CommandResult(3, "AGORA-SANDBOX-STARTED\n", "agora-sandbox: no nonce\n", False, False, 0.1), "failed"),
        (CommandResult(1, "AGORA-SANDBOX-STARTED\n", "unshare: unshare failed\n", False, False, 0.1), "failed"),
        (CommandResult(None, "", "", True, False, 5.0), "timeout"),
        (CommandResult(None, "AGORA-SANDBOX-FINISHED-abc", "", False, True, 0.1), "output_limit"),
    ],
)
def test_verdict_needs_exit_zero_and_this_runs_nonce(command, status):
    result = verdict(command, "abc")
    assert result.status == status
    assert f"{MARKER_PREFIX}abc" not in result.stdout  # this run's marker is ours, never shown as output


def test_run_command_kills_what_the_command_left_running(tmp_path, find_processes):
    tag = uuid.uuid4().hex
    script = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', '{tag}'])\n"
    result = asyncio.run(
        run_command([sys.executable, "-c", script], cwd=tmp_path, timeout=20, output_bytes=1000)
    )
    assert result.returncode == 0
    assert find_processes(tmp_path) == []  # the background sleeper died with the group


def test_run_command_wall_clock_kills_the_whole_group(tmp_path, find_processes):
    script = "import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\ntime.sleep(600)\n"
    result = asyncio.run(run_command([sys.executable, "-c", script], cwd=tmp_path, timeout=1.5, output_bytes=1000))
    assert result.timed_out and result.returncode is None
    assert find_processes(tmp_path) == []


@pytest.mark.skipif(not network_prefix(), reason="this machine cannot create a network namespace")
def test_commands_get_an_empty_network_namespace(tmp_path, fallback):
    # Without the guard's audit hook: the kernel alone must leave only the loopback device.
    script = "print(' '.join(line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:]))"
    result = asyncio.run(run_command([sys.executable, "-c", script], cwd=tmp_path, timeout=20, output_bytes=1000))
    assert result.returncode == 0 and result.stdout.split() == ["lo"]


def test_workers_env_var(monkeypatch):
    monkeypatch.setenv("AGORABENCH_SANDBOX_WORKERS", "3")
    assert workers() == 3
    monkeypatch.setenv("AGORABENCH_SANDBOX_WORKERS", "many")
    with pytest.raises(ValueError, match="AGORABENCH_SANDBOX_WORKERS"):
        workers()


def test_programs_run_concurrently_up_to_the_worker_count(monkeypatch, fast_limits):
    from pytest_agorabench.sandbox import local, run_python

    monkeypatch.setenv("AGORABENCH_SANDBOX_WORKERS", "2")
    real, running, peak = local._run, [0], [0]

    async def counting(*args, **kwargs):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        try:
            return await real(*args, **kwargs)
        finally:
            running[0] -= 1

    monkeypatch.setattr(local, "_run", counting)

    async def many():
        return await asyncio.gather(*(run_python(f"assert {i} == {i}\n", fast_limits) for i in range(6)))

    assert all(r.passed for r in asyncio.run(many()))
    assert peak[0] == 2


def test_the_kernel_limits_are_set_on_the_program(run_program):
    limits = Limits(wall_seconds=5, cpu_seconds=3, memory_bytes=700 << 20, file_bytes=5 << 20, open_files=40)
    source = (
        "import resource as r\n"
        "for name in ('CPU', 'AS', 'FSIZE', 'NOFILE', 'CORE', 'NPROC'):\n"
        "    print(name, *r.getrlimit(getattr(r, 'RLIMIT_' + name)))\n"
    )
    result = run_program(source, limits)
    assert result.passed
    got = {name: (int(soft), int(hard)) for name, soft, hard in (line.split() for line in result.stdout.splitlines())}
    assert got["CPU"] == (3, 3) and got["AS"] == (700 << 20,) * 2 and got["FSIZE"] == (5 << 20,) * 2
    assert got["NOFILE"] == (40, 40) and got["CORE"] == (0, 0)
    assert 0 < got["NPROC"][0] < 100_000  # bounded: the user's current processes plus a small headroom

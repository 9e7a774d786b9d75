"""The operating-system boundary (sandbox/isolation.py, issue 21): what a program can reach of the host
with no help from the guard's audit hook, and a verdict that a program cannot turn into a sandbox error.

The host checks run a bare program (no guard, no hook) through ``run_command``, the path every sandboxed
command takes; each is also run without the boundary, where it must reach the host, so a check that could
not fail is caught.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agorabench.sandbox import isolation as isolation_module
from pytest_agorabench.sandbox import programs
from pytest_agorabench.sandbox.isolation import INSIDE_UID, IsolationUnavailable, check_required, isolation
from pytest_agorabench.sandbox.local import CommandResult, run_command
from pytest_agorabench.sandbox.programs import verdict

REPO = Path(__file__).resolve().parents[3]
FOUND = isolation()
needs_boundary = pytest.mark.skipif(not FOUND.isolated, reason=f"no namespace boundary on this machine: {FOUND.detail}")

HOST_PROBE = r'''
import os, sys
checkout, secret, parent = sys.argv[1], sys.argv[2], int(sys.argv[3])

class Lying(str):  # a path object that tells a checker a harmless story; the kernel sees the real text
    def startswith(self, *args):
        return True

def attempt(name, action):
    try:
        action()
        print(name, "REACHED")
    except BaseException as exc:
        print(name, "refused", type(exc).__name__)

attempt("write-checkout", lambda: open(Lying(os.path.join(checkout, "agora-escape")), "w").close())
attempt("write-root", lambda: os.close(os.open("/agora-escape", os.O_CREAT | os.O_WRONLY)))
attempt("read-checkout", lambda: open(os.path.join(checkout, "pyproject.toml")).read())
attempt("read-home", lambda: open(secret).read())
attempt("read-parent-proc", lambda: open(f"/proc/{parent}/cmdline", "rb").read())
attempt("read-own-mem", lambda: open("/proc/self/mem", "rb").close())
attempt("signal-parent", lambda: os.kill(parent, 0))
print("uid", os.getuid(), os.geteuid())
'''


def _probe(tmp_path: Path, secret: Path) -> dict[str, str]:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "probe.py").write_text(HOST_PROBE)
    argv = [sys.executable, "-I", "-S", "probe.py", str(REPO), str(secret), str(os.getpid())]
    result = asyncio.run(run_command(argv, cwd=workdir, timeout=30, output_bytes=1 << 16))
    assert result.returncode == 0, result
    return {line.split()[0]: " ".join(line.split()[1:]) for line in result.stdout.splitlines()}


@pytest.fixture
def home_secret():
    """A file of our own under the invoking user's home (removed afterwards)."""
    path = Path.home() / f".agora-isolation-test-{secrets.token_hex(4)}"
    path.write_text("not for programs")
    yield path
    path.unlink()


@needs_boundary
def test_inside_the_boundary_a_program_reaches_nothing_of_the_host(tmp_path, home_secret):
    seen = _probe(tmp_path, home_secret)
    for route in ("write-checkout", "write-root", "read-checkout", "read-home", "read-parent-proc",
                  "read-own-mem", "signal-parent"):
        assert seen[route].startswith("refused"), (route, seen)
    assert seen["uid"] == f"{INSIDE_UID} {INSIDE_UID}", seen
    assert not (REPO / "agora-escape").exists()


@needs_boundary
def test_without_the_boundary_the_same_program_reaches_the_host(tmp_path, home_secret, fallback):
    # The stand-in: the fallback path, as on a machine without bwrap. The probe must reach what the
    # boundary hides, or the test above could not fail.
    seen = _probe(tmp_path, home_secret)
    assert seen["read-checkout"] == "REACHED" and seen["read-home"] == "REACHED", seen
    assert seen["read-parent-proc"] == "REACHED" and seen["signal-parent"] == "REACHED", seen
    escaped = REPO / "agora-escape"
    if seen["write-checkout"] == "REACHED":
        escaped.unlink()  # ours: the probe just made it


def _none():
    return isolation_module.Isolation("none", "turned off by the test")


@needs_boundary
def test_programs_and_the_agora_inspect_sandbox_run_inside_it():
    from pytest_agorabench.sandbox import run_python
    from pytest_agorabench.sandbox.inspect_env import AgoraSandboxEnvironment

    source = "import os\nprint(os.getuid(), os.path.exists('/proc/self'), os.getpid())\n"
    local_run = asyncio.run(run_python(source))
    assert local_run.passed and local_run.stdout.split() == [str(INSIDE_UID), "False", "2"], local_run

    async def in_inspect():
        env = AgoraSandboxEnvironment()
        try:
            return await run_python(source, sandbox=env)
        finally:
            env.cleanup()

    sampled = asyncio.run(in_inspect())
    assert sampled.passed and sampled.stdout.split()[:2] == [str(INSIDE_UID), "False"], sampled


def test_a_missing_start_line_is_a_sandbox_error_only_inside_the_boundary():
    # Outside it, a program can reopen its stdout through /proc and take the guard's line, then exit
    # like a failing guard: that must score as its failure, never stop an evaluation.
    faked = dict(returncode=3, stdout="", stderr="agora-sandbox: cannot read the nonce\n", timed_out=False,
                 output_limited=False, seconds=0.1)
    assert verdict(CommandResult(**faked, isolated=False), "n").status == "failed"
    assert verdict(CommandResult(**faked, isolated=True), "n").status == "error"
    bwrap_failed = {**faked, "returncode": 1, "stderr": "bwrap: Creating new namespace failed\n"}
    assert verdict(CommandResult(**bwrap_failed, isolated=True), "n").status == "error"
    assert verdict(CommandResult(**bwrap_failed, isolated=False), "n").status == "failed"


STEAL_STARTED = r'''
import os
reader = os.open("/proc/self/fd/1", os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(reader, 4096)  # the guard's STARTED line, if the parent has not read it yet
except OSError:
    pass
os.write(2, b"agora-sandbox: cannot read the nonce\n")
os._exit(3)
'''


def test_a_program_that_takes_the_start_line_fails_and_never_raises_out_of_the_scorer(fallback):
    from pytest_agorabench.evaluation.code_benchmarks import score_humaneval

    for _ in range(3):
        result = asyncio.run(programs.run_python(STEAL_STARTED))
        assert result.status == "failed", result
    item = {"prompt": "def f():\n", "test": "def check(candidate):\n    assert candidate() == 1\n", "entry_point": "f"}
    completion = "    return 2\n" + STEAL_STARTED  # a wrong answer, then the theft at module level
    score, _, _ = asyncio.run(score_humaneval(completion, item))
    assert score == 0.0


@needs_boundary
def test_a_guard_that_cannot_start_inside_the_boundary_is_a_sandbox_error(tmp_path):
    nonce = secrets.token_hex(16)
    argv = [sys.executable, "-I", "-S", "missing_guard.py"]
    result = asyncio.run(run_command(argv, cwd=tmp_path, timeout=30, output_bytes=1 << 16, stdin=f"{nonce}\n".encode()))
    assert result.isolated and verdict(result, nonce).status == "failed"  # python's own error, not the guard's
    (tmp_path / "agora_guard.py").write_text(programs.GUARD_SOURCE)
    broken = [sys.executable, "-I", "-S", "agora_guard.py", "no-such-program.py", *["1"] * 6]
    result = asyncio.run(run_command(broken, cwd=tmp_path, timeout=30, output_bytes=1 << 16, stdin=f"{nonce}\n".encode()))
    assert verdict(result, nonce).status == "error", result


def test_isolated_is_required_when_asked_and_refused_where_missing(monkeypatch):
    monkeypatch.setenv("AGORABENCH_SANDBOX", "isolated")
    monkeypatch.setattr(isolation_module, "isolation", lambda python=sys.executable: _none())
    with pytest.raises(IsolationUnavailable, match="cannot isolate sandboxed programs: turned off by the test"):
        check_required()
    monkeypatch.setenv("AGORABENCH_SANDBOX", "agora")
    check_required()  # not asked for: the fallback is allowed and reported


def _attacks() -> dict[str, str]:
    from tests.unit.sandbox import test_sandbox_forgery as forgery

    return {
        **{f"reach main: {k}": v for k, v in forgery.REACH_MAIN.items()},
        **{f"refused: {k}": v for k, (v, _) in forgery.REFUSED.items()},
        **{f"find nothing: {k}": v for k, (v, _) in forgery.FIND_NOTHING.items()},
        "renamed sub-interpreter module": forgery.RENAMED_INTERPRETERS,
    }


@needs_boundary
@pytest.mark.parametrize("route", sorted(_attacks()))
def test_every_forgery_attack_fails_in_the_default_sandbox(route, run_default):
    # The same attacks the hook's tests run on the fallback (test_sandbox_forgery.py, where each is shown to
    # forge a weakened guard), here through the sandbox as CI and users get it.
    from tests.unit.sandbox.test_sandbox_forgery import PRELUDE

    result = run_default(PRELUDE + _attacks()[route])
    assert result.status in ("failed", "crashed"), result


@needs_boundary
def test_inside_the_boundary_there_is_no_network(tmp_path):
    script = (
        "import socket\ntry:\n    socket.create_connection(('10.255.255.1', 9), timeout=2)\n    print('REACHED')\n"
        "except OSError as exc:\n    print('refused', exc.errno)\n"
    )
    result = asyncio.run(run_command([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, timeout=20, output_bytes=1000))
    assert result.isolated and result.stdout.startswith("refused"), result


@needs_boundary
def test_threads_work_inside_it(run_default):
    # For a user other than root, RLIMIT_NPROC counts the whole machine's processes of that uid, which the
    # guard cannot see without /proc: the parent adds them (guard_command). Root is not bound by the limit,
    # so as root this checks only that the boundary leaves threads alone.
    source = "import threading\nt = threading.Thread(target=print, args=('in a thread',))\nt.start()\nt.join()\n"
    result = run_default(source)
    assert result.passed and "in a thread" in result.stdout, result


SYSCALLS = r'''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    result = getattr(libc, name)(*args)
    print(name, result, ctypes.get_errno())
call("ptrace", 0, 0, 0, 0)  # PTRACE_TRACEME: allowed to anyone, unless filtered
call("unshare", 0x00020000)  # CLONE_NEWNS
call("process_vm_readv", os.getpid(), None, 0, None, 0, 0)
'''


@needs_boundary
@pytest.mark.skipif(isolation_module.seccomp_program() is None, reason="no seccomp filter here (pyseccomp or libseccomp missing)")
def test_the_seccomp_filter_refuses_tracing_namespaces_and_other_memory(tmp_path):
    # A bare program with ctypes (no guard, no hook): the kernel's filter alone answers EPERM (1). The
    # stand-in is the same program outside the boundary, where the same calls succeed.
    (tmp_path / "calls.py").write_text(SYSCALLS)
    argv = [sys.executable, "-I", "-S", "calls.py"]
    inside = asyncio.run(run_command(argv, cwd=tmp_path, timeout=20, output_bytes=1 << 12))
    assert inside.isolated and inside.stdout.split("\n")[:3] == ["ptrace -1 1", "unshare -1 1", "process_vm_readv -1 1"], inside
    outside = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=20)
    assert outside.stdout.startswith("ptrace 0 "), outside


@needs_boundary
def test_in_an_inspect_sample_our_sandbox_is_seen_through_inspect_s_proxy():
    # Inside a sample inspect hands our environment out wrapped; programs must still run with our
    # interpreter inside the boundary (they ran with the system's python3 and no boundary when the wrapper
    # hid it), and a foreign sandbox must not be taken for ours.
    from inspect_ai.util._sandbox.events import SandboxEnvironmentProxy

    from pytest_agorabench.sandbox import run_python
    from pytest_agorabench.sandbox.inspect_env import AgoraSandboxEnvironment

    source = "import os, sys\nprint(os.getuid(), os.path.exists('/proc/self'), sys.executable)\n"

    async def in_sample():
        env = AgoraSandboxEnvironment()
        try:
            return await run_python(source, sandbox=SandboxEnvironmentProxy(env))
        finally:
            env.cleanup()

    result = asyncio.run(in_sample())
    assert result.passed and result.stdout.split() == [str(INSIDE_UID), "False", os.path.realpath(sys.executable)], result
    assert programs._is_ours(SandboxEnvironmentProxy(AgoraSandboxEnvironment.__new__(AgoraSandboxEnvironment)))
    assert not programs._is_ours(SandboxEnvironmentProxy(object.__new__(SandboxEnvironmentProxy)))

"""Process-level side of the local sandbox: one command in its own session, under a wall clock.

``run_command`` starts the command in a new session (so it and everything it starts form one process group),
with a minimal environment (the host's variables, API keys included, are not passed), the private directory
as cwd, HOME and TMPDIR, and a fresh network namespace when the machine allows one. Output is read as it
comes and the group is killed the moment a stream passes its cap, when the wall clock runs out, and in any
case once the command ends, so no process it started outlives it. At most ``workers()`` commands run at
once per event loop: a program's wall clock starts when it starts, not while it queues.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from typing import Any
from functools import lru_cache
from pathlib import Path

from pytest_agorabench.environment import SANDBOX_NETNS, SANDBOX_WORKERS

WORKERS_ENV = SANDBOX_WORKERS.name
NETNS_ENV = SANDBOX_NETNS.name  # "0" turns the network namespace off
_READ_CHUNK = 1 << 16
_DRAIN_SECONDS = 2.0  # after the group is killed, how long to wait for the pipes to close
_POLL_SECONDS = 0.01  # exit polling where pidfds are missing (non-Linux, old kernels)
_semaphores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class CommandResult:
    returncode: int | None  # None when the command was killed by us (timeout, output cap)
    stdout: str
    stderr: str
    timed_out: bool
    output_limited: bool
    seconds: float
    isolated: bool = False  # it ran inside the namespace boundary (isolation.py)


def workers() -> int:
    """Programs run at once: ``AGORABENCH_SANDBOX_WORKERS`` or the CPUs this process may use."""
    configured = SANDBOX_WORKERS.get()
    if configured is not None:
        return configured
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    sem = _semaphores.get(loop)
    if sem is None:
        sem = _semaphores[loop] = asyncio.Semaphore(workers())
    return sem


@lru_cache(maxsize=1)
def network_prefix() -> tuple[str, ...]:
    """``unshare`` arguments that give the command an empty network namespace, or () when unavailable.

    Root can create one directly; other users need a user namespace too (``-r``), which some container
    runtimes forbid. Probed once per process by running ``true`` under it.
    """
    if not SANDBOX_NETNS.get() or not sys.platform.startswith("linux"):
        return ()
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    prefix = (unshare, "--net") if os.geteuid() == 0 else (unshare, "--map-root-user", "--net")
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ()
    return prefix if probe.returncode == 0 else ()


def minimal_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment a sandboxed command sees: nothing of the host's."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    env.update(extra or {})
    return env


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _ExitWatch:
    """Sets ``event`` when the process itself exits. ``proc.wait()`` would also wait for its pipes to close,
    which a background process it started keeps open: a pidfd (Linux 5.3+) wakes us at once; elsewhere the
    return code is polled."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._poller: asyncio.Future | None = None
        try:
            self._fd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            self._fd = None
            self._poller = asyncio.ensure_future(self._poll(proc))
        else:
            self._loop.add_reader(self._fd, self.event.set)

    async def _poll(self, proc: asyncio.subprocess.Process) -> None:
        while proc.returncode is None:
            await asyncio.sleep(_POLL_SECONDS)
        self.event.set()

    def close(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._poller is not None:
            self._poller.cancel()


async def _finish(proc: asyncio.subprocess.Process, pumps: list[asyncio.Future]) -> None:
    """After the group is killed: reap the process and collect its output, bounded in time."""
    try:
        await asyncio.wait_for(proc.wait(), _DRAIN_SECONDS)
    except asyncio.TimeoutError:
        transport = getattr(proc, "_transport", None)  # an escaped process still holds the pipes
        if transport is not None:
            transport.close()
    _, pending = await asyncio.wait(pumps, timeout=_DRAIN_SECONDS)
    for task in pending:
        task.cancel()


async def run_command(
    argv: list[str],
    *,
    cwd: Path,
    timeout: float,
    output_bytes: int,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` as described in the module docstring; never raises for what the command does."""
    async with _semaphore():
        return await _run(argv, cwd=Path(cwd), timeout=timeout, output_bytes=output_bytes, stdin=stdin, env=env)


def boxed_argv(argv: list[str], cwd: Path, seccomp: int | None = None) -> tuple[list[str], bool]:
    """The command line that runs ``argv`` in ``cwd`` inside the namespace boundary where this machine has
    one (and whether it does), else inside a fresh network namespace where it can. ``seccomp``: the
    filter's descriptor for bwrap (isolation.seccomp_fd)."""
    from pytest_agorabench.sandbox.isolation import bwrap_prefix, inside_argv, isolation

    if isolation().isolated:
        bwrap = shutil.which("bwrap")
        if bwrap is not None:
            return [*bwrap_prefix(bwrap, cwd, argv[0], seccomp), *inside_argv(argv)], True
    return [*network_prefix(), *argv], False


async def _run(
    argv: list[str], *, cwd: Path, timeout: float, output_bytes: int, stdin: bytes, env: dict[str, str] | None
) -> CommandResult:
    from pytest_agorabench.sandbox.isolation import isolation, seccomp_fd

    start = time.perf_counter()
    seccomp = seccomp_fd() if isolation().isolated else None
    try:
        command, isolated = boxed_argv(argv, cwd, seccomp)
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=str(cwd),
            env=minimal_env(cwd, env),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group: one killpg reaches every process it starts
            pass_fds=() if seccomp is None else (seccomp,),
        )
    finally:
        if seccomp is not None:
            os.close(seccomp)  # the child has its copy; bwrap reads it before the command starts
    pgid = proc.pid  # a session leader's group id is its pid
    over_limit = asyncio.Event()
    buffers = (bytearray(), bytearray())

    async def pump(stream: asyncio.StreamReader, into: bytearray) -> None:
        while chunk := await stream.read(_READ_CHUNK):
            room = output_bytes - len(into)
            into += chunk[: max(room, 0)]
            if len(chunk) > room:
                over_limit.set()
                _kill_group(pgid)
                return

    assert proc.stdout and proc.stderr and proc.stdin
    pumps = [asyncio.ensure_future(pump(s, b)) for s, b in zip((proc.stdout, proc.stderr), buffers)]
    try:
        proc.stdin.write(stdin)
        await proc.stdin.drain()
        proc.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # it exited before reading its input; its exit status tells the rest
    watch = _ExitWatch(proc)
    ended = asyncio.ensure_future(watch.event.wait())
    limit_hit = asyncio.ensure_future(over_limit.wait())
    timed_out = False
    try:
        done, _ = await asyncio.wait({ended, limit_hit}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        timed_out = not done
    finally:
        _kill_group(pgid)  # also reaps anything it left running in the background
        watch.close()
        ended.cancel()
        limit_hit.cancel()
        await _finish(proc, pumps)
    limited = over_limit.is_set()
    killed_by_us = timed_out or limited
    return CommandResult(
        returncode=None if killed_by_us else proc.returncode,
        stdout=buffers[0].decode("utf-8", errors="replace"),
        stderr=buffers[1].decode("utf-8", errors="replace"),
        timed_out=timed_out,
        output_limited=limited,
        seconds=time.perf_counter() - start,
        isolated=isolated,
    )


def remove_tree(path: Path) -> None:
    """Remove the private directory even if the program took permissions away from its entries."""

    def retry(func: Any, name: str, _exc: Any) -> None:
        try:
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
            func(name)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)

"""Run one untrusted Python program in a sandbox and say whether it ran to its end.

The program and our guard (``_guard.py``) are written into the sandbox's directory, and the guard is run
with the limits as arguments and a fresh nonce on stdin. The verdict is "passed" only when the command exited 0
*and* printed the guard's marker with that nonce: the marker is written after the program's last line
(our tests, appended to the code), so exiting early with status 0 cannot pass. It is "error" (the sandbox
failed, not the program) only when the guard never said ``STARTED``: after that, any exit is the program's.

Where it runs: by default a private temporary directory on this machine through ``local.run_command``;
given an inspect ``SandboxEnvironment`` (our ``agora`` one, or docker, ...) it goes through that.
"""

from __future__ import annotations

import math
import os
import secrets
import signal
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.environment import SANDBOX_DROP_ROOT, SANDBOX_PYTHON
from pytest_agorabench.sandbox._guard import ARGUMENTS, EXIT_SETUP, MARKER_PREFIX, STARTED
from pytest_agorabench.sandbox._guard import _count_processes as count_processes
from pytest_agorabench.sandbox.isolation import isolation
from pytest_agorabench.sandbox.limits import Limits
from pytest_agorabench.sandbox.local import CommandResult, remove_tree, run_command

if TYPE_CHECKING:
    from inspect_ai.util import SandboxEnvironment

GUARD_FILE = "agora_guard.py"
PROGRAM_FILE = "program.py"
GUARD_SOURCE = (Path(__file__).with_name("_guard.py")).read_text(encoding="utf-8")
NOBODY = 65534
DROP_ROOT_ENV = SANDBOX_DROP_ROOT.name  # "0": never run programs as another uid
# The interpreter programs run on (default: ours). As root, pick one uid 65534 can read (e.g. /usr/bin/python3)
# when ours lives in a private home, so programs run unprivileged.
PYTHON_ENV = SANDBOX_PYTHON.name
STATUSES = ("passed", "failed", "timeout", "output_limit", "crashed", "error")  # error: the sandbox failed


class SandboxError(AgoraBenchError, RuntimeError):
    """The sandbox could not run a program at all; scoring it as a failure would blame the program."""


@dataclass(frozen=True)
class ProgramResult:
    status: str  # one of STATUSES
    detail: str  # why, in one line: the exception, the signal, the limit
    seconds: float
    stdout: str = ""
    stderr: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"


def _tail_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def verdict(result: CommandResult, nonce: str) -> ProgramResult:
    """Classify a finished run of the guard. Only a failure the program cannot fake is a sandbox error: one
    before the guard's ``STARTED`` line inside the namespace boundary, where the program has no ``/proc`` to
    reopen its own stdout and steal that line. Elsewhere every failure is the program's (a guard that could
not start it fails it: our bug would show as failures, never as a program's forged sandbox error)."""
    marker = f"{MARKER_PREFIX}{nonce}"
    started = result.stdout.startswith(f"{STARTED}\n")  # the guard's first write, before the program's
    out = result.stdout[len(STARTED) + 1 :] if started else result.stdout
    out = out.replace(f"\n{marker}\n", "").replace(marker, "")
    common = {"seconds": result.seconds, "stdout": out[-4000:], "stderr": result.stderr[-4000:]}
    if result.timed_out:
        return ProgramResult("timeout", "the wall-clock limit ran out", **common)
    if result.output_limited:
        return ProgramResult("output_limit", "the program wrote more output than allowed", **common)
    code = result.returncode
    if code == 0 and marker in result.stdout:
        return ProgramResult("passed", "", **common)
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = " (its CPU limit)" if name == "SIGXCPU" else ""  # SIGKILL: the CPU hard limit, or itself
        return ProgramResult("crashed", f"killed by {name}{why}", **common)
    if not started and result.isolated and (code == EXIT_SETUP or result.stderr.startswith("bwrap:")):
        # The sandbox, not the program, failed (bwrap could not set up, the guard could not start it).
        return ProgramResult("error", _tail_line(result.stderr) or "the sandbox guard failed", **common)
    if code == 0:
        return ProgramResult("failed", "exited before its end without an error", **common)
    return ProgramResult("failed", _tail_line(result.stderr) or f"exit status {code}", **common)


def _files(source: str) -> dict[str, str]:
    return {PROGRAM_FILE: source, GUARD_FILE: GUARD_SOURCE}


def guard_command(python: str, limits: Limits, run_as: int | None, isolated: bool = False) -> list[str]:
    """The command that runs the guard around ``program.py`` (argument order: ``_guard.ARGUMENTS``)."""
    config: dict[str, Any] = {"program": PROGRAM_FILE, **limits.child_config()}
    config["run_as_uid"] = -1 if run_as is None else run_as
    if isolated:
        # RLIMIT_NPROC counts our uid's processes across the machine, and inside the boundary the guard has
        # no /proc to count them: the parent counts for it.
        config["max_processes"] += count_processes(os.geteuid())
    return [python, "-I", "-S", GUARD_FILE, *(str(config[name]) for name in ARGUMENTS)]


async def _run_local(source: str, limits: Limits, python: str, run_as: int | None, isolated: bool) -> ProgramResult:
    workdir = Path(tempfile.mkdtemp(prefix="agora-sandbox-"))
    try:
        for name, text in _files(source).items():
            (workdir / name).write_text(text, encoding="utf-8")
        nonce = secrets.token_hex(16)
        result = await run_command(
            guard_command(python, limits, run_as, isolated),
            cwd=workdir,
            timeout=limits.wall_seconds,
            output_bytes=limits.output_bytes,
            stdin=f"{nonce}\n".encode(),
        )
        return verdict(result, nonce)
    finally:
        remove_tree(workdir)


async def _run_in(
    sandbox: SandboxEnvironment, source: str, limits: Limits, python: str, run_as: int | None, isolated: bool
) -> ProgramResult:
    from inspect_ai.util import OutputLimitExceededError

    for name, text in _files(source).items():
        await sandbox.write_file(name, text)
    nonce = secrets.token_hex(16)
    try:
        done = await sandbox.exec(
            guard_command(python, limits, run_as, isolated),
            input=f"{nonce}\n",
            timeout=max(1, math.ceil(limits.wall_seconds)),
            timeout_retry=False,
        )
    except TimeoutError:
        return ProgramResult("timeout", "the wall-clock limit ran out", limits.wall_seconds)
    except OutputLimitExceededError:
        return ProgramResult("output_limit", "the program wrote more output than allowed", 0.0)
    result = CommandResult(done.returncode, done.stdout, done.stderr, False, False, 0.0, isolated)
    return verdict(result, nonce)


@lru_cache(maxsize=8)
def unprivileged_uid(python: str = sys.executable) -> int | None:
    """As root, the uid programs run as when ``python`` stays usable for it; otherwise None.

    The probe runs a program that imports stdlib modules as that uid: an interpreter installed under a
    private home (e.g. pyenv in /root) is unreadable to it, and then programs keep our uid.
    """
    if os.geteuid() != 0 or not SANDBOX_DROP_ROOT.get():
        return None
    import subprocess

    from pytest_agorabench.sandbox.local import minimal_env

    probe = "import fractions, statistics, heapq, json\nassert fractions.Fraction(1, 2) * 2 == 1\n"
    workdir = Path(tempfile.mkdtemp(prefix="agora-sandbox-probe-"))
    try:
        for name, text in _files(probe).items():
            (workdir / name).write_text(text, encoding="utf-8")
        nonce = secrets.token_hex(16)
        done = subprocess.run(
            guard_command(python, Limits(), NOBODY),
            input=f"{nonce}\n".encode(),
            capture_output=True,
            cwd=workdir,
            env=minimal_env(workdir),
            timeout=60,
            start_new_session=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        remove_tree(workdir)
    result = CommandResult(done.returncode, done.stdout.decode(errors="replace"), "", False, False, 0.0)
    return NOBODY if verdict(result, nonce).passed else None


def _is_ours(sandbox: SandboxEnvironment) -> bool:
    """Whether an inspect sandbox is our ``agora`` one; inside a sample inspect hands it out wrapped in a
    proxy that records events, which ``as_type`` sees through."""
    from pytest_agorabench.sandbox.inspect_env import AgoraSandboxEnvironment

    if isinstance(sandbox, AgoraSandboxEnvironment):
        return True
    try:
        sandbox.as_type(AgoraSandboxEnvironment)
    except (AttributeError, TypeError):
        return False
    return True


async def run_python(
    source: str,
    limits: Limits | None = None,
    *,
    sandbox: SandboxEnvironment | None = None,
    python: str | None = None,
) -> ProgramResult:
    """Run ``source`` under ``limits`` (default: ``Limits().scaled()``) and classify how it ended.

    ``sandbox``: an inspect sandbox to run in instead of a local private directory; ``python``: the
    interpreter there (default: ours locally and in the ``agora`` sandbox, ``python3`` elsewhere).
    """
    limits = limits or Limits().scaled()
    if sandbox is not None and not _is_ours(sandbox):
        return await _run_in(sandbox, source, limits, python or "python3", None, False)
    # Ours runs on this machine with our interpreter: inside the namespace boundary it already runs as uid
    # 65534 with nothing of ours mounted; without it, as root, the guard drops to 65534 where it can.
    python = python or SANDBOX_PYTHON.get() or sys.executable
    isolated = isolation().isolated
    run_as = None if isolated else unprivileged_uid(python)
    if sandbox is None:
        return await _run_local(source, limits, python, run_as, isolated)
    return await _run_in(sandbox, source, limits, python, run_as, isolated)

"""The operating-system boundary around every sandboxed command: bubblewrap namespaces where the kernel allows.

Each command runs under ``bwrap`` in new user, mount, PID, network, IPC, UTS and cgroup namespaces, as uid and
gid 65534 inside, with a filesystem made of: the interpreter's installation and the system's ``/usr``
read-only (the programs' standard library and the shared libraries it links), the command's own directory
writable at its own path, a private tmpfs ``/tmp``, a minimal ``/dev``, and a read-only root holding them.
Nothing else of the host is there:
no home, no checkout, no store, no ``/etc`` beyond the loader cache, and no ``/proc`` at all (no process's
memory, environment or file descriptors, its own included). It cannot create further user namespaces, its
session is new (no terminal to inject into), and it dies with its parent.

Where bubblewrap is missing or the kernel refuses unprivileged namespaces, ``isolation()`` says so and the
sandbox falls back to what it did before (a network namespace through ``unshare`` and the guard's checks);
``AGORABENCH_SANDBOX=isolated`` makes that a start-up error instead. The probe runs once per process.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pytest_agorabench.environment import SANDBOX
from pytest_agorabench.errors import AgoraBenchError

INSIDE_UID = 65534  # nobody: never root inside, never a uid that owns anything
# Top-level host paths that may be symlinks into /usr (merged /usr) or real directories of system libraries.
_SYSTEM_DIRS = ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin")
_LOADER_CACHE = "/etc/ld.so.cache"


class IsolationUnavailable(AgoraBenchError, RuntimeError):
    """``AGORABENCH_SANDBOX=isolated`` was asked for and this machine cannot give it."""


@dataclass(frozen=True)
class Isolation:
    kind: str  # "bwrap": the namespace boundary; "none": the fallback (network namespace and guard only)
    detail: str  # for people: what runs, or why the boundary is missing

    @property
    def isolated(self) -> bool:
        return self.kind == "bwrap"

    def describe(self) -> str:
        return f"{self.kind} ({self.detail})"


def _real_program(name: str) -> str:
    """A command's executable as a real path: a bare name is looked up on the sandbox's PATH."""
    if os.sep not in name:
        name = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin") or name
    return os.path.realpath(name)


def interpreter_root(python: str) -> Path:
    """The installation a Python executable belongs to (``<root>/bin/python3.x``), symlinks resolved."""
    return Path(_real_program(python)).parent.parent


# System calls a test program has no use for and that reach past the namespaces: other processes' memory
# (ptrace, process_vm_*), mounts and namespaces, the kernel keyring, BPF, perf, userfaultfd, modules,
# file handles that open by inode. Refused with EPERM by a seccomp filter (libseccomp through pyseccomp).
DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "unshare", "setns",
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load",
    "init_module", "finit_module", "delete_module", "open_by_handle_at", "fsopen", "fsmount", "move_mount",
    "open_tree",
)


@lru_cache(maxsize=1)
def seccomp_program() -> bytes | None:
    """The compiled filter (classic BPF, as ``bwrap --seccomp`` reads it), or None where libseccomp is
    missing; built once per process."""
    try:
        import pyseccomp

        rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            rules.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
        with tempfile.TemporaryFile() as handle:
            rules.export_bpf(handle)
            handle.seek(0)
            return handle.read()
    except Exception:  # noqa: BLE001 - no pyseccomp, no libseccomp.so, an unknown syscall name: no filter
        return None


def seccomp_fd() -> int | None:
    """A fresh descriptor holding the filter for one bwrap run (it reads it once), or None. The caller
    passes it to the child and closes it after the start."""
    program = seccomp_program()
    if program is None:
        return None
    fd = os.memfd_create("agora-seccomp") if hasattr(os, "memfd_create") else None
    if fd is None:
        return None
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def bwrap_prefix(bwrap: str, workdir: Path, python: str, seccomp: int | None = None) -> list[str]:
    """``bwrap`` arguments that run a command inside the boundary, with ``workdir`` as its cwd; ``seccomp``:
    a descriptor of the filter (``seccomp_fd``) the child inherits."""
    workdir = Path(os.path.realpath(workdir))
    args = [
        bwrap,
        "--unshare-all",  # ipc, pid, net, uts, cgroup (and user where it can)
        "--unshare-user",  # required: the uid inside is ours to choose, and no further namespaces
        "--uid", str(INSIDE_UID),
        "--gid", str(INSIDE_UID),
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--ro-bind", "/usr", "/usr",
    ]
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    if os.path.isfile(_LOADER_CACHE):
        args += ["--ro-bind", _LOADER_CACHE, _LOADER_CACHE]
    root = interpreter_root(python)
    if root != Path("/usr") and root != Path("/"):
        args += ["--ro-bind", str(root), str(root)]
    args += [
        "--tmpfs", "/tmp",
        "--dev", "/dev",
        "--bind", str(workdir), str(workdir),  # after /tmp: the directory usually lives under it
        "--chdir", str(workdir),
        "--remount-ro", "/",  # the private root itself: writes go to the directory or /tmp only
    ]
    if seccomp is not None:
        args += ["--seccomp", str(seccomp)]
    return args


def inside_argv(argv: list[str]) -> list[str]:
    """The command as it runs inside: a Python named through a symlink (a venv's ``bin/python``) is run by
    its real path, which the boundary mounts; the venv itself is not there."""
    first = argv[0]
    if os.path.basename(first).startswith("python"):
        first = _real_program(first)
    return [first, *argv[1:]]


@lru_cache(maxsize=4)
def isolation(python: str = sys.executable) -> Isolation:
    """Which boundary this machine gives commands run with ``python``: probed once by running it inside."""
    if not sys.platform.startswith("linux"):
        return Isolation("none", "namespaces are Linux only")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Isolation("none", "bubblewrap (bwrap) is not installed; e.g. apt-get install bubblewrap")
    probe_dir = Path(os.path.realpath(tempfile.mkdtemp(prefix="agora-isolation-probe-")))
    seccomp = seccomp_fd()
    try:
        command = [
            *bwrap_prefix(bwrap, probe_dir, python, seccomp),
            *inside_argv([python, "-I", "-S", "-c", "import os; print(os.getuid(), os.path.exists('/proc/1'))"]),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
            pass_fds=() if seccomp is None else (seccomp,),
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Isolation("none", f"bwrap could not start: {exc}")
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
        if seccomp is not None:
            os.close(seccomp)
    if done.returncode != 0 or done.stdout.split() != [str(INSIDE_UID), "False"]:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1][:200]
        return Isolation("none", f"bwrap failed here ({why}): the kernel may forbid unprivileged namespaces")
    filtered = "a seccomp filter" if seccomp is not None else "no seccomp filter (pyseccomp or libseccomp missing)"
    return Isolation(
        "bwrap", f"{bwrap}: own user/mount/pid/net/ipc namespaces, uid {INSIDE_UID}, no /proc, {filtered}"
    )


def required() -> bool:
    """``AGORABENCH_SANDBOX=isolated``: the boundary is required, its absence a start-up error."""
    return SANDBOX.get()[0] == "isolated"


def check_required(python: str = sys.executable) -> None:
    """Raise ``IsolationUnavailable`` (with the reason) when isolation is required and missing."""
    if not required():
        return
    found = isolation(python)
    if not found.isolated:
        raise IsolationUnavailable(
            f"AGORABENCH_SANDBOX=isolated, but this machine cannot isolate sandboxed programs: {found.detail}"
        )

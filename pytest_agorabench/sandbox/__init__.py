"""The sandbox that every code scorer runs untrusted programs in (generated or student-written code).

``run_python(source)`` runs one program and returns a ``ProgramResult`` (passed / failed / timeout /
output_limit / crashed / error). What is enforced, layer by layer:

Always, by the kernel or by the parent process (``local.py``, ``_guard.py``):
- its own process in its own session; the whole process group is killed on timeout, when an output stream
  passes its cap, and when the program ends, so nothing it started is left running;
- a wall-clock limit (parent) and RLIMIT_CPU, RLIMIT_AS (memory), RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE=0
  and RLIMIT_NPROC (the guard sets them on itself before the program runs); time limits are multiplied by
  ``timeout_scale()`` (``AGORABENCH_TIMEOUT_SCALE`` or a per-process calibration loop);
- a private temporary directory as cwd, HOME and TMPDIR, removed afterwards; a minimal environment (no host
  variables, so no API keys); stdin empty;
- a verdict that needs the guard's marker with a per-run nonce, written only after the program's last line:
  ``sys.exit(0)`` or ``os._exit(0)`` before the tests never pass, and an exit after the guard's ``STARTED``
  line is the program's failure, never a sandbox error. The nonce stays secret as far as the audit hook
  below holds (it is never in a variable the program can reach by walking frames; the hook refuses the
  routes that read it anyway), see ``_guard.py``; the marker says the program reached its end, not that its
  tests meant anything (code that subverts its own tests, e.g. an object equal to everything, passes).
Where the machine allows it, the operating-system boundary (``isolation.py``, bubblewrap): new user, mount,
PID, network, IPC, UTS and cgroup namespaces; uid 65534 inside; a filesystem of the interpreter and /usr
read-only, the program's directory, a private /tmp and a minimal /dev, and nothing else of the host (no
home, no checkout, no store, no /proc at all); no further user namespaces. The header, the JSON report and
JUnit say which layer ran (``sandbox_isolation``); ``AGORABENCH_SANDBOX=isolated`` makes a missing boundary a
start-up error. Without it (no bwrap, or a kernel that forbids the namespaces), the fallback:
- no network: a fresh network namespace (``unshare --net``, with ``--map-root-user`` for non-root users);
- run as root: the program runs as uid 65534 when our interpreter is readable by it, so the kernel also
  refuses its writes outside the directory, its signals to our processes and its reads of our /proc entries.
Best effort, inside the program's interpreter (an audit hook, not a security boundary): no new processes,
no sockets, no ctypes, no signals to other processes, no writes or directory handles outside the directory,
no reads of other processes' /proc entries or of its own memory, no gc walks over all objects, no
sub-interpreters, no symlinks and no chdir out of the directory, no raising of its own limits.

Settings (environment variables): ``AGORABENCH_TIMEOUT_SCALE`` (time-limit factor),
``AGORABENCH_SANDBOX_WORKERS`` (programs at once; default: the usable CPUs), ``AGORABENCH_SANDBOX_NETNS=0``
(no network namespace), ``AGORABENCH_SANDBOX_DROP_ROOT=0`` (never change uid), ``AGORABENCH_SANDBOX_PYTHON``
(the programs' interpreter), ``AGORABENCH_SANDBOX`` (the inspect sandbox code tasks declare: ``agora``, or
``docker[:compose.yaml]``, ...). Programs run with ``python -I -S``: the standard library only, no
site-packages, and no ``exit()``/``quit()`` helpers.

The verdict is only as good as the nonce's secrecy inside the program's own process, which the hook
guards; the boundary keeps everything else of the host out of reach whatever the program does to the hook.
Inspect's docker sandbox (``AGORABENCH_SANDBOX=docker``) remains an option; the code scorers use it through
the same interface (``inspect_env.py`` registers ours as ``agora``).
"""

from __future__ import annotations

from pytest_agorabench.sandbox.limits import SCALE_ENV, Limits, timeout_scale
from pytest_agorabench.sandbox.programs import STATUSES, ProgramResult, SandboxError, run_python

__all__ = ["SCALE_ENV", "STATUSES", "Limits", "ProgramResult", "SandboxError", "run_python", "timeout_scale"]

"""Runs inside the sandbox, around one untrusted program:
``python -I -S agora_guard.py PROGRAM CPU_SECONDS MEMORY_BYTES FILE_BYTES OPEN_FILES MAX_PROCESSES RUN_AS_UID``
(RUN_AS_UID -1: keep ours).

Standard library only and self-contained: the same file is copied into a docker (or any inspect) sandbox.
Beyond what the interpreter loads at start-up it imports only the small C modules resource and pwd (json,
signal or traceback would cost more than a whole short program). Steps: apply the kernel resource limits to
itself; drop root when it can do so safely; install an audit hook (a best-effort Python-level guard, see
sandbox/__init__.py); read the run's nonce from stdin and write ``AGORA-SANDBOX-STARTED`` (setup is over:
from here on an exit is the program's, never a sandbox error); run the program with ``__name__`` not
``"__main__"``; only when it ran to its end, write ``AGORA-SANDBOX-FINISHED-<nonce>`` to the saved stdout
and exit 0. Leaving early in any way (an exception, ``sys.exit``, ``os._exit``, a signal) never produces the
marker, so it never counts as finishing.

The program runs in this interpreter, so whatever it can reach it can use: the marker holds only while the
nonce is out of its reach. The nonce is never bound to a name: main builds the marker as an argument of the
call that runs after the program (arguments are evaluated left to right), so during the run it lives only
on main's evaluation stack, which no frame attribute shows. Frames stay allowed (typing, logging and
traceback need them, and signal handlers and ``f_back`` hand them out without an audit event): every frame
route ends at main's locals, which hold no nonce, and after a failure the marker is gone before any of our
code runs. What would read it anyway is refused by the hook: gc walks, /proc/self/mem (and the symlinks and
chdir that could race the path check onto it) and sub-interpreters, which run without our hook. Not
covered: a program that escapes the audit hook itself (it is not a security boundary) can read the marker,
e.g. with native code it writes into its directory and imports, or with hand-made bytecode
(``code.replace``, ``marshal``), which CPython does not check and which can read any memory; and tests that
the program's own code subverts while running to its end (an object whose ``__eq__`` is always true,
replaced builtins) pass: the marker says the program reached its last line, not that its tests meant anything.
"""

import builtins
import os
import resource
import sys

MARKER_PREFIX = "AGORA-SANDBOX-FINISHED-"
STARTED = "AGORA-SANDBOX-STARTED"  # first on stdout once setup is over: later exits are the program's
EXIT_SETUP = 3  # the guard itself could not start the program (bad config, unreadable program)

# Imports that would hand the program a way around the hook: raw process spawning, C-level calls and
# sub-interpreters (the event below refuses those however the module was loaded; this says it sooner).
# _signal, posix and os are loaded at interpreter start, so an "import" event for them can only be a reload.
_DENIED_IMPORTS = frozenset(
    {"_posixsubprocess", "_ctypes", "ctypes", "cffi", "_signal", "posix", "os", "_xxsubinterpreters", "_interpreters"}
)
ARGUMENTS = ("program", "cpu_seconds", "memory_bytes", "file_bytes", "open_files", "max_processes", "run_as_uid")
# Events refused outright: new processes, network, leaving the limits, gc walks over every object (nothing
# of ours, main's stack included, is the program's to find); sub-interpreters (they run without this hook);
# symlinks (swapped while the open check runs, one could point it at /proc/self/mem).
_DENIED_EVENTS = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.startfile",
        "subprocess.Popen",
        "pty.spawn",
        "resource.setrlimit",
        "resource.prlimit",
        "gc.get_referrers",
        "gc.get_referents",
        "gc.get_objects",
        "cpython.PyInterpreterState_New",
        "os.symlink",
    }
)
_PATH_EVENTS = {  # event -> positions of the path arguments that must stay inside the working directory
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),  # a link to an outside file (or symlink) would make it look inside
    "os.chdir": (0,),  # relative paths are checked against the cwd: another thread must not move it mid-check
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _flush_original_streams():
    # Block-buffered into a pipe: without this the program's last prints die with os._exit.
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - a closed or broken stream loses output, not the verdict
            pass


def _fail(message):
    os.write(2, f"agora-sandbox: {message}\n".encode())
    os._exit(EXIT_SETUP)


def _count_processes(uid):
    """Processes this uid owns now: RLIMIT_NPROC counts them all, not just ours."""
    count = 0
    try:
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    count += os.stat(f"/proc/{name}").st_uid == uid
                except OSError:
                    pass
    except OSError:
        return 0
    return count


def _set_limit(which, value):
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    try:
        resource.setrlimit(which, (value, value))
    except (ValueError, OSError):
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass  # a limit the platform refuses is reported nowhere: the others still hold


def apply_limits(config):
    _set_limit(resource.RLIMIT_CPU, config["cpu_seconds"])
    _set_limit(resource.RLIMIT_AS, config["memory_bytes"])
    _set_limit(resource.RLIMIT_FSIZE, config["file_bytes"])
    _set_limit(resource.RLIMIT_NOFILE, config["open_files"])
    _set_limit(resource.RLIMIT_CORE, 0)  # a crash leaves no core file behind
    if hasattr(resource, "RLIMIT_NPROC"):
        _set_limit(resource.RLIMIT_NPROC, _count_processes(os.geteuid()) + config["max_processes"])


def drop_root(config, workdir):
    """As root, run the program as an unprivileged uid when the config asks for it (the parent probed that
    the interpreter stays importable for that uid): then the kernel refuses its writes outside the
    directory, its signals to our processes and its reads of their environment."""
    uid = config["run_as_uid"]
    if uid < 0 or os.geteuid() != 0:
        return
    gid = uid
    for root, dirs, files in os.walk(workdir):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, uid, gid)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def _inside(path, workdir):
    if isinstance(path, int):
        return True  # an already open descriptor: its opening was checked
    try:
        real = os.path.realpath(os.fsdecode(path))
    except (TypeError, ValueError):
        return False
    return real == workdir or real.startswith(workdir + os.sep) or real == "/dev/null"


_OPEN_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full"})


def _under(path, roots):
    return any(path == root or path.startswith(root + os.sep) for root in roots)


def _secret_reads(workdir):
    """A predicate for paths the program may not even read: other processes' /proc entries (environment,
    memory), devices and kernel memory, and the home directory of the uid it runs as (tokens, keys),
    except the Python installation, which may live there (pyenv)."""
    import pwd

    try:
        home = os.path.realpath(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        home = None
    python_dirs = {os.path.realpath(p) for p in sys.path if p} | {
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)
    }
    protected_home = home not in (None, "/") and not _under(workdir, [home])

    def secret(path):
        if isinstance(path, int):
            return False
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return True
        parts = real.split(os.sep)
        if len(parts) >= 3 and parts[1] == "proc":
            other = parts[2].isdigit() and int(parts[2]) != os.getpid()
            return other or parts[2] in ("kcore", "kmem") or parts[-1] == "mem"  # our own memory holds the marker
        if real.startswith("/dev/"):
            return real not in _OPEN_DEVICES and not real.startswith(("/dev/fd/", "/dev/std"))
        return protected_home and _under(real, [home]) and not _under(real, python_dirs)

    return secret


def install_hook(workdir):
    own_pid, own_group = os.getpid(), os.getpgid(0)
    secret = _secret_reads(workdir)

    def hook(event, args):
        if event in _DENIED_EVENTS or event.startswith(("socket.", "ctypes.")):
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "import" and args[0] in _DENIED_IMPORTS:
            raise ImportError(f"sandbox: importing {args[0]} is not allowed")
        if event == "open":
            path, flags = args[0], args[2]
            if secret(path):
                raise PermissionError("sandbox: reading this path is not allowed")
            if not _inside(path, workdir):
                if isinstance(flags, int) and flags & _WRITE_FLAGS:
                    raise PermissionError(f"sandbox: writing outside the working directory ({path!r})")
                if os.path.isdir(path):  # a directory descriptor would let dir_fd= calls write anywhere
                    raise PermissionError(f"sandbox: opening directories outside the working directory ({path!r})")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                if index < len(args) and not _inside(args[index], workdir):
                    raise PermissionError(f"sandbox: {event} outside the working directory")
        elif event == "os.kill" and args[0] not in (own_pid, 0, -own_group):
            raise PermissionError("sandbox: signalling other processes is not allowed")
        elif event == "os.killpg" and args[0] != own_group:
            raise PermissionError("sandbox: signalling other process groups is not allowed")

    # pidfd signalling raises no audit event in CPython 3.11: take those functions away instead. The signal
    # module, when the program imports it, copies _signal's functions, so removing them there is enough.
    import _signal
    import posix

    for module, name in ((os, "pidfd_open"), (posix, "pidfd_open"), (_signal, "pidfd_send_signal")):
        if hasattr(module, name):
            delattr(module, name)
    sys.addaudithook(hook)


def _report_exception(exc, errors):
    try:
        import traceback  # only now: failures are the rare, slow path

        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-5))
    except BaseException:  # noqa: BLE001 - the program may have broken the import system
        text = f"{type(exc).__name__}: {exc}\n"
    os.write(errors, text[-4000:].encode(errors="replace"))


def _marker(report):
    """Read the nonce from stdin (its only copy: the program gets /dev/null there), say that setup is over,
    and return the finish marker. Our locals die with this call; main holds the result on its stack only."""
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = os.read(0, 256)
            if not chunk:
                break
            data += chunk
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    except OSError as exc:
        _fail(f"cannot read the nonce: {exc}")
    nonce = data.strip()
    if not nonce:
        _fail("no nonce on stdin")
    os.write(report, f"{STARTED}\n".encode())
    return b"\n" + MARKER_PREFIX.encode() + nonce + b"\n"


def _finish(report, marker, _program_result):
    _flush_original_streams()
    os.write(report, marker)
    os._exit(0)  # no atexit handlers or lingering threads of the program run after the verdict


def main():
    if len(sys.argv) != 1 + len(ARGUMENTS):
        _fail("usage: agora_guard.py " + " ".join(a.upper() for a in ARGUMENTS))
    try:
        config = {name: int(value) for name, value in zip(ARGUMENTS[1:], sys.argv[2:])}
        config["program"] = sys.argv[1]
        with open(config["program"], encoding="utf-8") as handle:
            source = handle.read()
    except (OSError, ValueError) as exc:
        _fail(f"cannot read the arguments or the program: {exc}")
    workdir = os.path.realpath(os.getcwd())
    report = os.dup(1)  # the program may replace or close sys.stdout; the marker goes to this copy
    errors = os.dup(2)
    sys.dont_write_bytecode = True
    apply_limits(config)
    drop_root(config, workdir)
    try:
        code = compile(source, config["program"], "exec")
    except (SyntaxError, ValueError) as exc:
        os.write(errors, f"{type(exc).__name__}: {exc}\n".encode(errors="replace"))
        os._exit(1)
    install_hook(workdir)
    namespace = {"__name__": "__agora_program__", "__builtins__": builtins}
    try:
        # Python evaluates arguments left to right: the marker exists before exec starts the program, held
        # by no name (see the module docstring), and _finish runs only when exec returned.
        _finish(report, _marker(report), exec(code, namespace))
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: leaving early is not finishing
        _flush_original_streams()
        _report_exception(exc, errors)
        os._exit(1)


if __name__ == "__main__":
    main()

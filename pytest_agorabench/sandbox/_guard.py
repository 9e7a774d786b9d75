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
chdir that could race the path check onto it); sub-interpreters, which run without our hook; native code
other than the standard library's own extension modules, checked by what is loaded (the file, which must
be in the interpreter's lib-dynload and on an allowlist without _ctypes, _posixsubprocess, sub-interpreters
or the _test modules, under its own name), not by the name asked for; and hand-made code objects
(``code.replace``, ``types.CodeType``, ``marshal``: CPython does not verify bytecode, and an out-of-range
LOAD_CONST reads any memory), where ``marshal.loads`` stays allowed only for bytes equal to the body of the
standard library .pyc that importlib opened last (compiler output, which the program cannot write).

The hook's own rules hold against the program's Python: the program can rebind this module's globals,
builtins and os.path, and reads the hook's frame from the traceback of any refusal, so the hook names no
global and calls no Python function; what it uses is bound when it is made, as C functions and immutable
values. Arguments are never asked anything: paths are checked as the exact text the call uses (a str or
bytes subclass copied with the base type's own method, any other path object refused, links resolved with
readlink alone; descriptors only for open, since os.fchmod and co. could change an outside file opened to
read), module names compared as exact str. The price: ``import asyncio`` fails (its
``types.coroutine`` uses ``code.replace``) and ``io.FileIO`` refuses path objects (``open()`` and the os
functions take their text before the event and stay fine).

Not covered: the hook is not a security boundary, and a route it does not know (e.g. a memory-corrupting
CPython bug reachable from pure Python) can read the marker; ``_imp.create_builtin`` raises no audit event
and re-creates posix and _signal with the pidfd functions removed below; and tests that the program's own
code subverts while running to its end (an object whose ``__eq__`` is always true, replaced builtins)
pass: the marker says the program reached its last line, not that its tests meant anything.
"""

import builtins
import os
import resource
import sys

MARKER_PREFIX = "AGORA-SANDBOX-FINISHED-"
STARTED = "AGORA-SANDBOX-STARTED"  # first on stdout once setup is over: later exits are the program's
EXIT_SETUP = 3  # the guard itself could not start the program (bad config, unreadable program)

ARGUMENTS = ("program", "cpu_seconds", "memory_bytes", "file_bytes", "open_files", "max_processes", "run_as_uid")
# Events refused outright: new processes, network, leaving the limits, gc walks over every object (nothing
# of ours, main's stack included, is the program's to find); sub-interpreters (they run without this hook);
# symlinks (swapped while the open check runs, one could point it at /proc/self/mem); chdir (relative paths
# are checked against the working directory, and a dir_fd open, whose event carries no dir_fd, must not
# resolve from a deeper cwd than the check assumes); hand-made bytecode (``code.replace``, ``CodeType``,
# ``marshal``: CPython does not verify bytecode, and e.g. an out-of-range LOAD_CONST reads any memory).
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
        "os.chdir",  # os.fchdir raises it too
        "code.__new__",  # code.replace and types.CodeType
        "marshal.load",
    }
)
_DENIED_PREFIXES = ("socket.", "ctypes.")
# Imports refused by name (compared as the exact text, whatever the name object's own methods say): raw
# process spawning, C-level calls, sub-interpreters; _signal, posix and os are loaded at interpreter start,
# so an "import" event for them can only be a reload (which would bring back the pidfd functions).
_DENIED_IMPORTS = frozenset(
    {"_posixsubprocess", "_ctypes", "ctypes", "cffi", "_signal", "posix", "os", "_xxsubinterpreters", "_interpreters"}
)
# Extension modules a program may load, by what is loaded: a file of this name in the interpreter's own
# lib-dynload, under its own name. Left out: _ctypes and the _test* modules (read and write any memory),
# _posixsubprocess (starts processes without an audit event), sub-interpreters, and modules that open
# files or devices in C without an audit event (_sqlite3, _dbm, _gdbm, _posixshmem, _multiprocessing,
# readline, _curses, _tkinter, ossaudiodev, syslog, nis, spwd), or the network (_ssl).
_ALLOWED_EXTENSIONS = frozenset(
    {
        "_asyncio", "_bisect", "_blake2", "_bz2", "_codecs_cn", "_codecs_hk", "_codecs_iso2022", "_codecs_jp",
        "_codecs_kr", "_codecs_tw", "_contextvars", "_crypt", "_csv", "_datetime", "_decimal", "_elementtree",
        "_hashlib", "_heapq", "_json", "_lsprof", "_lzma", "_md5", "_multibytecodec", "_opcode", "_pickle",
        "_queue", "_random", "_sha1", "_sha2", "_sha256", "_sha3", "_sha512", "_socket", "_statistics",
        "_struct", "_typing", "_uuid", "_zoneinfo", "array", "audioop", "binascii", "cmath", "fcntl", "grp",
        "math", "mmap", "pyexpat", "resource", "select", "termios", "unicodedata", "zlib",
    }
)
# Events with path arguments that must stay inside the working directory (positions 0, or 0 and 1).
_ONE_PATH_EVENTS = frozenset(
    {
        "os.remove",
        "os.rmdir",
        "os.mkdir",
        "os.chmod",
        "os.chown",
        "os.truncate",
        "os.utime",
        "os.chflags",
        "os.lchflags",
        "os.setxattr",
        "os.removexattr",
        "shutil.rmtree",
    }
)
_TWO_PATH_EVENTS = frozenset({"os.rename", "os.link"})  # a link to an outside file would make it look inside
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_OPEN_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full"})


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


def _install_facts(workdir):
    """What the hook compares against, fixed before the program runs (os.path is fine here, not later):
    the home directory of the uid the program runs as (its tokens and keys may not even be read), the
    Python installation (which may live there, pyenv), the standard library and its lib-dynload."""
    import pwd

    realpath = os.path.realpath
    try:
        home = realpath(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        home = "/"
    if home == "/" or workdir == home or workdir.startswith(home + "/"):
        home = ""  # nothing to protect, or the sandbox lives in it
    python_dirs = tuple(
        {realpath(p) for p in sys.path if p} | {realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    )
    stdlib = realpath(getattr(sys, "_stdlib_dir", None) or os.path.dirname(os.__file__))
    return home, python_dirs, stdlib, realpath(os.path.join(stdlib, "lib-dynload"))


def _make_hook(workdir, home, python_dirs, stdlib, dynload, own_pid, own_group):
    """The audit hook. The program can rebind any global of this module, any builtin and any function of
    the standard library (os.path.realpath included), and it reads the hook's frame, free variables
    included, from the traceback of any refusal (or sys._current_frames while another thread is in it).
    So the hook names no global (a test checks its bytecode) and calls no Python-level function: what it
    uses is bound here, as C functions and immutable values, in closure cells no one else can reach.
    Arguments are never asked anything (their __eq__, __hash__, __fspath__, __class__ may lie): a str or
    bytes subclass is copied to the exact text the C call uses with the base type's own method, and any
    other path object is refused, since the C call already took its text from __fspath__ before the
    event, and a second call need not answer the same."""
    import _imp
    import posix

    readlink, stat, length = posix.readlink, posix.stat, len
    find_frozen = getattr(_imp, "find_frozen", None)
    frozen_names = tuple(_imp._frozen_module_names()) if find_frozen and hasattr(_imp, "_frozen_module_names") else ()
    open_fd, read_fd, close_fd = posix.open, posix.read, posix.close
    type_of, item, str_type, bytes_type, int_type = type, tuple.__getitem__, str, bytes, int
    str_copy, int_copy = str.__str__, int.__int__
    bytes_copy = getattr(bytes, "__bytes__", None)  # 3.11+; before 3.12 no class can override the buffer
    refused, import_refused, os_error, type_error = PermissionError, ImportError, OSError, TypeError
    encoding = sys.getfilesystemencoding()
    denied_events, denied_prefixes, denied_imports = _DENIED_EVENTS, _DENIED_PREFIXES, _DENIED_IMPORTS
    allowed_extensions, one_path, two_paths = _ALLOWED_EXTENSIONS, _ONE_PATH_EVENTS, _TWO_PATH_EVENTS
    write_flags, open_devices, read_only = _WRITE_FLAGS, _OPEN_DEVICES, posix.O_RDONLY | posix.O_CLOEXEC
    workdir_prefix, home_prefix, stdlib_prefix = workdir + "/", home + "/", stdlib + "/"
    python_prefixes = tuple(p + "/" for p in python_dirs)
    pid_text, allowed_pids = str(own_pid), (own_pid, 0, -own_group)
    last_pyc = ""  # the standard library's .pyc most recently opened, for importlib's marshal.loads

    def hook(event, args):
        nonlocal last_pyc
        if event in denied_events or event.startswith(denied_prefixes):
            raise refused(f"sandbox: {event} is not allowed")
        if event == "open" or event in one_path:
            paths = args[:1]
        elif event in two_paths:
            paths = args[:2]
        elif event == "import":
            # From the import statement: (name, None, sys.path, ...); from _imp.create_dynamic: (spec.name,
            # spec.origin, None, None, None), the very objects that dlopen and the PyInit_ lookup use.
            try:
                name = str_copy(args[0])
            except type_error:
                raise import_refused("sandbox: a module name that is not a str") from None
            if name in denied_imports:
                raise import_refused(f"sandbox: importing {name} is not allowed")
            if args[1] is None:
                return
            try:
                origin = str_copy(args[1])
            except type_error:
                raise import_refused(f"sandbox: loading {name} from a path that is not a str") from None
            # The file must be an allowed module's, asked for under its own name, and its folder, resolved
            # below as paths are (the file itself cannot be a link: the program makes none), lib-dynload.
            short, file = name[name.rfind(".") + 1 :], origin[origin.rfind("/") + 1 :]
            module = file[: file.find(".")] if "." in file else file
            if not origin.startswith("/") or module != short or module not in allowed_extensions:
                raise import_refused(f"sandbox: loading native code {origin!r} as {name} is not allowed")
            paths = (origin[: origin.rfind("/")],)
        elif event == "marshal.loads":
            # importlib loads the standard library's .pyc files with it: allowed only for bytes equal to
            # the body of the .pyc opened last, if that lies in the standard library (the program cannot
            # write there), or (3.13 raises it for frozen modules) to a frozen module's code in the
            # interpreter: compiler output, never hand-made bytecode.
            data, body = args[0], b""
            if type_of(data) is not bytes_type:
                raise refused("sandbox: marshal.loads of anything but the standard library's .pyc is not allowed")
            if last_pyc:
                fd = open_fd(last_pyc, read_only)
                try:  # immutable bytes only: another thread can read this frame's locals, and a list in them
                    content, chunk = b"", b"."
                    while chunk:
                        chunk = read_fd(fd, 1 << 20)
                        content += chunk
                finally:
                    close_fd(fd)
                body = content[16:]
            if body and data == body:
                return
            for frozen in frozen_names:
                try:
                    code = find_frozen(frozen, withdata=True)[0]
                except import_refused:
                    continue
                if code is not None and length(code) == length(data) and code == data:
                    return
            raise refused("sandbox: marshal.loads of anything but the standard library's .pyc is not allowed")
        elif event == "os.kill":
            if args[0] not in allowed_pids:
                raise refused("sandbox: signalling other processes is not allowed")
            return
        elif event == "os.killpg":
            if args[0] != own_group:
                raise refused("sandbox: signalling other process groups is not allowed")
            return
        else:
            return
        for path in paths:
            kind = type_of(path)
            if kind is str_type:
                text = path
            elif kind is bytes_type:
                text = path.decode(encoding, "surrogateescape")
            else:
                try:
                    text = str_copy(path)
                except type_error:
                    try:
                        exact = bytes_copy(path) if bytes_copy else b"".join((path,))
                        text = exact.decode(encoding, "surrogateescape")
                    except type_error:
                        try:
                            int_copy(path)
                        except type_error:
                            raise refused(f"sandbox: {event} of a path that is not a str or bytes") from None
                        if event != "open":  # os.fchmod and co.: it may be a read-only descriptor of an outside file
                            raise refused(f"sandbox: {event} of a file descriptor is not allowed")
                        continue  # open(fd): its opening was checked
            # The real path, resolved with readlink alone; relative to the working directory, which is the
            # cwd for good (chdir is refused).
            done, rest, hops = ("" if text.startswith("/") else workdir), text, 0
            while rest:
                part, _, rest = rest.partition("/")
                if part == "" or part == ".":
                    continue
                if part == "..":
                    done = done[: done.rfind("/")]
                    continue
                try:
                    target = readlink(done + "/" + part)
                except os_error:  # not a link (or missing): kept as written
                    done = done + "/" + part
                    continue
                hops += 1
                if hops > 40:
                    raise refused("sandbox: too many symbolic links")
                done, rest = ("" if target.startswith("/") else done), target + "/" + rest
            real = done or "/"
            if event == "import":
                if real != dynload:
                    raise import_refused(f"sandbox: loading native code {origin!r} as {name} is not allowed")
                continue
            inside = real == workdir or real.startswith(workdir_prefix) or real == "/dev/null"
            if event != "open":
                if not inside:
                    raise refused(f"sandbox: {event} outside the working directory")
                continue
            if real.startswith("/proc/"):
                parts = real.split("/")
                other = parts[2].isdigit() and parts[2] != pid_text
                if other or parts[2] in ("kcore", "kmem") or parts[-1] == "mem":  # our own memory holds the marker
                    raise refused("sandbox: reading this path is not allowed")
            elif real.startswith("/dev/"):
                if real not in open_devices:
                    raise refused("sandbox: reading this path is not allowed")
            elif home and (real == home or real.startswith(home_prefix)) and not real.startswith(python_prefixes):
                raise refused("sandbox: reading this path is not allowed")
            if inside:
                continue
            mode, flags = args[1], args[2]
            if (type_of(flags) is int_type and flags & write_flags) or (
                type_of(mode) is str_type and ("w" in mode or "a" in mode or "x" in mode or "+" in mode)
            ):
                raise refused(f"sandbox: writing outside the working directory ({real!r})")
            try:
                is_dir = item(stat(real), 0) & 0o170000 == 0o040000
            except os_error:
                is_dir = False
            if is_dir:  # a directory descriptor would let dir_fd= calls write anywhere
                raise refused(f"sandbox: opening directories outside the working directory ({real!r})")
            if real.endswith(".pyc") and real.startswith(stdlib_prefix) and "-packages/" not in real:
                last_pyc = real

    return hook


def install_hook(workdir):
    home, python_dirs, stdlib, dynload = _install_facts(workdir)
    hook = _make_hook(workdir, home, python_dirs, stdlib, dynload, os.getpid(), os.getpgid(0))
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

"""Programs that try to fake the guard's finish marker (issue 11, item 8): each must end as a failure.

Every attack shares ``PRELUDE``: collect strings that look like a nonce from whatever the route reaches,
print the evidence of how far it got, then print a marker for every candidate and leave with status 0. A
forged marker would make that a pass. Each test also checks the evidence (the route reached the guard's
``main`` frame, or the sandbox refused it), so an attack that merely crashed cannot pass the test; and the
same attacks, run under ``LEAKY_GUARD`` (the nonce in a local, as ours kept it, and no audit hook), must
forge. A guessed nonce and ``os._exit(0)`` are in test_sandbox_run.py and test_sandbox_hostile.py.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import re
import secrets
import sys

import pytest

from pytest_agorabench.sandbox._guard import STARTED
from pytest_agorabench.sandbox.local import CommandResult, run_command
from pytest_agorabench.sandbox.programs import verdict

PRELUDE = r'''
import os, re, sys
_write, _exit = os.write, os._exit  # kept: some attacks replace os.write
_PREFIX = "AGORA-SANDBOX-" + "FINISHED-"
_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_found = []

def _look(value, depth=0):
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if isinstance(value, str):
        _found.extend(hit for hit in _HEX.findall(value) if hit not in _found)
    elif depth < 3 and isinstance(value, dict):
        for item in list(value.values()):
            _look(item, depth + 1)
    elif depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        for item in list(value):
            _look(item, depth + 1)

def _say(text):
    _write(1, (text + "\n").encode())

def _walk(frame, route):
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        _look(frame.f_locals)
        _look(frame.f_globals)
        frame = frame.f_back
    _say(f"reached by {route}: " + " > ".join(names))

def _forge():
    sys.stdout.flush()
    _write(1, "".join(f"\n{_PREFIX}{hit}\n" for hit in _found[:300]).encode())
    _exit(0)
'''

# Reads our own memory and prints a marker for every nonce-like string, likeliest first.
MEMORY_SCAN = r'''
import os, re
strong, weak = [], []
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as memory:
    for line in maps:
        span, perms = line.split()[:2]
        start, end = (int(x, 16) for x in span.split("-"))
        if not perms.startswith("rw") or end - start > 1 << 26:
            continue
        try:
            memory.seek(start)
            chunk = memory.read(end - start)
        except OSError:
            continue
        strong += re.findall(rb"FINISHED-([0-9a-f]{32})", chunk) + re.findall(rb"(?<![0-9a-f])([0-9a-f]{32})\n", chunk)
        weak += re.findall(rb"(?<![0-9a-f])([0-9a-f]{32})(?![0-9a-f])", chunk)
hits = list(dict.fromkeys(strong + weak))[:300]
os.write(1, b"".join(b"\nAGORA-SANDBOX-" + b"FINISHED-" + hit + b"\n" for hit in hits))
os._exit(0)
'''

INTERPRETERS = "_interpreters" if sys.version_info >= (3, 13) else "_xxsubinterpreters"
# The same module loaded under another name: the hook checks the file that is loaded, whatever its name
# (and creating the interpreter would be refused too, by its own audit event).
RENAMED_INTERPRETERS = f"""
import _imp, importlib.util, sys
spec = importlib.util.find_spec({INTERPRETERS!r})
spec.name = "renamed." + spec.name
interpreters = _imp.create_dynamic(spec)
interpreters.run_string(interpreters.create(), {MEMORY_SCAN!r})
"""

# Frame routes: any frame of the program leads up to the guard's main frame.
REACH_MAIN = {
    "sys._getframe": """
_walk(sys._getframe(), "sys._getframe")
_forge()
""",
    "inspect.currentframe": """
import inspect
_walk(inspect.currentframe(), "inspect")
_forge()
""",
    "traceback tb_frame": """
try:
    1 / 0
except ZeroDivisionError as error:
    _walk(error.__traceback__.tb_frame, "tb_frame")
_forge()
""",
    "generator gi_frame": """
def gen():
    _walk(me.gi_frame, "gi_frame")
    yield
me = gen()
next(me)
_forge()
""",
    "coroutine cr_frame": """
async def co():
    _walk(me.cr_frame, "cr_frame")
me = co()
try:
    me.send(None)
except StopIteration:
    pass
_forge()
""",
    "async generator ag_frame": """
async def agen():
    _walk(me.ag_frame, "ag_frame")
    yield 1
me = agen()
try:
    me.asend(None).send(None)
except StopIteration:
    pass
_forge()
""",
    "sys._current_frames": """
for frame in sys._current_frames().values():
    _walk(frame, "_current_frames")
_forge()
""",
    "sys.settrace": """
def probe():
    pass
def tracer(frame, event, arg):
    _walk(frame, "settrace")
sys.settrace(tracer)
probe()
sys.settrace(None)
_forge()
""",
    "sys.setprofile": """
def probe():
    pass
def profiler(frame, event, arg):
    if event == "call":
        _walk(frame, "setprofile")
sys.setprofile(profiler)
probe()
sys.setprofile(None)
_forge()
""",
    "signal handler frame": """
import signal
signal.signal(signal.SIGUSR1, lambda number, frame: _walk(frame, "signal"))
os.kill(os.getpid(), signal.SIGUSR1)
_forge()
""",
    # Code planted by the program that the guard runs after the program failed, from its own frames.
    "patched os.write in the failure path": """
def spy(fd, data):
    _walk(sys._getframe(1), "os.write")
    _forge()
os.write = spy
raise ValueError("wrong")
""",
    "fake traceback module in the failure path": """
import types
def format_exception(*args, **kwargs):
    _walk(sys._getframe(1), "traceback module")
    _forge()
sys.modules["traceback"] = types.ModuleType("traceback")
sys.modules["traceback"].format_exception = format_exception
raise ValueError("wrong")
""",
    "replaced sys.__stdout__ flushed in the failure path": """
class Stream:
    def flush(self):
        _walk(sys._getframe(1), "flush")
        _forge()
sys.__stdout__ = Stream()
raise ValueError("wrong")
""",
    "exception __str__ walking its traceback": """
class Wrong(Exception):
    def __str__(self):
        _walk(self.__traceback__.tb_frame, "exception")
        _forge()
raise Wrong()
""",
    # The guard's except clause then matches nothing: the exception leaves main, through our excepthook.
    "replaced builtins.BaseException, then sys.excepthook": """
import builtins
def hook(kind, value, tb):
    while tb.tb_next:
        tb = tb.tb_next
    _walk(tb.tb_frame, "excepthook")
    _forge()
sys.excepthook = hook
builtins.BaseException = type("Never", (Exception,), {})
raise ValueError("wrong")
""",
    # A trace function on main's own frame: sees its locals after the program failed, then jumps back to
    # the line that ran the program (for us that reads the nonce again: stdin is /dev/null by then).
    "trace function on the guard frame, jumping back": """
jumped = []
def tracer(frame, event, arg):
    if event == "line" and frame.f_code.co_name == "main":
        _walk(frame, "f_trace")
        if _found:
            _forge()
        if not jumped:
            jumped.append(1)
            lines = open(frame.f_code.co_filename).read().splitlines()
            frame.f_lineno = 1 + next(i for i, text in enumerate(lines) if "exec(code, namespace)" in text)
    return tracer
sys._getframe().f_back.f_trace = tracer
sys.settrace(lambda *args: None)
raise ValueError("wrong")
""",
}

# Routes the sandbox refuses: (program, what the refusal says).
REFUSED = {
    "gc.get_objects": (
        """
import gc
for thing in gc.get_objects():
    _look(thing)
_forge()
""",
        "gc.get_objects",
    ),
    "gc.get_referents of the guard frame": (
        """
import gc
_look(gc.get_referents(sys._getframe().f_back))
_forge()
""",
        "gc.get_referents",
    ),
    "/proc/self/mem": (MEMORY_SCAN, "reading this path"),
    "/proc/thread-self/mem": (MEMORY_SCAN.replace("/proc/self/mem", "/proc/thread-self/mem"), "reading this path"),
    "/proc/self/task/TID/mem": (
        MEMORY_SCAN.replace('"/proc/self/mem"', "f\"/proc/self/task/{__import__('threading').get_native_id()}/mem\""),
        "reading this path",
    ),
    "sub-interpreter (no audit hook there)": (
        f"import {INTERPRETERS} as interpreters\ninterpreters.run_string(interpreters.create(), {MEMORY_SCAN!r})\n",
        f"importing {INTERPRETERS}",
    ),
    # Primitives of a race against the open check (swap a path to /proc/self/mem between check and open).
    "symlink to /proc/self": ("os.symlink('/proc/self', 'me')\n", "os.symlink"),
    "hard link to an outside file": ("os.link('/etc/passwd', 'passwd')\n", "os.link"),
    "chdir to /proc/self": ("os.chdir('/proc/self')\n", "os.chdir"),
    "execv to a program that exits 0": ("os.execv('/bin/true', ['true'])\n", "os.exec"),
}

# Routes that reach nothing secret: (program, evidence the route was taken, in stdout).
FIND_NOTHING = {
    "re-reading stdin": (
        """
got = [os.read(0, 4096), sys.stdin.read()]
got += [open(path, "rb").read() for path in ("/dev/stdin", "/proc/self/fd/0")]
_look(got)
_say(f"stdin gave {got!r}")
_forge()
""",
        "stdin gave [b'', '', b'', b'']",
    ),
    "/proc/self files": (
        """
texts = [open(f"/proc/self/{name}", "rb").read() for name in ("environ", "cmdline", "status", "maps")]
for fd in os.listdir("/proc/self/fd"):
    try:
        texts.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass  # the descriptor listdir itself used
_look(texts)
_say(f"read {len(texts)} /proc/self entries")
_forge()
""",
        "/proc/self entries",
    ),
    "the guard's module globals, defaults and closures": (
        """
guard = sys.modules["__main__"]
_look(vars(guard))
for value in list(vars(guard).values()):
    _look([getattr(value, "__defaults__", None), getattr(value, "__kwdefaults__", None)])
    _look([cell.cell_contents for cell in getattr(value, "__closure__", None) or ()])
_say(f"guard module has main: {callable(guard.main)}")
_forge()
""",
        "guard module has main: True",
    ),
    # Only the new thread's frames: listed for completeness (threading.settrace calls sys.settrace there).
    "threading.settrace": (
        """
import threading
threading.settrace(lambda frame, event, arg: _walk(frame, "threading.settrace"))
thread = threading.Thread(target=lambda: None)
thread.start()
thread.join()
_forge()
""",
        "reached by threading.settrace: run > _bootstrap_inner > _bootstrap",
    ),
}

# Early exits that the old verdict took for a sandbox failure ("error" stops the whole evaluation):
# (program, the detail that shows the trick ran).
PROGRAM_EXITS = {
    "exit status 3 (the guard's setup failure)": ("os._exit(3)\n", "exit status 3"),
    "stderr that looks like unshare failing": (
        "sys.stderr.write('unshare: unshare failed\\n')\nsys.stderr.flush()\nraise SystemExit(1)\n",
        "SystemExit: 1",
    ),
    "re-entering the guard's main": ("sys.modules['__main__'].main()\n", "agora-sandbox: no nonce on stdin"),
    "calling the guard's nonce reader": ("sys.modules['__main__']._marker(1)\n", "agora-sandbox: no nonce on stdin"),
}

# What the leaky guard below must fall to: every attack that would forge if it found the nonce.
FORGERS = {
    **REACH_MAIN,
    **{route: source for route, (source, _) in REFUSED.items() if "mem" in route or "interpreter" in route},
    "renamed sub-interpreter module": RENAMED_INTERPRETERS,
}

LEAKY_GUARD = r'''
import os, sys
# STAND-IN HOOK

def main():
    nonce = sys.stdin.readline().strip()
    source = open(sys.argv[1]).read()
    # INSTALL
    try:
        exec(compile(source, sys.argv[1], "exec"), {"__name__": "__agora_program__"})
    except BaseException as exc:
        sys.__stdout__.flush()
        import traceback
        os.write(2, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).encode())
        os._exit(1)
    sys.__stdout__.flush()
    os.write(1, f"\nAGORA-SANDBOX-FINISHED-{nonce}\n".encode())
    os._exit(0)

main()
'''

# Our audit hook's rules as they stood before issue 21, for the stand-in guard (test_sandbox_tricks.py):
# names compared with the name object's own __eq__/__hash__, paths asked of the path object through
# os.path, os.fsdecode and builtins at call time, helpers in its frame, no refusal of hand-made bytecode.
# An attack on the hook's own rules must get through it, and the plain route must not (a test checks both).
STAND_IN_HOOK = r'''
def _rules(pid, cwd):
    denied = frozenset({"_ctypes", "ctypes", "_posixsubprocess", "_xxsubinterpreters", "_interpreters"})
    denied_events = frozenset({"os.fork", "os.exec", "os.posix_spawn", "os.system", "subprocess.Popen",
                               "os.symlink", "os.chdir", "gc.get_objects", "gc.get_referents"})

    def real(path):
        return os.path.realpath(os.fsdecode(path))

    def secret(path):
        if isinstance(path, int):
            return False
        parts = real(path).split(os.sep) + ["", ""]
        return parts[1] == "proc" and (parts[-3] == "mem" or (parts[2].isdigit() and int(parts[2]) != pid))

    def hook(event, args):
        if event in denied_events or event.startswith(("ctypes.", "socket.")):
            raise PermissionError(f"stand-in: {event} is not allowed")
        if event == "import" and args[0] in denied:
            raise ImportError(f"stand-in: importing {args[0]} is not allowed")
        if event == "open" and secret(args[0]):
            raise PermissionError("stand-in: reading this path is not allowed")
        if event == "open" and isinstance(args[2], int) and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            if not isinstance(args[0], int) and not real(args[0]).startswith(cwd + os.sep):
                raise PermissionError("stand-in: writing outside the working directory")

    return hook
'''


def reached_main(stdout: str) -> bool:
    return re.search(r"^reached by .*: .*\bmain\b", stdout, re.MULTILINE) is not None


def run_leaky(source: str, tmp_path, stand_in_hook: bool = False) -> tuple[CommandResult, str]:
    """Run ``source`` under the leaky guard in ``tmp_path``, with the old rules' audit hook if asked."""
    guard = LEAKY_GUARD
    if stand_in_hook:
        guard = guard.replace("# STAND-IN HOOK\n", STAND_IN_HOOK)
        guard = guard.replace("# INSTALL\n", "sys.addaudithook(_rules(os.getpid(), os.getcwd()))\n")
    (tmp_path / "leaky_guard.py").write_text(guard)
    (tmp_path / "program.py").write_text(source)
    nonce = secrets.token_hex(16)
    command = [sys.executable, "-I", "-S", "leaky_guard.py", "program.py"]
    stdin = f"{nonce}\n".encode()
    result = asyncio.run(run_command(command, cwd=tmp_path, timeout=20, output_bytes=1 << 20, stdin=stdin))
    return result, nonce


@pytest.mark.parametrize("route", sorted(REACH_MAIN))
def test_routes_to_the_guard_frame_find_no_nonce(route, run_program):
    result = run_program(PRELUDE + REACH_MAIN[route])
    assert result.status == "failed", result
    assert reached_main(result.stdout), result  # the route worked: it walked up to the guard's main frame


@pytest.mark.parametrize("route", sorted(REFUSED))
def test_routes_to_the_raw_marker_are_refused(route, run_program):
    source, refusal = REFUSED[route]
    result = run_program(PRELUDE + source)
    assert result.status == "failed", result
    assert f"sandbox: {refusal}" in result.stderr, result  # our hook's words, not the program's own line


@pytest.mark.parametrize("route", sorted(FIND_NOTHING))
def test_routes_without_the_nonce(route, run_program):
    source, evidence = FIND_NOTHING[route]
    result = run_program(PRELUDE + source)
    assert result.status == "failed" and "before its end" in result.detail, result
    assert evidence in result.stdout, result


@pytest.mark.parametrize("route", sorted(PROGRAM_EXITS))
def test_an_exit_after_setup_is_the_programs_failure_not_a_sandbox_error(route, run_program):
    source, detail = PROGRAM_EXITS[route]
    result = run_program(PRELUDE + source)
    assert result.status == "failed" and result.detail == detail, result


def needs_loadable_interpreters():
    spec = importlib.util.find_spec(INTERPRETERS)
    if spec is None or not (spec.origin or "").endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
        pytest.skip(f"{INTERPRETERS} is not an extension module of this Python")


def test_a_renamed_sub_interpreter_module_is_refused_by_its_file(run_program):
    needs_loadable_interpreters()
    result = run_program(PRELUDE + RENAMED_INTERPRETERS)
    assert result.status == "failed" and "sandbox: loading native code" in result.stderr, result


@pytest.mark.parametrize("route", sorted(FORGERS))
def test_each_attack_forges_a_guard_that_keeps_the_nonce_in_a_local(route, tmp_path, fallback):
    # Proof that the attacks above work: without our defences (the hook, and the boundary's missing /proc)
    # they pass.
    if route.startswith("renamed"):
        needs_loadable_interpreters()
    result, nonce = run_leaky(PRELUDE + FORGERS[route], tmp_path)
    assert verdict(result, nonce).status == "passed", result


def test_the_marker_holds_no_name_on_the_guard_frame(run_program):
    # The frame routes all end at main's locals: they must hold nothing nonce-like.
    source = """
frame = sys._getframe().f_back
_say(" ".join(sorted(frame.f_locals)))
_look(frame.f_locals)
_say(f"candidates {len(_found)}")
"""
    result = run_program(PRELUDE + source)
    assert result.passed and "candidates 0" in result.stdout and "namespace" in result.stdout


def test_started_comes_before_the_programs_output_and_is_not_shown(run_program):
    result = run_program(f"import sys\nsys.stdout.write({STARTED!r} + '\\nhello\\n')\n")
    assert result.passed and result.stdout == f"{STARTED}\nhello\n"  # only the guard's own line is cut


# Routes left open (the guard's docstring and README say so): these pass, and the tests record it.


def test_open_route_tests_that_the_program_itself_subverts(run_program):
    # The marker says the program reached its end: an answer equal to everything gets there.
    source = "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef f(x):\n    return Anything()\n"
    assert run_program(source + "assert f(1) == 2\n").passed


# Routes that were open until issue 21 (test_sandbox_tricks.py has them forging the stand-in guard).


@pytest.mark.parametrize(
    "source",
    [
        "code = compile('x = 1', 'made', 'exec').replace(co_name='made')\n",
        "import marshal\nexec(marshal.loads(marshal.dumps(compile('x = 1', 'made', 'exec'))), {})\n",
    ],
    ids=["code.replace", "marshal.loads"],
)
def test_hand_made_code_objects_are_refused_even_harmless_ones(source, run_program):
    # The hook cannot tell harmless bytecode from bytecode that reads any memory: it refuses making any.
    result = run_program(source)
    refusals = ("sandbox: code.__new__", "sandbox: marshal")
    assert result.status == "failed" and any(refusal in result.stderr for refusal in refusals), result


def test_native_code_from_the_programs_directory_is_refused(run_program):
    # The program can write any such file; here a copy of one of ours, which it may load from lib-dynload.
    for name in ("_bisect", "_json", "_random", "math"):
        spec = importlib.util.find_spec(name)
        if spec and (spec.origin or "").endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            break
    else:
        pytest.skip("no standard extension module is a file in this Python")
    copy = spec.origin.rsplit("/", 1)[1]
    source = f"""
import importlib.util, shutil
shutil.copy({spec.origin!r}, {copy!r})
spec = importlib.util.spec_from_file_location({name!r}, {copy!r})
module = importlib.util.module_from_spec(spec)
"""
    result = run_program(source)
    assert result.status == "failed" and "sandbox: loading native code" in result.stderr, result
    assert run_program(f"import {name}\n").passed  # the same module from the interpreter's own lib-dynload

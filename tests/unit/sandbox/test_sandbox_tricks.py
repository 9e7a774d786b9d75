"""The audit hook's own rules against Python-level tricks (issue 21, item 2): each attack must end as a failure.

Every route runs twice: in our sandbox, where it must fail with our hook's refusal in stderr, and under the
stand-in guard of test_sandbox_forgery.py with ``STAND_IN_HOOK`` (the nonce in a local, and our hook's rules
as they stood before issue 21), where it must pass: the routes that read memory forge the marker there, the
others did what the rules forbid. So each attack is shown to work, and a test that cannot fail is caught;
``test_the_stand_in_refuses_the_plain_routes`` shows the stand-in's rules refuse the same routes without the
trick, so getting through them is the trick's doing.
"""

from __future__ import annotations

import dis
import sys
import types

import pytest

from pytest_agorabench.sandbox import _guard
from pytest_agorabench.sandbox.programs import verdict
from tests.unit.sandbox.test_sandbox_forgery import MEMORY_SCAN, PRELUDE, run_leaky

MEMORY_OPEN = 'open("/proc/self/mem", "rb", 0)'  # MEMORY_SCAN's reader: each route below replaces it
assert MEMORY_OPEN in MEMORY_SCAN
OUTSIDE = "OUTSIDE_PATH"  # replaced by a file in the test's temporary directory, outside both sandboxes

# Path objects whose text is one path while everything a check can ask of them says another.
LIARS = r'''
class LyingText(str):  # the C call uses its data; its methods answer for "harmless"
    def startswith(self, *args):
        return False
    def partition(self, sep):
        return ("harmless", "", "")
    def split(self, *args, **kwargs):
        return ["harmless"]
    def __eq__(self, other):
        return False
    __hash__ = str.__hash__

class LyingBytes(bytes):
    def decode(self, *args, **kwargs):
        return "harmless"
    def startswith(self, *args):
        return False

class Flip:  # os.PathLike: the call asks first and opens the path, a check asks later and hears "harmless"
    def __init__(self, path):
        self.path, self.calls = path, 0
    def __fspath__(self):
        self.calls += 1
        return self.path if self.calls == 1 else "harmless"
'''

# (a file object for PATH, opened with MODE through the lying object; our refusal when the check
# sees a path object it cannot read exactly, None where it reads the object's true text)
LYING_OBJECTS = {
    "str subclass": ("open(LyingText(PATH), MODE, 0)", None),
    "bytes subclass": ("open(LyingBytes(os.fsencode(PATH)), MODE, 0)", None),
    # os functions and open() ask __fspath__ once and hand the answer to the event; io.FileIO does not.
    "os.PathLike answering twice": ("__import__('io').FileIO(Flip(PATH), MODE)", "open of a path that is not a str"),
}
# (program, given an opener for the target; our refusal)
LYING_TARGETS = {
    "/proc/self/mem": (lambda opener: MEMORY_SCAN.replace(MEMORY_OPEN, opener), "reading this path"),
    "a file outside the directory": (
        lambda opener: f"with {opener} as file:\n    file.write(b'pwned')\n_say('wrote outside')\n",
        "writing outside the working directory",
    ),
    "the parent's /proc entry": (
        lambda opener: f"with {opener} as file:\n    assert b'PPid:' in file.read()\n_say('read the parent')\n",
        "reading this path",
    ),
}
TARGET_ARGUMENTS = {  # (PATH, MODE)
    "/proc/self/mem": ('"/proc/self/mem"', '"rb"'),
    "a file outside the directory": (repr(OUTSIDE), '"wb"'),
    "the parent's /proc entry": ('f"/proc/{os.getppid()}/status"', '"rb"'),
}

# A file-like view of our address space for MEMORY_SCAN, over read_at(address, size).
MEMORY_VIEW = r'''
class Memory:
    def __init__(self, read_at):
        self.read_at, self.at = read_at, 0
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return False
    def seek(self, at):
        self.at = at
    def read(self, size):
        return self.read_at(self.at, size)
'''
# The map is read whole before the scan allocates: a read that bypasses the kernel crashes on a region
# freed since, where /proc/self/mem would fail with an error.
SCAN_THROUGH_VIEW = MEMORY_VIEW + MEMORY_SCAN.replace(MEMORY_OPEN, "Memory(read_at)").replace(
    'open("/proc/self/maps")', '__import__("io").StringIO(open("/proc/self/maps").read())'
)
assert "StringIO" in SCAN_THROUGH_VIEW

# _ctypes reads any address through a pointer in a union, and no audit event is raised for it.
CTYPES_READS = r'''
class c_char(ctypes._SimpleCData):
    _type_ = "c"
class c_size_t(ctypes._SimpleCData):
    _type_ = "Q"
class Address(ctypes.Union):
    _fields_ = [("pointer", ctypes.POINTER(c_char)), ("number", c_size_t)]
address = Address()
def read_at(at, size):
    address.number = at
    return address.pointer[0:size]
'''
# A child interpreter reads our memory and prints the markers: it has no audit hook, and fork_exec raises no
# audit event (subprocess.Popen raises its own, in Python). Arguments as subprocess passes them (3.11-3.13).
SPAWN_SCANNER = r'''
child = SCANNER.replace("/proc/self/", f"/proc/{os.getpid()}/")
errors_read, errors_write = os.pipe()
pid = spawn.fork_exec([sys.executable, "-I", "-S", "-c", child], [os.fsencode(sys.executable)], True, (), None,
    None, -1, -1, -1, -1, -1, -1, errors_read, errors_write, False, False, -1, None, None, None, -1, None, False)
os.waitpid(pid, 0)
_exit(0)
'''.replace("SCANNER", repr(MEMORY_SCAN))

# Native code, loaded: (how, what the module is then used for, our refusal)
NATIVE = {
    "_ctypes under another spec name": (
        r'''
import _imp, importlib.util
spec = importlib.util.find_spec("_ctypes")
spec.name = "renamed._ctypes"
ctypes = _imp.create_dynamic(spec)
''',
        CTYPES_READS + SCAN_THROUGH_VIEW,
        "loading native code",
    ),
    "_ctypes under a name unlike its own text": (
        r'''
class Name(str):  # spells _ctypes, never hashes nor compares like it
    def __hash__(self):
        return 7
    def __eq__(self, other):
        return self is other
ctypes = __import__(Name("_ctypes"))
''',
        CTYPES_READS + SCAN_THROUGH_VIEW,
        "importing _ctypes is not allowed",
    ),
    "_ctypes copied into the directory": (
        r'''
import importlib.util, shutil
shutil.copy(importlib.util.find_spec("_ctypes").origin, "copy.so")
ctypes = importlib.util.module_from_spec(importlib.util.spec_from_file_location("copied._ctypes", "copy.so"))
''',
        CTYPES_READS + SCAN_THROUGH_VIEW,
        "loading native code",
    ),
    "_posixsubprocess under another spec name": (
        r'''
import _imp, importlib.util
spec = importlib.util.find_spec("_posixsubprocess")
spec.name = "renamed._posixsubprocess"
spawn = _imp.create_dynamic(spec)
''',
        SPAWN_SCANNER,
        "loading native code",
    ),
}

# Hand-made bytecode: LOAD_CONST past the end of co_consts (CPython does not check it) returns what a pointer
# we placed there points to: a bytearray header spanning the address space. Offsets: bytes data at 32,
# tuple items at 24, bytearray fields (refcount, type, size, alloc, bytes, start, exports): 3.11-3.13.
FAKE_BYTEARRAY = r'''
import dis, struct
fake = struct.pack("<qqqqqqq", 1 << 40, id(bytearray), 1 << 62, 1 << 62, 0, 0, 0)
holders = []

def pointer_above(base):  # the address of a pointer to fake, stored above base
    while True:
        holders.append(struct.pack("<Q", id(fake) + 32))
        if base < id(holders[-1]) + 32 < base + (1 << 34):
            return id(holders[-1]) + 32

def load_const(k):  # RESUME; LOAD_CONST k; RETURN_VALUE
    ops = dis.opmap
    return bytes([ops["RESUME"], 0, ops["EXTENDED_ARG"], k >> 24 & 255, ops["EXTENDED_ARG"], k >> 16 & 255,
                  ops["EXTENDED_ARG"], k >> 8 & 255, ops["LOAD_CONST"], k & 255, ops["RETURN_VALUE"], 0])

def read_at(at, size):
    return bytes(raw[at:at + size])
'''
BYTECODE = {
    "code.replace": (
        r'''
consts = (None,)
k = (pointer_above(id(consts) + 24) - id(consts) - 24) // 8
code = (lambda: None).__code__.replace(co_code=load_const(k), co_consts=consts)
''',
        "code.__new__ is not allowed",
    ),
    "types.CodeType": (
        r'''
import types
t = (lambda: None).__code__
consts = (None,)
k = (pointer_above(id(consts) + 24) - id(consts) - 24) // 8
code = types.CodeType(t.co_argcount, t.co_posonlyargcount, t.co_kwonlyargcount, t.co_nlocals, t.co_stacksize,
    t.co_flags, load_const(k), consts, t.co_names, t.co_varnames, t.co_filename, t.co_name, t.co_qualname,
    t.co_firstlineno, t.co_linetable, t.co_exceptiontable)
''',
        "code.__new__ is not allowed",
    ),
    # No code object is made in Python: the bytes are patched, and the constants tuple, which marshal makes,
    # lands where the one of a first load was freed (CPython reuses the freed 1-tuple).
    "marshal.loads": (
        r'''
import marshal
template = marshal.dumps((lambda: None).__code__)
plain = load_const(0)[:2] + load_const(0)[8:]
at = template.index(plain)
def crafted(k):
    code = load_const(k)
    return template[:at - 4] + struct.pack("<i", len(code)) + code + template[at + len(plain):]
for attempt in range(20):
    first = marshal.loads(crafted(0))
    base = id(first.co_consts) + 24
    blob = crafted((pointer_above(base) - base) // 8)
    del first
    code = marshal.loads(blob)
    if id(code.co_consts) + 24 == base:
        break
''',
        "marshal.loads of anything but the standard library's .pyc is not allowed",
    ),
}
RUN_BYTECODE = "raw = type(lambda: None)(code, {})()\n"

# What the hook itself relies on, changed by the program before it reads its memory.
HOOK_STATE = {
    "os.path.realpath replaced": "import os.path\nos.path.realpath = lambda path, **kwargs: os.getcwd()\n",
    "builtins.isinstance replaced": r'''
import builtins
real_isinstance = builtins.isinstance
builtins.isinstance = lambda value, kind: kind is int or real_isinstance(value, kind)
''',
    "the guard's global os rebound": r'''
import types
fake = types.ModuleType("os")
vars(fake).update(vars(os))
fake.fsdecode = lambda path: path
fake.path = types.SimpleNamespace(realpath=lambda path, **kwargs: os.getcwd())
sys.modules["__main__"].os = fake
''',
    # A refusal's traceback ends in the hook's frame, whose f_locals hold its free variables: any function
    # there gets code that returns False.
    "functions in the hook's frame rewritten": r'''
def false_code(free):  # returns False, with as many free variables as the function it replaces
    names = [f"v{i}" for i in range(free)]
    source = "def outer():\n" + "".join(f"    {n} = None\n" for n in names) + "    def inner(*args, **kwargs):\n"
    source += (f"        {', '.join(names)}\n" if names else "") + "        return False\n    return inner\n"
    scope = {}
    exec(source, scope)
    return scope["outer"]().__code__
try:
    open("/proc/self/mem", "rb")
except PermissionError as refusal:
    tb = refusal.__traceback__
    while tb.tb_next:
        tb = tb.tb_next
    found = {name: value for name, value in tb.tb_frame.f_locals.items() if type(value) is type(false_code)}
    for function in found.values():
        function.__code__ = false_code(len(function.__code__.co_freevars))
    _say(f"hook frame {tb.tb_frame.f_code.co_name}: functions {sorted(found)}")
''',
}

# The same routes without the trick, which the stand-in's rules refuse.
PLAIN = {
    "/proc/self/mem": MEMORY_SCAN,
    "a file outside the directory": f"open({OUTSIDE!r}, 'w').write('pwned')\n",
    "the parent's /proc entry": "open(f'/proc/{os.getppid()}/status').read()\n",
    "import _ctypes": "import _ctypes\n",
    "import _posixsubprocess": "import _posixsubprocess\n",
}


def run_both(source: str, tmp_path, run_program):
    """Our sandbox's result, then the stand-in's (in its own directory, with its nonce's verdict)."""
    outside = tmp_path / "outside.txt"
    source = PRELUDE + source.replace(OUTSIDE, str(outside))
    ours = run_program(source)
    assert not outside.exists(), "our sandbox let it write outside"
    leaky_dir = tmp_path / "stand-in"
    leaky_dir.mkdir()
    result, nonce = run_leaky(source, leaky_dir, stand_in_hook=True)
    return ours, verdict(result, nonce)


def assert_refused(result, refusal: str) -> None:
    assert result.status == "failed", result
    assert f"sandbox: {refusal}" in result.stderr, result  # our hook's words, not a crash of the attack


@pytest.mark.parametrize("target", sorted(LYING_TARGETS))
@pytest.mark.parametrize("liar", sorted(LYING_OBJECTS))
def test_path_objects_that_lie_to_the_check_are_refused(liar, target, tmp_path, run_program):
    opener, refusal = LYING_OBJECTS[liar]
    path, mode = TARGET_ARGUMENTS[target]
    program, target_refusal = LYING_TARGETS[target]
    source = LIARS + program(opener.replace("PATH", path).replace("MODE", mode))
    ours, stand_in = run_both(source, tmp_path, run_program)
    assert_refused(ours, refusal or target_refusal)
    assert stand_in.status == "passed", stand_in
    if target == "a file outside the directory":
        assert (tmp_path / "outside.txt").read_text() == "pwned"


@pytest.mark.parametrize("route", sorted(NATIVE))
def test_native_code_is_checked_by_what_is_loaded_not_by_its_name(route, tmp_path, run_program):
    load, use, refusal = NATIVE[route]
    ours, stand_in = run_both(load + use, tmp_path, run_program)
    assert_refused(ours, refusal)
    assert stand_in.status == "passed", stand_in


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the attack uses CPython 3.11's bytecode")
@pytest.mark.parametrize("route", sorted(BYTECODE))
def test_hand_made_bytecode_is_refused(route, tmp_path, run_program):
    make, refusal = BYTECODE[route]
    ours, stand_in = run_both(FAKE_BYTEARRAY + make + RUN_BYTECODE + SCAN_THROUGH_VIEW, tmp_path, run_program)
    assert_refused(ours, refusal)
    assert stand_in.status == "passed", stand_in


@pytest.mark.parametrize("route", sorted(HOOK_STATE))
def test_what_the_hook_relies_on_is_out_of_the_programs_reach(route, tmp_path, run_program):
    ours, stand_in = run_both(HOOK_STATE[route] + MEMORY_SCAN, tmp_path, run_program)
    assert_refused(ours, "reading this path")
    assert stand_in.status == "passed", stand_in
    if route.startswith("functions"):  # the route reached our hook's frame and found nothing to rewrite
        assert "hook frame hook: functions []" in ours.stdout, ours


@pytest.mark.parametrize("route", sorted(PLAIN))
def test_the_stand_in_refuses_the_plain_routes(route, tmp_path, fallback):
    outside = tmp_path / "outside.txt"
    (tmp_path / "stand-in").mkdir()
    source = PRELUDE + PLAIN[route].replace(OUTSIDE, str(outside))
    result, nonce = run_leaky(source, tmp_path / "stand-in", stand_in_hook=True)
    assert verdict(result, nonce).status == "failed" and "stand-in: " in result.stderr, result
    assert not outside.exists()


def test_changes_through_a_descriptor_are_refused(tmp_path, run_program):
    # A file outside may be opened to read; chmod, chown, utime and xattrs through that descriptor would
    # change it, so the path events take no descriptors.
    outside = tmp_path / "outside.txt"
    outside.write_text("mine")
    outside.chmod(0o600)
    result = run_program(f"import os\nos.chmod(os.open({str(outside)!r}, os.O_RDONLY), 0o777)\n")
    assert result.status == "failed" and "sandbox: os.chmod of a file descriptor" in result.stderr, result
    assert outside.stat().st_mode & 0o777 == 0o600


def test_the_hook_names_no_global_and_holds_only_c_functions_and_immutable_values():
    # The program rebinds globals and builtins, and reads the hook's free variables from its frame: the hook
    # must look nothing up at call time, and nothing it holds may be a Python function or a mutable object.
    hook = _guard._make_hook("/nonexistent", "/home/nobody", ("/usr",), "/usr/lib/python3", "/usr/lib/dynload", 2, 2)
    codes = [hook.__code__] + [c for c in hook.__code__.co_consts if isinstance(c, types.CodeType)]
    instructions = [(c.co_name, i) for c in codes for i in dis.get_instructions(c)]
    lookups = [(name, i.argval) for name, i in instructions if i.opname.endswith(("_GLOBAL", "_NAME"))]
    assert lookups == [], lookups
    immutable = (str, bytes, int, bool, type(None), frozenset, tuple)
    c_functions = (types.BuiltinFunctionType, types.WrapperDescriptorType, types.MethodDescriptorType)
    held = {name: cell.cell_contents for name, cell in zip(hook.__code__.co_freevars, hook.__closure__)}
    builtin_classes = [value for value in held.values() if isinstance(value, type)]
    assert all(value.__module__ == "builtins" for value in builtin_classes), builtin_classes
    assert all(isinstance(value, immutable + c_functions + (type,)) for value in held.values()), held
    items = [item for value in held.values() if isinstance(value, (tuple, frozenset)) for item in value]
    assert all(type(item) in (str, int) for item in items), items


def test_standard_library_imports_and_path_objects_still_work(run_program):
    # importlib loads .pyc files with marshal.loads (allowed for the standard library's own) and extension
    # modules from lib-dynload (allowed by file, under their own names); pathlib hands the os functions
    # exact text (they ask __fspath__ before the event).
    source = r'''
import collections, dataclasses, decimal, fractions, hashlib, heapq, json, pathlib, statistics, sys, typing, zlib
assert json.loads("[1]") == [1] and fractions.Fraction(1, 3) * 3 == 1 and heapq.nsmallest(1, [2, 1]) == [1]
assert statistics.mean([1, 3]) == 2 and zlib.decompress(zlib.compress(b"x")) == b"x"
print(sorted(m for m in ("_json", "_heapq", "_decimal", "_sha256", "_statistics") if m in sys.modules))
pathlib.Path("folder").mkdir()
pathlib.Path("folder/a").touch()
pathlib.Path("folder/a").write_text("1")
pathlib.Path("folder/a").rename("folder/b")
assert pathlib.Path("folder/b").read_text() == "1"
pathlib.Path("folder/b").unlink()
'''
    result = run_program(source)
    assert result.passed, result
    assert "_heapq" in result.stdout and "_json" in result.stdout, result  # the extensions, not pure-Python fallbacks

"""Every ``AGORABENCH_*`` environment variable we read, declared once: name, type, default and meaning.

Call sites read a variable only through its ``get()`` here, so a bad value fails with the same sentence
wherever it is read; ``validate()`` runs every check at start-up (the plugin's configure, the CLI), so a
typo fails before minutes of generation, not when the stage that reads it starts. An empty value counts
as unset (``VAR= pytest`` is the shell's way to clear one). ``markdown_table()`` renders the README's
table, which a test keeps in step with this list.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.writable import unwritable_reason

PREFIX = "AGORABENCH_"
# Read only by this project's own test suite (conftest.py), not by the plugin: not a typo of ours.
TEST_SUITE_ONLY = frozenset({"AGORABENCH_WHEEL_TEST"})
EMBEDDER_NAMES = ("all-minilm-l6-v2", "hashed")  # intrinsic/embeddings.py EMBEDDERS (a test keeps them equal)
SANDBOX_NAMES = ("agora", "isolated", "docker")  # known without asking inspect's registry
# A host id names folders and temp files in a store shared by several machines: a short name safe in a path.
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


class EnvironmentVariableError(AgoraBenchError, ValueError):
    """An ``AGORABENCH_*`` variable with a value we cannot use; the message names it and the fix."""


class _Bad(ValueError):
    """Raised by a parser: what is wrong with the value, completed into a sentence by Variable.get."""


@dataclass(frozen=True)
class Variable:
    name: str
    kind: str  # the accepted values, in words (the README table and the error)
    default: str  # what happens when it is unset, in words
    meaning: str
    parse: Callable[[str], Any]
    unset: Any = None  # get()'s value when unset

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        value = (os.environ if environ is None else environ).get(self.name, "").strip()
        return value or None

    def get(self, environ: Mapping[str, str] | None = None) -> Any:
        """The typed value, or ``unset``; raises EnvironmentVariableError naming the variable."""
        raw = self.raw(environ)
        if raw is None:
            return self.unset
        try:
            return self.parse(raw)
        except _Bad as exc:
            raise EnvironmentVariableError(
                f"{self.name}={raw!r} {exc}; set it to {self.kind}, or unset it ({self.default})"
            ) from None


def _integer(at_least: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", raw):
            raise _Bad("is not an integer")
        if int(raw) < at_least:
            raise _Bad(f"is below {at_least}")
        return int(raw)

    return parse


def _positive_number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise _Bad("is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise _Bad("is not a positive finite number")
    return value


def _zero_or_one(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise _Bad("is neither 0 nor 1")
    return raw == "1"


def _shell_words(raw: str) -> list[str]:
    try:
        return shlex.split(raw)
    except ValueError as exc:  # shlex: "No closing quotation", "No escaped character"
        raise _Bad(f"is not valid shell quoting ({exc})") from None


def _executable(raw: str) -> str:
    path = Path(raw).expanduser()
    if os.sep not in raw and not path.exists():  # a bare command name: look it up on PATH
        found = shutil.which(raw)
        if found is None:
            raise _Bad("is not a command on PATH")
        return found
    if not path.is_file() or not os.access(path, os.X_OK):
        raise _Bad("is not an executable file")
    return str(path)


def _directory_to_fill(raw: str) -> Path:
    """A directory we may create and write (the model cache): it, or its nearest existing ancestor, must be
    a writable directory. Nothing is created here."""
    path = Path(raw).expanduser()
    why = unwritable_reason(path)
    if why:
        raise _Bad(f"cannot be written ({why})")
    return path


def _embedder(raw: str) -> str:
    # The name, not the expanded path: it is part of the intrinsic stage's cache key.
    if raw in EMBEDDER_NAMES or Path(raw).expanduser().is_dir():
        return raw
    raise _Bad("is neither a known embedder nor an existing directory")


def _sandbox(raw: str) -> tuple[str, str | None]:
    name, _, config = raw.partition(":")
    if name == "local":
        raise _Bad("would run untrusted code with no limits at all")
    if name not in SANDBOX_NAMES:
        from inspect_ai.util._sandbox.registry import registry_has_sandboxenv

        import pytest_agorabench.sandbox.inspect_env  # noqa: F401 - registers ours before the look-up

        if not registry_has_sandboxenv(name):
            hint = difflib.get_close_matches(name, SANDBOX_NAMES, n=1)
            raise _Bad(f"names no inspect sandbox{f' (did you mean {hint[0]!r}?)' if hint else ''}")
    return name, config or None


def _host_name(raw: str) -> str:
    if not HOST_NAME.fullmatch(raw):
        raise _Bad("cannot name files in a shared store")
    return raw


CPU_SHARE = Variable(
    "AGORABENCH_CPU_SHARE", "an integer of at least 1", "unset: set by us only",
    "set by the plugin in each xdist worker beside OMP_NUM_THREADS (its share of the cores); not for users",
    _integer(1),
)
EMBEDDER = Variable(
    "AGORABENCH_EMBEDDER", "all-minilm-l6-v2, hashed or the directory of an encoder model",
    "all-minilm-l6-v2", "the embedder of the diversity metric (intrinsic metrics)", _embedder,
    unset="all-minilm-l6-v2",
)
HOST_ID = Variable(
    "AGORABENCH_HOST_ID", "a name of at most 63 letters, digits, '.', '_' or '-', the first a letter or digit",
    "the host name",
    "this machine's name in a store shared by several machines (server records, temp files, the report)",
    _host_name,
)
MODEL_CACHE = Variable(
    "AGORABENCH_MODEL_CACHE", "a writable directory (created when missing)", "~/.cache/pytest-agorabench/models",
    "where converted local models (SmolLM2, MiniLM) are kept", _directory_to_fill,
)
SANDBOX = Variable(
    "AGORABENCH_SANDBOX",
    "agora, isolated (agora, and a start-up error where its namespace boundary is missing), docker, "
    "docker:FILE (a compose file) or another inspect sandbox as NAME[:CONFIG]",
    "agora", "the inspect sandbox code benchmarks run in", _sandbox, unset=("agora", None),
)
SANDBOX_DROP_ROOT = Variable(
    "AGORABENCH_SANDBOX_DROP_ROOT", "0 or 1", "1",
    "as root, run sandboxed programs as nobody (0: keep our uid)", _zero_or_one, unset=True,
)
SANDBOX_NETNS = Variable(
    "AGORABENCH_SANDBOX_NETNS", "0 or 1", "1",
    "run sandboxed programs in an empty network namespace where Linux allows (0: never)", _zero_or_one,
    unset=True,
)
SANDBOX_PYTHON = Variable(
    "AGORABENCH_SANDBOX_PYTHON", "an executable file or a command on PATH", "the python running pytest",
    "the interpreter of sandboxed programs", _executable,
)
SANDBOX_WORKERS = Variable(
    "AGORABENCH_SANDBOX_WORKERS", "an integer of at least 1", "the CPUs this process may use",
    "sandboxed programs run at once", _integer(1),
)
SMOKE_REWARD_STEPS = Variable(
    "AGORABENCH_SMOKE_REWARD_STEPS", "an integer of at least 1", "60",
    "training steps of the smoke profile's reward model (fewer: faster tests of the machinery)", _integer(1),
    unset=60,  # intrinsic/smoke_reward.DEFAULT_STEPS (a test keeps them equal)
)
TIMEOUT_SCALE = Variable(
    "AGORABENCH_TIMEOUT_SCALE", "a positive number", "measured once per process",
    "factor on sandboxed programs' time limits (a slow machine: above 1)", _positive_number,
)
VLLM_ARGS = Variable(
    "AGORABENCH_VLLM_ARGS", "server flags in shell quoting", "none",
    "extra flags appended to the vllm server's command line", _shell_words, unset=[],
)
VLLM_PYTHON = Variable(
    "AGORABENCH_VLLM_PYTHON", "an executable python that can import vllm", "ours, when vllm imports here",
    "the interpreter that runs vllm servers (checked for vllm when a server is needed)", _executable,
)
VLLM_START_TIMEOUT = Variable(
    "AGORABENCH_VLLM_START_TIMEOUT", "a positive number of seconds", "900",
    "how long a vllm server may take to answer its health check", _positive_number, unset=900.0,
)

VARIABLES: tuple[Variable, ...] = (
    CPU_SHARE, EMBEDDER, HOST_ID, MODEL_CACHE, SANDBOX, SANDBOX_DROP_ROOT, SANDBOX_NETNS, SANDBOX_PYTHON,
    SANDBOX_WORKERS, SMOKE_REWARD_STEPS, TIMEOUT_SCALE, VLLM_ARGS, VLLM_PYTHON, VLLM_START_TIMEOUT,
)
BY_NAME = {v.name: v for v in VARIABLES}


def validate(environ: Mapping[str, str] | None = None) -> None:
    """Check every declared variable that is set, and refuse a near-miss name (a typo would be ignored)."""
    environ = os.environ if environ is None else environ
    problems = []
    for variable in VARIABLES:
        try:
            variable.get(environ)
        except EnvironmentVariableError as exc:
            problems.append(str(exc))
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in BY_NAME and name not in TEST_SUITE_ONLY:
            hint = difflib.get_close_matches(name, list(BY_NAME), n=1, cutoff=0.85)
            if hint:
                problems.append(f"{name} is not a variable pytest-agorabench reads; did you mean {hint[0]}?")
    if problems:
        raise EnvironmentVariableError("; ".join(problems))


def markdown_table() -> str:
    """The README's table of variables."""
    lines = ["| Variable | Accepts | When unset | Meaning |", "|---|---|---|---|"]
    lines += [f"| `{v.name}` | {v.kind} | {v.default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(lines) + "\n"

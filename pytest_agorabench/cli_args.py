"""Argument checks shared by the ``agorabench`` subcommands (and by the saved-run checks of a pytest run):
each checks one value's kind (a file to read, a folder to read, a file or folder to write, a bounded number)
before any work, so a bad argument costs one sentence, never a traceback or an hour of work.

``check_*`` raise ArgumentCheckError(label, ...); the argparse ``type=`` helpers below wrap them, and argparse
names the argument in its message."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.writable import unwritable_reason


class ArgumentCheckError(AgoraBenchError):
    """A path of the wrong kind (a file where a folder is needed, unreadable, unwritable) or an odd number."""


def check_readable_file(label: str, value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise ArgumentCheckError(f"{label}: {path} does not exist; name an existing file")
    if not path.is_file():
        raise ArgumentCheckError(f"{label}: {path} is not a file; name a file")
    if not os.access(path, os.R_OK):
        raise ArgumentCheckError(f"{label}: {path} is not readable; fix its permissions")
    return path


def check_readable_dir(label: str, value: str | os.PathLike[str]) -> Path:
    path = Path(value).expanduser()
    if not path.exists():
        raise ArgumentCheckError(f"{label}: {path} does not exist; name an existing folder")
    if not path.is_dir():
        raise ArgumentCheckError(f"{label}: {path} is a file, not a folder; name a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ArgumentCheckError(f"{label}: {path} is not readable; fix its permissions")
    return path


def check_writable(label: str, value: str | os.PathLike[str], kind: str) -> Path:
    """``value`` can be written as ``kind`` ("file" or "folder"): an existing one of that kind in a writable
    place, or a new one whose nearest existing ancestor is a writable folder. Nothing is created here."""
    path = Path(value).expanduser()
    if kind == "file" and path.is_dir():
        raise ArgumentCheckError(f"{label}: {path} is a folder; name the file to write")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise ArgumentCheckError(f"{label}: {path} is a file; name a folder to write into")
    why = unwritable_reason(path if kind == "folder" and path.is_dir() else path.parent)
    if why:
        raise ArgumentCheckError(f"{label}: cannot write {path}: {why}; choose a writable path")
    return path


def check_number(label: str, value: float, low: float | None = None, high: float | None = None) -> float:
    # nan compares false with every bound, so a nan margin would be a gate that never fails.
    if not math.isfinite(value):
        raise ArgumentCheckError(f"{label}: expected a finite number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"{low:g} .. {high:g}" if low is not None and high is not None else (
            f"at least {low:g}" if low is not None else f"at most {high:g}")
        raise ArgumentCheckError(f"{label}: must be {span}, got {value:g}")
    return value


# ---------------------------------------------------------------------------------------- argparse types


def _type(check: Callable[[str], Any], name: str) -> Callable[[str], Any]:
    def convert(value: str) -> Any:
        try:
            return check(value)
        except ArgumentCheckError as exc:
            # argparse prefixes "argument --flag:", so drop our own label
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None

    convert.__name__ = name  # argparse's "invalid <name> value" names the kind
    return convert


readable_file = _type(lambda v: check_readable_file("", v), "file")
readable_dir = _type(lambda v: check_readable_dir("", v), "folder")
writable_file = _type(lambda v: check_writable("", v, "file"), "file")
writable_dir = _type(lambda v: check_writable("", v, "folder"), "folder")


def number(kind: type, low: float | None = None, high: float | None = None) -> Callable[[str], Any]:
    """An int or float argument within [low, high]."""

    def check(value: str) -> Any:
        try:
            parsed = kind(value)
        except ValueError:
            raise ArgumentCheckError(f": expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
        return check_number("", parsed, low, high)

    return _type(check, kind.__name__)


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line on stderr (exit 2), like our own errors."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")

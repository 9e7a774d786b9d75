"""Path options, one rule for all: ``~`` expands to the home directory and a relative path resolves against
the rootdir (where pytest found pytest.ini / pyproject.toml), for the command line and pyproject alike.

Each is checked for its kind (file / folder / writable) before any work, and nothing is created here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.writable import unwritable_reason

RULE = "~ expands to your home; a relative path resolves against the rootdir"
# Words that mean "no such report": a file literally named "off" is never what was meant.
OFF = ("off", "none", "false")


class ConfigError(AgoraBenchError, ValueError):
    """A bad option value; the plugin turns it into a pytest UsageError."""


def resolve(value: str | os.PathLike[str], rootdir: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else rootdir / path


def is_off(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in OFF


def report_file(flag: str, value: Any, rootdir: Path) -> Path | None:
    """A report file a run will write, checked to be writable now, before the work that fills it (also for
    ``agorabench report``'s outputs)."""
    if value is None:
        return None
    path = resolve(value, rootdir)
    if path.is_dir():
        raise ConfigError(f"{flag}: {path} is a directory; name the report file to write")
    check_writable_dir(flag, path.parent, path)
    return path


def check_writable_dir(flag: str, directory: Path, target: Path | None = None) -> None:
    """Fail at start-up, not after hours of generation and training, when the run could not write into
    ``directory`` (``target``, the path the option names, is in it or is it): it must be a writable
    directory, or be creatable under its nearest existing ancestor."""
    why = unwritable_reason(directory)
    if why:
        raise ConfigError(f"{flag}: cannot write {target or directory}: {why}; choose a writable path")


def looks_like_path(name: str) -> bool:
    """A model name meant as a local folder: a hub id is exactly ``org/name``, never ``/x``, ``./x``, ``~/x``
    or ``a/b/c``."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name


def local_weights(flag: str, name: str, rootdir: Path) -> str:
    """``name`` as given (an alias or a hub id), or the absolute folder it names, which must exist now:
    training would otherwise fail after generation, minutes or hours in. ``org/name`` that exists as a
    folder under the rootdir is that folder."""
    if looks_like_path(name):
        folder = resolve(name, rootdir)
        if not folder.is_dir():
            what = "a file" if folder.exists() else "missing"
            raise ConfigError(
                f"{flag}: the model folder {folder} is {what}; name an existing folder of weights, an alias or a "
                "hub id (org/name)"
            )
        return str(folder)
    if "/" in name and (rootdir / name).is_dir():
        return str(rootdir / name)
    return name


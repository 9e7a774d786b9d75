"""Where our offline data lives (the ``fixtures/`` we write: seeds, benchmark items, paper tables, prompt
examples): the one place that knows, so a checkout and an installed wheel differ only here.

In a checkout the data is ``<repo>/fixtures``; an installed wheel carries it as package data under
``pytest_agorabench/_fixtures``.
"""

from __future__ import annotations

from pathlib import Path

from pytest_agorabench.errors import AgoraBenchError

_PACKAGE = Path(__file__).resolve().parent
_CANDIDATES = (_PACKAGE.parent / "fixtures", _PACKAGE / "_fixtures")


class OfflineDataError(AgoraBenchError, LookupError):
    """Our offline data is missing from this installation."""


def fixtures_dir() -> Path:
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    raise OfflineDataError(
        "pytest-agorabench's offline data (seeds, benchmark items, paper tables) is not installed: looked in "
        + " and ".join(str(c) for c in _CANDIDATES)
        + ". Reinstall the package, or point the run at your own data (--agora-seed-file, --agora-benchmark-dir)."
    )


def fixture_path(*parts: str) -> Path:
    """A path inside our offline data, e.g. ``fixture_path("seeds", "math", "instance_generation.jsonl")``."""
    return fixtures_dir().joinpath(*parts)

"""The store as a folder on disk: the names its top level may hold, the marker that says we made it, what
else lies there (a user's files, never ours to touch), and ``clear``, which deletes only our own entries.
store.py builds the artifacts inside it."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pytest_agorabench.files import StoreError, write_json_atomic

REPORT_FILE = "report.json"
MARKER = ".agorabench-store"
# Every top-level name a store holds: --clear deletes these and nothing else, and a folder holding only these
# (a store made before the marker) is marked when opened.
LAYOUT = frozenset({
    "artifacts", "journals", "continuations", "locks", "tmp", "damaged", "logs", "judgments", "progress", "cluster",
    "servers", "runs", REPORT_FILE, "report.html", MARKER,
    "checkpoints",
})
# Saved runs are baselines a user keeps on purpose: clearing the cache must not take them (delete them yourself).
KEPT_ON_CLEAR = ("runs",)


def is_store(root: Path) -> bool:
    """``root`` holds our marker: it is a folder we made as a store."""
    try:
        return json.loads((root / MARKER).read_text()).get("created_by") == "pytest-agorabench"
    except (OSError, ValueError, AttributeError):
        return False


def foreign_entries(root: Path) -> list[str]:
    """Top-level names in ``root`` that no store of ours holds (a user's files)."""
    return sorted(p.name for p in root.iterdir() if p.name not in LAYOUT and not _atomic_leftover(p.name))


def _atomic_leftover(name: str) -> bool:
    # write_json_atomic's temp file of a top-level file of ours, left by a killed (or concurrent) process
    return name.endswith(".tmp") and any(name.startswith(f".{f}.") for f in (REPORT_FILE, MARKER))


def mark_store(root: Path, version: str | None) -> None:
    """Write the marker (made by ``version`` of pytest-agorabench) into a new or empty folder, or into a store
    made before the marker (its top level is only store names). A folder with other files is used but never
    marked, so --clear never empties it."""
    if (root / MARKER).exists():
        return
    try:
        if foreign_entries(root):
            return
    except OSError as exc:
        raise StoreError(f"cannot read the store {root}: {exc.strerror or exc}") from None
    write_json_atomic(root / MARKER, {"created_by": "pytest-agorabench", "version": version})


@dataclass(frozen=True)
class Clearing:
    """What ``clear`` deletes (or deleted): per top-level entry, files and bytes; and what it leaves."""

    entries: dict[str, tuple[int, int]]
    kept: list[str]

    @property
    def files(self) -> int:
        return sum(n for n, _ in self.entries.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.entries.values())


def clearing(root: Path) -> Clearing:
    """What ``clear(root)`` would delete; StoreError, deleting nothing, when ``root`` is not a marked store."""
    if not is_store(root):
        raise StoreError(
            f"--store: {root} has no {MARKER} marker, so it is not a store made by pytest-agorabench: nothing "
            f"deleted; if it is a store made by an older version, list it once with 'agorabench cache --store "
            f"{root}' (which marks a folder holding only store files), then clear it, or delete it yourself"
        )
    entries = {}
    for entry in sorted(root.iterdir()):
        if entry.name in (MARKER, *KEPT_ON_CLEAR) or entry.name not in LAYOUT and not _atomic_leftover(entry.name):
            continue
        files = [entry] if not entry.is_dir() or entry.is_symlink() else [f for f in entry.rglob("*") if not f.is_dir()]
        entries[entry.name] = (len(files), sum(f.lstat().st_size for f in files))
    kept = sorted(name for name in KEPT_ON_CLEAR if (root / name).exists())
    return Clearing(entries, kept + foreign_entries(root))


def clear(root: Path) -> Clearing:
    """Delete the store's own entries (never a file it did not make); the folder goes too when nothing else is
    left in it."""
    plan = clearing(root)
    for name in plan.entries:
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if not plan.kept:
        (root / MARKER).unlink()
        root.rmdir()
    return plan

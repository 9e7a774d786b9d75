"""The files every stage writes, with no notion of where they live: canonical JSON and its hashes, JSON
written atomically, JSONL, and the append-only ``Journal`` that lets a killed stage resume.

Library packages (generation, evaluation, seeds) use it without importing the store, and ``store.py``
builds its layout on it; it needs only the host id (hosts.py) for its temp files' names.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.hosts import host_id


class StoreError(AgoraBenchError, RuntimeError):
    """A store or journal file that cannot be written (disk full) or read back (damaged)."""


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def text_hash(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def rows_hash(rows: list[dict[str, Any]]) -> str:
    return text_hash(canonical_json(rows))


def atomic_temp(path: Path) -> Path:
    """The temp file ``write_json_atomic`` renames onto ``path``: named by host id and pid, as two nodes sharing
    a store may run the same pid."""
    return path.with_name(f".{path.name}.{host_id()}.{os.getpid()}.tmp")


def write_json_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_temp(path)
    with disk_errors(path):
        with open(tmp, "w") as fh:
            json.dump(value, fh, indent=2, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with disk_errors(path):
        with open(path, "w") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read JSONL; a torn last line (a write cut by a kill) is ignored, a torn middle line is an error."""
    rows: list[dict[str, Any]] = []
    if not path.exists():
        return rows
    lines = path.read_text().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if i >= len(lines) - 2:  # the last non-empty line: a write interrupted mid-row
                break
            raise StoreError(f"{path}: line {i + 1} is not valid JSON ({exc.msg})") from exc
    return rows


@contextmanager
def disk_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(f"disk full while writing {path}: free space and rerun; finished work is kept") from exc
        raise


class Journal:
    """Append-only JSONL of finished units of a stage that is still running (e.g. generated samples).

    Each row carries a unique ``id``. Rows are fsynced one by one, so a kill loses at most the row being
    written; on reopen, rows already present are reported by ``done_ids`` and a duplicate append is refused.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._rows = read_jsonl(path)
        self._ids = {r["id"] for r in self._rows}
        self._repair_torn_tail()

    def _repair_torn_tail(self) -> None:
        # Rewrite the file without a torn last line so later appends start on a clean line.
        if self.path.exists():
            raw = self.path.read_text()
            if raw and not raw.endswith("\n"):
                write_jsonl(self.path, self._rows)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    @property
    def done_ids(self) -> set[str]:
        return set(self._ids)

    def append(self, row: dict[str, Any]) -> bool:
        """Append one row; returns False (and writes nothing) if its id is already journaled."""
        if row["id"] in self._ids:
            return False
        line = json.dumps(row, ensure_ascii=False, default=str) + "\n"
        with disk_errors(self.path):
            with open(self.path, "a") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        self._rows.append(row)
        self._ids.add(row["id"])
        return True

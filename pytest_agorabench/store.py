"""Content-addressed artifact store.

Every stage writes one artifact: a directory named by the hash of all its inputs. Writes are atomic
(build in a temp dir, then rename), a per-key file lock makes concurrent xdist workers compute a key
once, and a journal (append-only JSONL, fsynced per row) lets a killed stage resume with no lost or
duplicated rows.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from filelock import FileLock

MANIFEST = "manifest.json"
_VERSIONED_PACKAGES = ("pytest-agorabench", "torch", "transformers", "trl", "inspect-ai", "datasets")


class StoreError(RuntimeError):
    pass


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_key(stage: str, inputs: dict[str, Any]) -> str:
    """sha256 over the stage name and its canonical inputs (which include the stage version)."""
    return hashlib.sha256(canonical_json({"stage": stage, "inputs": inputs}).encode()).hexdigest()


def text_hash(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def rows_hash(rows: list[dict[str, Any]]) -> str:
    return text_hash(canonical_json(rows))


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@dataclass(frozen=True)
class Artifact:
    stage: str
    key: str
    path: Path
    manifest: dict[str, Any]
    cached: bool  # True when served from the store without recomputation

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text())

    def read_jsonl(self, name: str) -> list[dict[str, Any]]:
        return read_jsonl(self.path / name)


def write_json_atomic(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with _disk_errors(path):
        with open(tmp, "w") as fh:
            json.dump(value, fh, indent=2, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with _disk_errors(path):
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
def _disk_errors(path: Path) -> Iterator[None]:
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
        with _disk_errors(self.path):
            with open(self.path, "a") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        self._rows.append(row)
        self._ids.add(row["id"])
        return True


class Store:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, stage: str, key: str) -> Path:
        return self.root / "artifacts" / stage / key[:2] / key

    def lock(self, stage: str, key: str) -> FileLock:
        """A cross-process lock per (stage or name, key): artifacts, and journals several artifacts continue."""
        lock_dir = self.root / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(lock_dir / f"{stage}-{key}.lock"))

    def journal(self, stage: str, key: str) -> Journal:
        return Journal(self.root / "journals" / stage / f"{key}.jsonl")

    def get(self, stage: str, key: str) -> Artifact | None:
        final = self.path(stage, key)
        manifest = final / MANIFEST
        if not manifest.exists():
            return None
        return Artifact(stage, key, final, json.loads(manifest.read_text()), cached=True)

    def once(
        self,
        stage: str,
        inputs: dict[str, Any],
        build: Callable[[Path, str], dict[str, Any] | None],
    ) -> Artifact:
        """Return the artifact for (stage, inputs), building it at most once across processes.

        ``build(workdir, key)`` writes its files into ``workdir`` and may return extra manifest fields.
        The finished directory appears atomically; a build that raises leaves nothing behind but its
        journal (if it used one), so the next call resumes.
        """
        key = content_key(stage, inputs)
        existing = self.get(stage, key)
        if existing is not None:
            return existing
        with self.lock(stage, key):
            existing = self.get(stage, key)  # another worker may have finished while we waited
            if existing is not None:
                return existing
            tmp = self.root / "tmp" / f"{stage}-{key}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            started = time.time()
            try:
                extra = build(tmp, key) or {}
                manifest = {
                    "stage": stage,
                    "key": key,
                    "inputs": inputs,
                    "versions": package_versions(),
                    "started": started,
                    "seconds": round(time.time() - started, 3),
                    **extra,
                }
                write_json_atomic(tmp / MANIFEST, manifest)
                final = self.path(stage, key)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            journal = self.root / "journals" / stage / f"{key}.jsonl"
            journal.unlink(missing_ok=True)  # its rows now live in the artifact
            return Artifact(stage, key, final, manifest, cached=False)

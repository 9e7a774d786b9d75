"""Content-addressed artifact store: the only module that spells paths inside the store.

Every stage writes one artifact: a directory named by the hash of all its inputs. Writes are atomic
(build in a temp dir, then rename), a per-key file lock makes concurrent xdist workers compute a key
once, and a journal (append-only JSONL, fsynced per row) lets a killed stage resume with no lost or
duplicated rows. The manifest lists every file with its size and sha256 (inventory.py); an artifact that
no longer matches it (truncated, torn, deleted), or whose manifest has no inventory and is not exactly what the
store wrote before inventories, is never served: it is moved aside and recomputed. Layout under the root::

    artifacts/<stage>/<key[:2]>/<key>/   finished artifacts (manifest.json + the stage's files)
    journals/<stage>/<key>.jsonl         journals of stages still running (or killed): a rerun resumes them
    continuations/<stage>/<key>.json     which artifact carries a finished journal, so a larger request continues it
    checkpoints/<stage>/<key>/           training checkpoints of a key not yet built: a rerun resumes from them
    locks/<name>-<key>.lock              cross-process locks
    tmp/<stage>-<key>-<host>-<pid>/      artifacts being built (<host>: hosts.host_id(), as below)
    damaged/<stage>-<key>-<time>/        artifacts that failed their check when served, kept for a look
    logs/<stage>/[<key>/]                inspect-ai eval logs
    judgments/                           the judgment cache of the judged benchmarks
    progress/<session id>/<worker>.jsonl live progress events of a running session (removed at its end)
    cluster/<session id>/                a Ray session's case attempts by node (removed at its end)
    report.json                          the JSON report when no --agora-json is given (report.html beside it)
    servers/<host>/                      records and leases of shared model servers, per host id
    runs/<name>/                         saved runs kept by name (--agora-save NAME)
    .agorabench-store                    the marker: this folder is a store we made (``agorabench cache --clear``
                                         deletes nothing in a folder without it)
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from pytest_agorabench.files import (
    Journal,
    StoreError,
    canonical_json,
    read_jsonl,
    text_hash,
    write_json_atomic,
)
from pytest_agorabench.hosts import host_id
from pytest_agorabench.inventory import damage, inventory, legacy_damage
from pytest_agorabench.store_folder import MARKER, REPORT_FILE, is_store, mark_store

__all__ = [
    "UNCHECKED", "Artifact", "Store", "StoreError", "Verification", "content_key", "package_versions", "progress_dir",
]

MANIFEST = "manifest.json"
JOURNAL_FILE = "journal.jsonl"  # a finished stage's journal, kept inside its artifact
# A temp build dir: <stage>-<key>-<host>-<pid>, or <stage>-<key>-<pid> as older versions named it (a host id
# may hold dashes; the key, a sha256, never does).
_TMP_NAME = re.compile(r"(?P<stage>.+?)-(?P<key>[0-9a-f]{64})-(?:.+-)?\d+")
_VERSIONED_PACKAGES = ("pytest-agorabench", "torch", "transformers", "trl", "inspect-ai", "datasets")

# The manifest the store wrote before inventories (added in commit 04dc19b): exactly these fields, plus the one
# field its stage's build returned, with that stage's version of the time in its inputs. Only a manifest of
# this shape naming its own artifact is served without an inventory (its JSON parsed, nothing more): anything
# else without one ({} from a careless edit, say) would let any change to the files through, so it is damage.
_OLDER_FIELDS = frozenset({"stage", "key", "inputs", "versions", "started", "seconds"})
_OLDER_STAGES = {  # stage: (the field its build returned, its version in the inputs)
    "student_init": ("stats", 1),
    "generation": ("summary", [1, 1]),  # [stage version, generation version]
    "training": ("stats", 1),
    "evaluation": ("items", 1),
    "intrinsic": ("metrics", 1),
    "reward_init": ("stats", 1),
}
_OLDER_PACKAGES = frozenset({"python", "pytest-agorabench", "torch", "transformers", "trl", "inspect-ai", "datasets"})
UNCHECKED = ("served unchecked: its manifest predates inventories, so only its JSON was parsed "
             "('agorabench cache --verify --upgrade' gives it an inventory)")


def content_key(stage: str, inputs: dict[str, Any]) -> str:
    """sha256 over the stage name and its canonical inputs (which include the stage version)."""
    return text_hash(canonical_json({"stage": stage, "inputs": inputs}))


def progress_dir(root: str | os.PathLike[str], session_id: str) -> Path:
    """Where a session's workers write their progress events (report/progress_events.py). A function of the
    root, not only a Store method: the display polls it before any case has created the store."""
    return Path(root).expanduser().resolve() / "progress" / session_id


def probe_files(root: str | os.PathLike[str], session: str) -> tuple[Path, Path]:
    """The lock and the token file of a session's proof that every node shares this store (shared_store.py).
    A function of the root, not a Store method: a node looks without creating anything."""
    locks = Path(root) / "locks"
    return locks / f"store-probe-{session}.lock", locks / f"store-probe-{session}.json"


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
    waited: bool = False  # served after waiting for another process that was computing it
    repaired: str | None = None  # recomputed because the stored copy was damaged: why
    unchecked: bool = False  # written before inventories: served with parse checks only (UNCHECKED)

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text())

    def read_jsonl(self, name: str) -> list[dict[str, Any]]:
        return read_jsonl(self.path / name)


@dataclass(frozen=True)
class Verification:
    """What ``Store.verify`` found: per artifact, (stage, key), with why for the damaged."""

    verified: list[tuple[str, str]]
    damaged: list[tuple[str, str, str]]
    unchecked: list[tuple[str, str]]  # written before inventories; their JSON parses, nothing else is known
    upgraded: list[tuple[str, str]]  # of those, given an inventory of their files as they are now


@dataclass(frozen=True)
class StageUsage:
    stage: str
    artifacts: int
    bytes: int


class Store:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        mark_store(self.root, package_versions()["pytest-agorabench"])
        self._sweep_tmp()

    def _sweep_tmp(self) -> None:
        """Remove temp dirs no process is building: a killed build leaves one, and its key may never be
        built again. A dir whose key's lock is free has no builder (the builder holds the lock throughout)."""
        for tmp in (self.root / "tmp").glob("*-*-*"):
            named = _TMP_NAME.fullmatch(tmp.name)
            if named is None:
                continue  # not a name we give: not ours to delete
            lock = self.lock(named["stage"], named["key"])
            if _try_acquire(lock):
                try:
                    shutil.rmtree(tmp, ignore_errors=True)
                finally:
                    lock.release()

    # ------------------------------------------------------------------ the layout

    def path(self, stage: str, key: str) -> Path:
        return self.root / "artifacts" / stage / key[:2] / key

    def lock(self, stage: str, key: str) -> FileLock:
        """A cross-process lock per (stage or name, key): artifacts, and journals several artifacts continue."""
        lock_dir = self.root / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(lock_dir / f"{stage}-{key}.lock"))

    def journal_lock(self, stage: str, key: str) -> FileLock:
        """Held while a journal is filled, and while a finished one moves into its artifact."""
        return self.lock(f"{stage}-journal", key)

    def _journal_path(self, stage: str, key: str) -> Path:
        return self.root / "journals" / stage / f"{key}.jsonl"

    def _continuation_path(self, stage: str, key: str) -> Path:
        return self.root / "continuations" / stage / f"{key}.json"

    def checkpoints_dir(self, stage: str, key: str) -> Path:
        """Checkpoints of a build of ``key`` that outlive its process (a temp dir does not), so a killed or
        retried build resumes from them; the stage removes them once its artifact is committed."""
        return self.root / "checkpoints" / stage / key

    def unfinished_checkpoints(self) -> list[Path]:
        """Checkpoint folders of builds not finished (killed, or running now)."""
        return sorted(p for p in (self.root / "checkpoints").glob("*/*") if p.is_dir())

    def log_dir(self, stage: str, key: str | None = None) -> Path:
        """Where a stage's inspect logs go (``inspect view --log-dir``): per artifact key, or one folder."""
        base = self.root / "logs" / stage
        return base / key if key else base

    def servers_dir(self) -> Path:
        """Records and leases of the model servers running on this host (serving/server_records.py)."""
        return self.root / "servers" / host_id()

    def runs_dir(self) -> Path:
        """Saved runs kept by name (``--agora-save NAME``; gate/saved_runs.py)."""
        return self.root / "runs"

    def progress_dir(self, session_id: str) -> Path:
        return progress_dir(self.root, session_id)

    def cluster_dir(self, session_id: str) -> Path:
        """A --agora-ray session's records written by its nodes (cluster/node_work.py)."""
        return self.root / "cluster" / session_id

    def judgments_dir(self) -> Path:
        return self.root / "judgments"

    def report_path(self) -> Path:
        return self.root / REPORT_FILE

    # ------------------------------------------------------------------ journals

    def journal(self, stage: str, key: str) -> Journal:
        """The journal ``key`` of ``stage``. A journal whose stage finished lives in that artifact; opening
        it again (a larger request that continues the same rows) starts from those rows."""
        path = self._journal_path(stage, key)
        if not path.exists():
            carried = self._carried_journal(stage, key)
            if carried is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(carried, path)
        return Journal(path)

    def _carried_journal(self, stage: str, key: str) -> Path | None:
        pointer = self._continuation_path(stage, key)
        try:
            artifact_key = json.loads(pointer.read_text())["artifact"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        carried = self.path(stage, artifact_key) / JOURNAL_FILE
        return carried if carried.is_file() else None

    def unfinished_journals(self) -> list[Path]:
        return sorted((self.root / "journals").rglob("*.jsonl"))

    # ------------------------------------------------------------------ artifacts

    def get(self, stage: str, key: str) -> Artifact | None:
        """The artifact if it is stored and intact (see ``check``), else None."""
        found, _ = self.check(stage, key)
        return found

    def check(self, stage: str, key: str, full: bool = False) -> tuple[Artifact | None, str | None]:
        """(the intact artifact, None), (None, why it is damaged), or (None, None) when it is not stored.
        ``full`` hashes every file, weights included (``agorabench cache --verify``)."""
        final = self.path(stage, key)
        manifest_path = final / MANIFEST
        if not manifest_path.exists():
            return None, None
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as exc:
            return None, f"{MANIFEST} cannot be read ({exc})"
        if not isinstance(manifest, dict):
            return None, f"{MANIFEST} is not a JSON object"
        older = "files" not in manifest
        if not older:
            named = (manifest.get("stage"), manifest.get("key")) == (stage, key)
            why = damage(final, manifest["files"], full=full) if named else f"{MANIFEST} does not name this artifact"
        elif _older_manifest(stage, key, manifest):
            why = legacy_damage(final)
        else:
            why = f"{MANIFEST} has no inventory and is not a manifest written before inventories"
        if why is not None:
            return None, why
        return Artifact(stage, key, final, manifest, cached=True, unchecked=older), None

    def _set_aside(self, stage: str, key: str, why: str) -> Path:
        """Move a damaged artifact out of the way (kept for a look, never served) and say where."""
        aside = self.root / "damaged" / f"{stage}-{key}-{int(time.time())}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path(stage, key), aside)
        (aside / "DAMAGED.txt").write_text(why + "\n")
        return aside

    def _clear_leftovers(self, stage: str, key: str) -> None:
        """Under the key's lock: temp dirs and partial inspect logs of earlier builds of this key are stale
        (their processes died; a live builder would hold the lock)."""
        for tmp in (self.root / "tmp").glob(f"{stage}-{key}-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(self.log_dir(stage, key), ignore_errors=True)

    def once(
        self,
        stage: str,
        inputs: dict[str, Any],
        build: Callable[[Path, str], dict[str, Any] | None],
        journal: str | None = None,
    ) -> Artifact:
        """Return the artifact for (stage, inputs), building it at most once across processes.

        ``build(workdir, key)`` writes its files into ``workdir`` and may return extra manifest fields.
        The finished directory appears atomically; a build that raises leaves nothing behind but its
        journal, so the next call resumes. ``journal`` names the journal of ``stage`` the build fills (default:
        the artifact's own key); on success it moves into the artifact, so no journal is left behind.
        """
        key = content_key(stage, inputs)
        existing = self.get(stage, key)
        if existing is not None:
            return existing
        lock = self.lock(stage, key)
        waited = not _try_acquire(lock)
        if waited:
            lock.acquire()  # another process is computing this key: its result is ours when it is done
        try:
            existing, why = self.check(stage, key)
            if existing is not None:
                return dataclasses.replace(existing, waited=waited)
            repaired = None
            if why is not None:
                repaired = f"{why}; recomputed (the damaged copy is in {self._set_aside(stage, key, why)})"
            self._clear_leftovers(stage, key)
            tmp = self.root / "tmp" / f"{stage}-{key}-{host_id()}-{os.getpid()}"  # pids repeat across nodes
            tmp.mkdir(parents=True)
            started = time.time()
            try:
                extra = build(tmp, key) or {}
                with self.journal_lock(stage, journal or key):
                    final = self._commit(stage, key, inputs, tmp, started, extra, journal or key)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            manifest = json.loads((final / MANIFEST).read_text())
            return Artifact(stage, key, final, manifest, cached=False, repaired=repaired)
        finally:
            lock.release()

    def _commit(
        self, stage: str, key: str, inputs: dict[str, Any], tmp: Path, started: float, extra: dict[str, Any],
        journal: str,
    ) -> Path:
        journal_path = self._journal_path(stage, journal)
        if journal_path.exists():
            shutil.copyfile(journal_path, tmp / JOURNAL_FILE)
        manifest = {
            "stage": stage,
            "key": key,
            "inputs": inputs,
            "versions": package_versions(),
            "started": started,
            "seconds": round(time.time() - started, 3),
            **extra,
        }
        manifest["files"] = inventory(tmp, skip=(MANIFEST,))
        write_json_atomic(tmp / MANIFEST, manifest)
        final = self.path(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        if (final / JOURNAL_FILE).exists():
            write_json_atomic(self._continuation_path(stage, journal), {"artifact": key})
        journal_path.unlink(missing_ok=True)  # its rows now live in the artifact
        return final

    def verify(self, upgrade: bool = False) -> Verification:
        """A full check (all files hashed) of every stored artifact. ``upgrade`` writes an inventory into each
        artifact written before inventories whose JSON still parses; only in a marked store (ours)."""
        if upgrade and not is_store(self.root):
            raise StoreError(f"--upgrade: {self.root} has no {MARKER} marker, so it is not a store made by "
                             f"pytest-agorabench: nothing written")
        found = Verification([], [], [], [])
        for manifest_path in sorted((self.root / "artifacts").glob(f"*/*/*/{MANIFEST}")):
            stage, key = manifest_path.parent.parent.parent.name, manifest_path.parent.name
            art, why = self.check(stage, key, full=True)
            if why is not None:
                found.damaged.append((stage, key, why))
            elif art is not None and art.unchecked:
                upgraded = upgrade and self._add_inventory(stage, key)
                (found.upgraded if upgraded else found.unchecked).append((stage, key))
            elif art is not None:
                found.verified.append((stage, key))
        return found

    def _add_inventory(self, stage: str, key: str) -> bool:
        """Under the key's lock (no build replaces it meanwhile): write the inventory of an older artifact that
        still parses. The inventory vouches for the files as they are now; ``inventory_added`` says when."""
        with self.lock(stage, key):
            art, _ = self.check(stage, key, full=True)
            if art is None or not art.unchecked:
                return False
            files = inventory(art.path, skip=(MANIFEST,))
            write_json_atomic(art.path / MANIFEST, {**art.manifest, "files": files, "inventory_added": time.time()})
        return True

    def usage(self) -> list[StageUsage]:
        """Artifacts and bytes per stage, for ``agorabench cache``."""
        out = []
        for stage_dir in sorted((self.root / "artifacts").glob("*")):
            count = sum(1 for p in stage_dir.glob("*/*") if p.is_dir())
            size = sum(f.stat().st_size for f in stage_dir.rglob("*") if f.is_file())
            out.append(StageUsage(stage_dir.name, count, size))
        return out


def _older_manifest(stage: str, key: str, manifest: dict[str, Any]) -> bool:
    """``manifest`` has exactly the shape the store wrote before inventories, and names this artifact."""
    if stage not in _OLDER_STAGES:
        return False
    extra, version = _OLDER_STAGES[stage]
    inputs, versions = manifest.get("inputs"), manifest.get("versions")
    return (
        set(manifest) == _OLDER_FIELDS | {extra}
        and (manifest["stage"], manifest["key"]) == (stage, key)
        and isinstance(inputs, dict) and inputs.get("version") == version
        and content_key(stage, inputs) == key
        and isinstance(versions, dict) and set(versions) == _OLDER_PACKAGES
        and all(isinstance(manifest[f], (int, float)) and not isinstance(manifest[f], bool)
                for f in ("started", "seconds"))
    )


def _try_acquire(lock: FileLock) -> bool:
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    return True

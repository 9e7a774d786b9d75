"""The model servers running on this host, as records in the store, so every worker of a session finds the
server another one started, and a later session finds what a killed one left behind.

One folder per server key (``Store.servers_dir()/<key>/``):
- ``record.json``: the running server (pid, its start time and host id, port, base URL, GPUs, command, log,
  the session that started it, an instance id), written as soon as the process exists;
- ``leases/<pid>-<start>.json``: one per process using it; a lease whose process is gone counts for nothing;
- ``starts.jsonl``: every start, for counting (one line per server process we started).
Every change happens under the key's file lock.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_agorabench.files import read_jsonl, write_json_atomic
from pytest_agorabench.serving.processes import ProcessId


@dataclass(frozen=True)
class ServerRecord:
    key: str
    model: str  # what it loads: a hub id or a directory
    served_name: str  # the name requests use (unique per instance, so no client keeps a stale address)
    port: int
    base_url: str  # http://127.0.0.1:PORT
    gpus: list[str]
    command: list[str]
    log: str
    pid: int
    started: str | None
    session: str
    instance: str
    created: float = field(default_factory=time.time)
    host: str | None = None  # the host id it runs on (None: written before host ids, on this host)

    @property
    def process(self) -> ProcessId:
        return ProcessId(self.pid, self.started, self.host)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """What the JSON report says about it (no environment, which may hold keys)."""
        return {k: getattr(self, k) for k in ("model", "served_name", "base_url", "gpus", "host", "pid", "log", "instance")}


@dataclass(frozen=True)
class Lease:
    process: ProcessId
    session: str
    role: str
    holder: str  # the pool holding it (a process may hold several: one per store)

    @property
    def name(self) -> str:
        return f"{self.process.pid}-{self.process.started or 'x'}-{self.holder}.json"


class ServerRegistry:
    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def folder(self, key: str) -> Path:
        return self.directory / key

    def lock(self, key: str, timeout: float = -1) -> FileLock:
        self.directory.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.directory / f"{key}.lock"), timeout=timeout)

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir())

    def record(self, key: str) -> ServerRecord | None:
        """The key's record; a damaged one is set aside (it names no process we can trust) and reads as none."""
        path = self.folder(key) / "record.json"
        try:
            return ServerRecord(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            path.replace(path.with_name(f"record.damaged.{int(time.time())}.json"))
            return None

    def write(self, record: ServerRecord) -> None:
        folder = self.folder(record.key)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "record.json", record.to_dict())

    def started(self, record: ServerRecord) -> None:
        row = {"session": record.session, "instance": record.instance, "pid": record.pid, "time": time.time()}
        with open(self.folder(record.key) / "starts.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")

    def starts(self, key: str, session: str | None = None) -> int:
        rows = read_jsonl(self.folder(key) / "starts.jsonl")
        return sum(1 for r in rows if session is None or r.get("session") == session)

    def clear(self, key: str) -> None:
        (self.folder(key) / "record.json").unlink(missing_ok=True)
        for lease in self._lease_dir(key).glob("*.json"):
            lease.unlink(missing_ok=True)

    def _lease_dir(self, key: str) -> Path:
        return self.folder(key) / "leases"

    def add_lease(self, key: str, lease: Lease) -> None:
        folder = self._lease_dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            folder / lease.name,
            {
                "pid": lease.process.pid, "started": lease.process.started, "host": lease.process.host,
                "session": lease.session, "role": lease.role, "holder": lease.holder,
            },
        )

    def remove_lease(self, key: str, lease: Lease) -> None:
        (self._lease_dir(key) / lease.name).unlink(missing_ok=True)

    def live_leases(self, key: str) -> list[Lease]:
        """Leases whose process still runs, or runs on another host (only that host can tell); the others (a
        killed worker's) are removed."""
        live = []
        for path in sorted(self._lease_dir(key).glob("*.json")):
            try:
                data = json.loads(path.read_text())
                lease = Lease(
                    ProcessId(int(data["pid"]), data.get("started"), data.get("host")), str(data["session"]),
                    str(data["role"]), str(data["holder"]),
                )
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)
                continue
            if lease.process.alive():
                live.append(lease)
            else:
                path.unlink(missing_ok=True)
        return live

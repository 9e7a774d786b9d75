"""Proof at start-up that every node sees one store, whose locks hold across nodes.

A store shared by several machines must be one POSIX folder with working locks: a node that sees another folder
would build its own copy of every artifact, and a filesystem whose locks are local to each node would let two
nodes build one key at once and tear it. Both are found here, not later as a damaged artifact:

- ``hold_probe`` (the controller): takes the session's probe lock in the store and writes a token file beside
  it (a random token, the controller's host id, the path as it sees it);
- ``look`` (each node; a plain function the cluster runner calls in one task per node): does it see the token,
  and is its own attempt at the probe lock blocked, with the mount it sees the store on;
- ``judge`` (the controller, over every node's answer): one ConfigError naming every node that fails, else a
  summary for the report of which store every node saw.

Mount options known to make locks node-local are refused before any probing: the probe would catch them too,
but the option names the fix.
"""

from __future__ import annotations

import json
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from filelock import FileLock, Timeout

from pytest_agorabench.environment import HOST_NAME
from pytest_agorabench.files import write_json_atomic
from pytest_agorabench.hosts import host_id
from pytest_agorabench.path_options import ConfigError
from pytest_agorabench.store import probe_files

MOUNTS = Path("/proc/self/mounts")
# Mount options under which flock (what the store's locks use) holds only on the node that took it.
LOCAL_LOCK_OPTIONS = {
    "nolock": "NFS without the lock manager",
    "local_lock=all": "NFS with every lock kept local",
    "local_lock=flock": "NFS with flock kept local",
    "localflock": "Lustre with flock kept local",
}
BLOCKED, ACQUIRED, NOT_TRIED = "blocked", "acquired", "not tried"
SHARED = "shared: sees the controller's token, and the controller's lock blocks it"
FIX = ("mount it with working locks (NFS: without nolock or local_lock; Lustre: -o flock), or use another "
       "shared POSIX path for --agora-store")


@dataclass(frozen=True)
class Mount:
    point: str
    fs: str
    options: tuple[str, ...]
    source: str


def parse_mounts(text: str) -> list[Mount]:
    """The rows of a mounts table (/proc/self/mounts: source, mount point, type, options, ...)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            source, point, fs, options = (_unescape(f) for f in fields[:4])
            mounts.append(Mount(point, fs, tuple(options.split(",")), source))
    return mounts


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in a mount field as octal escapes (\040 ...).
    for code in ("040", "011", "012", "134"):
        field = field.replace(f"\\{code}", chr(int(code, 8)))
    return field


def mount_of(path: Path, text: str | None = None) -> Mount | None:
    """The mount ``path`` lives on: the longest mount point that is it or holds it (the last mounted wins)."""
    if text is None:
        try:
            text = MOUNTS.read_text()
        except OSError:
            return None
    best = None
    for mount in parse_mounts(text):
        point = Path(mount.point)
        if (point == path or point in path.parents) and (best is None or len(mount.point) >= len(best.point)):
            best = mount
    return best


def local_lock_options(options: tuple[str, ...] | list[str]) -> list[str]:
    return [f"{o} ({LOCAL_LOCK_OPTIONS[o]})" for o in options if o in LOCAL_LOCK_OPTIONS]


def _refuse_local_locks(host: str, path: str, fs: str | None, options: list[str] | tuple[str, ...]) -> str | None:
    found = local_lock_options(options)
    if not found:
        return None
    return (f"the store {path} is mounted on {host} as {fs} with {', '.join(found)}: its locks would hold on that "
            f"node only; {FIX}")


def _checked_session(session: str) -> str:
    if not HOST_NAME.fullmatch(session):
        raise ConfigError(f"the store probe's session {session!r} cannot name a file in the store")
    return session


@dataclass
class Probe:
    """The controller's side, held while the nodes look; ``release`` removes its files (ours)."""

    path: Path
    session: str
    token: str
    host: str
    lock: FileLock

    def release(self) -> None:
        lock_file, token_file = probe_files(self.path, self.session)
        token_file.unlink(missing_ok=True)
        self.lock.release()
        lock_file.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold_probe(root: str | os.PathLike[str], session: str) -> Probe:
    """Take the session's probe lock in the store at ``root`` and write the token the nodes look for."""
    path = Path(root).expanduser().resolve()
    host = host_id()
    mount = mount_of(path)
    if mount is not None:
        refused = _refuse_local_locks(host, str(path), mount.fs, mount.options)
        if refused:
            raise ConfigError(refused)
    lock_file, token_file = probe_files(path, _checked_session(session))
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_file))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError(f"the store probe {lock_file} is held by another process: is session {session!r} "
                          f"started twice?") from None
    token = secrets.token_hex(16)
    try:
        write_json_atomic(token_file, {"token": token, "host": host, "path": str(path)})
    except BaseException:
        lock.release()
        lock_file.unlink(missing_ok=True)
        raise
    return Probe(path, session, token, host, lock)


def look(root: str | os.PathLike[str], session: str, token: str) -> dict[str, Any]:
    """A node's view of the store while the controller holds its probe (JSON-able): the host id, the path, whether
    the token is there (the same store), whether the probe lock blocked us, and the mount and inode it is on.
    Creates nothing: a folder without the token is not our store."""
    path = Path(root).expanduser().resolve()
    lock_file, token_file = probe_files(path, _checked_session(session))
    try:
        found = json.loads(token_file.read_text())
    except (OSError, ValueError):
        found = {}
    seen = isinstance(found, dict) and found.get("token") == token
    lock = NOT_TRIED
    if seen:
        attempt = FileLock(str(lock_file))
        try:
            attempt.acquire(timeout=0)
        except Timeout:
            lock = BLOCKED
        else:
            attempt.release()  # at once: this lock must never be ours
            lock = ACQUIRED
    mount = mount_of(path)
    try:
        stat = path.stat()
        device, inode = stat.st_dev, stat.st_ino
    except OSError:
        device = inode = None
    return {
        "host": host_id(), "machine": _boot_id(), "path": str(path), "token_seen": seen, "lock": lock,
        "fs": mount.fs if mount else None, "mount_point": mount.point if mount else None,
        "options": list(mount.options) if mount else [], "device": device, "inode": inode,
    }


def _boot_id() -> str | None:
    """This machine's boot id: the same for every process on one machine (containers share it with their
    host), different on another; None where /proc does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def judge(probe: Probe, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Every node's ``look`` -> a summary for the report, or one ConfigError naming every node that fails."""
    problems = []
    # Several Ray nodes on one machine may share its host id (one server folder, pids unique on the machine);
    # one host id on different machines would let them take each other's server records.
    machines: dict[str, set[str | None]] = {}
    for node in nodes:
        machines.setdefault(node["host"], set()).add(node.get("machine"))
    counts = Counter(node["host"] for node in nodes)
    # (a machine that does not say which it is counts as another one)
    repeated = sorted(h for h, seen in machines.items() if len(seen) > 1 or (None in seen and counts[h] > 1))
    if repeated:
        problems.append(f"nodes on different machines run as host {', '.join(repeated)}: set AGORABENCH_HOST_ID "
                        f"to a name of its own on each machine, or they will take each other's server records")
    for node in nodes:
        host, path, fs = node["host"], node["path"], node["fs"] or "an unknown filesystem"
        refused = _refuse_local_locks(host, path, fs, node["options"])
        if refused:
            problems.append(refused)
        elif not node["token_seen"]:
            problems.append(f"node {host} sees a different folder at {path}: the store must be one shared POSIX path "
                            f"on every node (the controller {probe.host} uses {probe.path})")
        elif node["lock"] != BLOCKED:
            problems.append(f"a lock taken on {probe.host} did not block {host} on {fs}: the filesystem's locks are "
                            f"local to each node (e.g. NFS mounted with nolock/local_lock, Lustre with localflock): "
                            f"{FIX}")
    if problems:
        raise ConfigError("; ".join(problems))
    return {
        "controller": probe.host,
        "path": str(probe.path),
        "nodes": {
            node["host"]: {
                "path": node["path"], "fs": node["fs"], "mount_point": node["mount_point"],
                "options": node["options"], "device": node["device"], "inode": node["inode"], "verdict": SHARED,
            }
            for node in nodes
        },
    }

"""Which process a pid names, so a record left by a killed session is never mistaken for a live one: a pid
with the process's start time (from /proc) and its host id, alive only when both match and it is not a zombie.
A process on another host (nodes sharing one store) cannot be seen from here, so it is never judged dead."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pytest_agorabench.hosts import host_id


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is [0], start time is [19]


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None where /proc does not say."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


@dataclass(frozen=True)
class ProcessId:
    pid: int
    started: str | None  # start time; None on systems without /proc (the pid alone is then trusted)
    host: str | None = None  # its host id; None in records written before host ids (kept per host: this one)

    @classmethod
    def current(cls) -> "ProcessId":
        return cls.of(os.getpid())

    @classmethod
    def of(cls, pid: int) -> "ProcessId":
        return cls(pid, start_time(pid), host_id())

    def here(self) -> bool:
        return self.host is None or self.host == host_id()

    def running_here(self) -> bool:
        """Alive, and on this host: a process we may signal."""
        return self.here() and self.alive()

    def alive(self) -> bool:
        if not self.here():
            return True  # its pid means nothing here: only its own host can tell
        try:
            waited, _ = os.waitpid(self.pid, os.WNOHANG)  # our own child that exited: reap it, it is gone
            if waited == self.pid:
                return False
        except ChildProcessError:
            pass
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        fields = _stat_fields(self.pid)
        if fields is None:
            return self.started is None
        if fields[0] == "Z":
            return False
        return self.started is None or fields[19] == self.started

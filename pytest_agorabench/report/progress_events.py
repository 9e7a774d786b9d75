"""The progress channel: whoever runs a case appends small JSON events to its own file, the process that owns
the terminal tails every file of the session and draws (report/progress.py).

Files, not execnet: an xdist worker cannot draw, and the controller hears from a worker only when a test
ends, minutes after the stage it would report. One file per process (``<worker>.jsonl``), so no two processes
append to one file. Events (all carry ``case``, ``kind`` and ``t``, the wall time)::

    case_start  label, worker              stage      stage, detail?
    count       stage, what, done, total, dropped?, part?
    stage_end   stage, seconds, cached?    case_end   seconds, error?

Progress must never fail a run: a write that fails turns the writer off after one line on stderr.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Emit = Callable[..., None]  # emit(kind, **fields): one event of the case it was made for


def warn_once(what: str, exc: BaseException) -> None:
    """The one line a broken progress channel is allowed; on the real stderr, never into a test's capture."""
    try:
        print(f"agorabench: {what} off after an error: {type(exc).__name__}: {exc}", file=sys.__stderr__, flush=True)
    except Exception:  # noqa: BLE001, S110 - not even the warning may fail a run
        pass


class ProgressWriter:
    """Appends the events of this process's cases to ``<folder>/<worker>.jsonl``. ``folder`` is called at
    the first event, so a run without cases creates nothing."""

    def __init__(self, folder: Callable[[], Path], worker: str, clock: Callable[[], float] = time.time):
        self._folder = folder
        self.worker = worker
        self._clock = clock
        self._file: Any = None
        self._lock = threading.Lock()  # inspect may report from more than one thread
        self._ids = itertools.count(1)
        self.broken = False

    @contextmanager
    def case(self, label: str) -> Iterator[Emit]:
        """Events of one case, from its start to its end (an exception ends it with its type's name)."""
        case_id = f"{self.worker}-{os.getpid()}-{next(self._ids)}"

        def emit(kind: str, **fields: Any) -> None:
            self.write({"case": case_id, "kind": kind, **fields})

        # A case run on a Ray node writes its own events under this id into the same (shared) folder.
        emit.case_id, emit.folder, emit.worker = case_id, self._folder, self.worker  # type: ignore[attr-defined]
        started = self._clock()
        emit("case_start", label=label, worker=self.worker)
        try:
            yield emit
        except BaseException as exc:
            emit("case_end", seconds=round(self._clock() - started, 3), error=type(exc).__name__)
            raise
        emit("case_end", seconds=round(self._clock() - started, 3))

    def write(self, event: dict[str, Any]) -> None:
        if self.broken:
            return
        try:
            line = json.dumps({**event, "t": self._clock()}, default=str) + "\n"
            with self._lock:
                if self._file is None:
                    path = self._folder() / f"{self.worker}.jsonl"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the session
                self._file.write(line)
                self._file.flush()  # the reader is another process; no fsync: progress is not data
        except Exception as exc:  # noqa: BLE001 - see the module docstring
            self.broken = True
            warn_once("progress events", exc)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class Tail:
    """Reads the new complete events of every file in ``folder`` at each ``poll``; a line still being written
    waits for the next poll."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._offsets: dict[Path, int] = {}

    def poll(self) -> list[dict[str, Any]]:
        events = []
        for path in sorted(self.folder.glob("*.jsonl")) if self.folder.is_dir() else []:
            start = self._offsets.get(path, 0)
            with open(path, "rb") as fh:
                fh.seek(start)
                data = fh.read()
            end = data.rfind(b"\n") + 1
            self._offsets[path] = start + end
            for line in data[:end].splitlines():
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue  # a torn line from a killed worker: skip it, the rest still counts
        return events

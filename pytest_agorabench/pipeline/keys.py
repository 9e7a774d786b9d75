"""What every stage wrapper shares: stage versions (part of every cache key), the case's clock, and model
references written so that a moved store still serves its artifacts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.store import UNCHECKED, Artifact, Store

# Bump a stage's version when its code changes what it produces: old artifacts stop matching.
# evaluation 2: every item samples with its own seed (evaluation/common.item_seed), keyed by the run's seed.
STAGE_VERSIONS = {
    "student_init": 1,
    "generation": 1,
    "training": 1,
    "evaluation": 2,
    "intrinsic": 1,
    "reward_init": 1,
    "contamination": 1,
}


@dataclass
class Clock:
    """Seconds per stage name, the names served from the store (from an earlier run, or from another worker
    this run waited for), notes on damaged artifacts recomputed and older ones served unchecked, and the
    artifact key of each stage. ``emit`` receives the case's progress events (report/progress_events.py: stage
    starts and ends, counts); None: no progress."""

    seconds: dict[str, float] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)
    emit: Callable[..., None] | None = field(default=None, repr=False, compare=False)

    def progress(self, kind: str, **fields: Any) -> None:
        if self.emit is not None:
            self.emit(kind, **fields)

    def counter(self, stage: str, what: str, part: str | None = None) -> Callable[..., None]:
        """The ``on_progress`` callback a library function reports its counts to: (done, total, dropped=0)."""

        def on_progress(done: int, total: int, dropped: int = 0) -> None:
            extra = {"part": part} if part else {}
            self.progress("count", stage=stage, what=what, done=done, total=total, dropped=dropped, **extra)

        return on_progress

    @contextmanager
    def timed(self, name: str, detail: str | None = None) -> Iterator[None]:
        self.progress("stage", stage=name, **({"detail": detail} if detail else {}))
        start = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - start
            self.seconds[name] = self.seconds.get(name, 0.0) + took
            self.progress("stage_end", stage=name, seconds=round(took, 3))

    def run(self, name: str, fn: Callable[[], Artifact], detail: str | None = None) -> Artifact:
        with self.timed(name, detail):
            art = fn()
        if art.waited:
            self.waited.append(name)
        elif art.cached:
            self.cached.append(name)
        if art.repaired:
            self.notes.append(f"{name}: {art.repaired}")
        if art.unchecked:
            self.notes.append(f"{name}: {UNCHECKED}")
        self.keys[name] = art.key
        return art


    def record(self) -> dict[str, Any]:
        """What this clock measured, as plain data (another process's Clock can ``adopt`` it)."""
        return {"seconds": dict(self.seconds), "cached": list(self.cached), "waited": list(self.waited),
                "notes": list(self.notes), "keys": dict(self.keys)}

    def adopt(self, record: dict[str, Any]) -> None:
        """Stages another process ran first (on a Ray cluster: the generation task): their seconds and how
        they were obtained replace what this clock saw when the same stages were then served from the store."""
        for stage, seconds in record["seconds"].items():
            self.seconds[stage] = seconds
            self.cached = [s for s in self.cached if s != stage]
            self.waited = [s for s in self.waited if s != stage]
        self.cached += record["cached"]
        self.waited += record["waited"]
        self.notes += [n for n in record["notes"] if n not in self.notes]
        self.keys.update(record["keys"])


def portable(store: Store, model: str) -> str:
    """A model reference for cache keys: paths inside the store are written relative to it, so a store that
    is moved, copied or mounted elsewhere still serves its artifacts."""
    return model.replace(str(store.root.resolve()), "<store>")

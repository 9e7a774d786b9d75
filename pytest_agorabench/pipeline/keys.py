"""What every stage wrapper shares: stage versions (part of every cache key), the case's clock, and model
references written so that a moved store still serves its artifacts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pytest_agorabench.store import Artifact, Store

# Bump a stage's version when its code changes what it produces: old artifacts stop matching.
# evaluation 2: every item samples with its own seed (evaluation/common.item_seed), keyed by the run's seed.
STAGE_VERSIONS = {
    "student_init": 1,
    "generation": 1,
    "training": 1,
    "evaluation": 2,
    "intrinsic": 1,
    "reward_init": 1,
}


@dataclass
class Clock:
    """Seconds per stage name, the names served from the store (from an earlier run, or from another worker
    this run waited for), damaged artifacts recomputed, and the artifact key of each stage."""

    seconds: dict[str, float] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def run(self, name: str, fn: Callable[[], Artifact]) -> Artifact:
        with self.timed(name):
            art = fn()
        if art.waited:
            self.waited.append(name)
        elif art.cached:
            self.cached.append(name)
        if art.repaired:
            self.notes.append(f"{name}: {art.repaired}")
        self.keys[name] = art.key
        return art


def portable(store: Store, model: str) -> str:
    """A model reference for cache keys: paths inside the store are written relative to it, so a store that
    is moved, copied or mounted elsewhere still serves its artifacts."""
    return model.replace(str(store.root.resolve()), "<store>")

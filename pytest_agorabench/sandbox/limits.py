"""Resource limits of one sandboxed program, and the factor that scales its time limits to the machine.

Time limits are written for a reasonably fast machine and multiplied by ``timeout_scale()``: a slow or
overloaded CI box gets proportionally more time, so correct code is not failed for being slow there.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from pytest_agorabench.environment import TIMEOUT_SCALE

SCALE_ENV = TIMEOUT_SCALE.name
# The calibration loop takes about this long on a current desktop core (CPython 3.11).
_REFERENCE_SECONDS = 0.012
_CALIBRATION_ROUNDS = 3
_MAX_SCALE = 20.0  # beyond this the machine is unusable for timing anyway; stop growing the limits

_scale: float | None = None


@dataclass(frozen=True)
class Limits:
    """Per-program limits. Times are before scaling; see ``scaled``."""

    wall_seconds: float = 10.0  # parent-side: the whole process group is killed after this
    cpu_seconds: float = 10.0  # RLIMIT_CPU in the child (kernel-enforced)
    memory_bytes: int = 1 << 30  # RLIMIT_AS: address space, so allocations fail with MemoryError
    file_bytes: int = 16 << 20  # RLIMIT_FSIZE: largest file the program may write
    open_files: int = 64  # RLIMIT_NOFILE
    max_processes: int = 8  # RLIMIT_NPROC headroom above the user's current process count
    output_bytes: int = 64 << 10  # per stream; the program is killed as soon as it writes more

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value or value < 0:
                raise ValueError(f"sandbox limit {name} must be positive, got {value!r}")

    def scaled(self, factor: float | None = None) -> Limits:
        """The same limits with both time limits multiplied by ``factor`` (default: ``timeout_scale()``)."""
        factor = timeout_scale() if factor is None else factor
        return replace(self, wall_seconds=self.wall_seconds * factor, cpu_seconds=self.cpu_seconds * factor)

    def child_config(self) -> dict[str, Any]:
        """What the in-sandbox guard applies to itself (the wall and output limits are the parent's)."""
        return {
            "cpu_seconds": max(1, math.ceil(self.cpu_seconds)),
            "memory_bytes": self.memory_bytes,
            "file_bytes": self.file_bytes,
            "open_files": self.open_files,
            "max_processes": self.max_processes,
        }


def _calibration_loop() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(150_000):
        total += i * i % 7
    return time.perf_counter() - start


def measure_scale() -> float:
    """How much slower than the reference this machine runs Python right now (never below 1)."""
    best = min(_calibration_loop() for _ in range(_CALIBRATION_ROUNDS))
    return min(_MAX_SCALE, max(1.0, best / _REFERENCE_SECONDS))


def timeout_scale() -> float:
    """``AGORABENCH_TIMEOUT_SCALE`` when set, else a calibration measured once per process."""
    global _scale
    value = TIMEOUT_SCALE.get()
    if value is not None:
        return value
    if _scale is None:
        _scale = measure_scale()
    return _scale

"""CPU threads per pytest-xdist worker on a machine without GPUs.

torch gives every process one intra-op thread per core, so ``-n N`` on C cores runs N x C threads that spin
against each other. Measured on a 2-core box (bench/cpu_share.py, SmolLM2-135M decoding, batch 4): two
processes with two threads each decoded 0.10x as fast as one process, two with one thread each 1.21x.
Each worker therefore gets its share of the cores, set in its pytest_configure (before torch starts its
thread pool where it is not imported yet) and inherited by its training subprocesses. A user who set a
thread count in the environment keeps it. A model server one worker starts for the whole session
(vllm_launch.py) is not that worker's alone, so it gets the machine's threads back (``unshared``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping

from pytest_agorabench.environment import CPU_SHARE

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
SHARE_MARK = CPU_SHARE.name  # set beside THREAD_ENV when we, not the user, chose the thread count


def available_cpus() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS / Windows
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cpus: int) -> int:
    return max(1, cpus // max(1, workers))


def planned_threads(
    workers: int, environ: Mapping[str, str] = os.environ, cpus: int | None = None
) -> int | None:
    """Threads each of ``workers`` workers gets, or None when nothing is to change (a single process, or a
    thread count the user chose)."""
    if workers <= 1 or any(name in environ for name in THREAD_ENV):
        return None
    return threads_per_worker(workers, available_cpus() if cpus is None else cpus)


def share_cpus(workers: int, environ: MutableMapping[str, str] = os.environ, cpus: int | None = None) -> int | None:
    """Limit this worker to its share of the cores (``planned_threads``); the thread count set, or None."""
    threads = planned_threads(workers, environ, cpus)
    if threads is None:
        return None
    for name in (*THREAD_ENV, SHARE_MARK):
        environ[name] = str(threads)
    torch = sys.modules.get("torch")
    if torch is not None:  # already imported: its pool has read the environment, so set it directly
        torch.set_num_threads(threads)
    return threads


def unshared(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` without the thread limit share_cpus set (a user's own setting stays)."""
    if SHARE_MARK not in environ:
        return environ
    return {k: v for k, v in environ.items() if k not in (*THREAD_ENV, SHARE_MARK)}

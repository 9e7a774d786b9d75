"""The GPU plan of a run on one node: which GPUs a locally served generator gets (tensor parallel over its
group) and which group each pytest-xdist worker gets for its training subprocess and student evaluation.

A worker is pinned by ``CUDA_VISIBLE_DEVICES``, set in its pytest_configure before anything touches CUDA;
its training subprocess (accelerate / FSDP, training/launch.py) inherits the variable and so sees only its
group. The plan is made from ``--agora-gpus`` (default: every visible GPU), ``--agora-generator-gpus``
(default 0) and ``--agora-gpus-per-worker`` (default: the rest split evenly over the workers), checked once,
and written to the terminal header and the JSON report. A machine without GPUs gets an empty plan and
nothing changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from pytest_agorabench.errors import AgoraBenchError


class GpuPlanError(AgoraBenchError):
    """A GPU plan that does not fit the GPUs there are; the message shows the plan asked for."""


@dataclass(frozen=True)
class GpuPlan:
    gpus: tuple[str, ...]  # every GPU the run may use, as CUDA_VISIBLE_DEVICES entries
    generator: tuple[str, ...]  # the locally served generator's group (empty: none reserved)
    workers: tuple[tuple[str, ...], ...]  # one group per worker (gw0, gw1, ...), or one for a run without -n

    @property
    def empty(self) -> bool:
        return not self.gpus

    def for_worker(self, index: int) -> tuple[str, ...]:
        return self.workers[index] if self.workers else ()

    def describe(self) -> str:
        if self.empty:
            return "no GPUs"
        parts = [f"GPUs {','.join(self.gpus)}"]
        if self.generator:
            parts.append(f"generator {','.join(self.generator)} (tensor parallel {len(self.generator)})")
        parts += [f"{_worker_name(i, len(self.workers))} {','.join(g)}" for i, g in enumerate(self.workers)]
        return "; ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {"gpus": list(self.gpus), "generator": list(self.generator), "workers": [list(g) for g in self.workers]}


def _worker_name(index: int, count: int) -> str:
    return f"gw{index}" if count > 1 else "worker"


def visible_gpus(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """The GPUs this process may use, without initialising CUDA: ``CUDA_VISIBLE_DEVICES`` when set, else
    the devices ``nvidia-smi -L`` lists (none on a machine without the NVIDIA driver)."""
    environ = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in environ:
        return tuple(g.strip() for g in environ["CUDA_VISIBLE_DEVICES"].split(",") if g.strip())
    if shutil.which("nvidia-smi") is None:
        return ()
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU "))


def make_plan(
    visible: tuple[str, ...],
    workers: int,
    gpus: str | None = None,
    generator_gpus: int = 0,
    gpus_per_worker: int | None = None,
) -> GpuPlan:
    """The plan for ``workers`` worker processes (1 without -n). Raises GpuPlanError, showing the plan asked
    for, when it does not fit."""
    if gpus in (None, "all"):
        chosen = visible
    else:
        chosen = tuple(g.strip() for g in gpus.split(",") if g.strip())
        if not visible:
            # Naming GPUs on a machine without any is a mistake, not a request to run on the CPU.
            raise GpuPlanError(
                f"--agora-gpus={gpus} names GPUs, but none is visible (CUDA_VISIBLE_DEVICES is empty or unset and "
                "nvidia-smi lists none); leave the option out to run without GPUs"
            )
        unknown = [g for g in chosen if g not in visible]
        if unknown:
            raise GpuPlanError(
                f"--agora-gpus names GPU(s) {','.join(unknown)} that are not visible (visible: {','.join(visible)})"
            )
        if len(set(chosen)) != len(chosen):
            raise GpuPlanError(f"--agora-gpus lists a GPU twice: {gpus}")
    if not chosen:
        if generator_gpus or gpus_per_worker:
            raise GpuPlanError(
                "the GPU plan asks for GPUs but none is visible"
                f" (--agora-generator-gpus {generator_gpus}, --agora-gpus-per-worker {gpus_per_worker})"
            )
        return GpuPlan((), (), ())
    rest = len(chosen) - generator_gpus
    per_worker = gpus_per_worker if gpus_per_worker is not None else (rest // workers if workers else 0)
    asked = (
        f"{len(chosen)} GPU(s) ({','.join(chosen)}): generator {generator_gpus} + {workers} worker(s) x "
        f"{per_worker} = {generator_gpus + workers * per_worker}"
    )
    if per_worker < 1 or generator_gpus + workers * per_worker > len(chosen):
        raise GpuPlanError(
            f"the GPU plan does not fit: {asked}. Use fewer workers (-n), fewer GPUs per worker "
            "(--agora-gpus-per-worker) or a smaller generator group (--agora-generator-gpus)"
        )
    generator = chosen[:generator_gpus]
    groups = tuple(
        chosen[generator_gpus + i * per_worker : generator_gpus + (i + 1) * per_worker] for i in range(workers)
    )
    return GpuPlan(chosen, generator, groups)

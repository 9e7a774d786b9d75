"""How models reach the GPUs of one node: the GPU plan (gpu_plan.py) that gives a locally served generator
and each pytest-xdist worker its own group of GPUs. (The shared model servers of ARCHITECTURE.md's
"serving/" are not built yet.)"""

from pytest_agorabench.serving.gpu_plan import GpuPlan, GpuPlanError, make_plan, visible_gpus

__all__ = ["GpuPlan", "GpuPlanError", "make_plan", "visible_gpus"]

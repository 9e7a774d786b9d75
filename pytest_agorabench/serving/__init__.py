"""How models reach the pipeline and the GPUs of one node.

- pool.py: ``Servers.endpoint`` / ``Servers.call``: a model string -> what inspect calls. API models and our
  in-process models pass through; ``vllm/`` weights are served once per host and shared by every worker of
  the session (records and leases in the store: server_records.py; process start and stop: vllm_launch.py).
- gpu_plan.py: the GPU plan that gives a locally served generator and each pytest-xdist worker its own group.
"""

from pytest_agorabench.serving.gpu_plan import GpuPlan, GpuPlanError, make_plan, visible_gpus
from pytest_agorabench.serving.pool import GENERATOR, STUDENT, Endpoint, Servers, new_session_id, served_weights
from pytest_agorabench.serving.vllm_launch import ServerStartError, VllmMissing

__all__ = [
    "GENERATOR", "STUDENT", "Endpoint", "GpuPlan", "GpuPlanError", "ServerStartError", "Servers", "VllmMissing",
    "make_plan", "new_session_id", "served_weights", "visible_gpus",
]

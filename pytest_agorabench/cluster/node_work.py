"""What runs on a Ray node: a case, the shared-store probe and the generator host. Plain functions and a
plain class: ray_run.py wraps them with ``ray.remote`` (ray is imported here only inside functions)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig

GENERATOR_HOST_PREFIX = "agorabench-generator"
NAMESPACE = "agorabench"


def node_identity() -> dict[str, Any]:
    """This node as the reports name it: our host id (AGORABENCH_HOST_ID or the host name), Ray's node id
    and address, and the GPUs Ray gave this task."""
    import ray

    from pytest_agorabench.hosts import host_id

    context = ray.get_runtime_context()
    return {
        "host": host_id(),
        "node_id": context.get_node_id(),
        "ip": ray.util.get_node_ip_address(),
        "gpus": [str(g) for g in ray.get_gpu_ids()],
        "pid": os.getpid(),
    }


def generator_host_name(session: str, node_id: str) -> str:
    return f"{GENERATOR_HOST_PREFIX}-{session}-{node_id[:16]}"


class GeneratorHost:
    """One per node and session (a named detached actor on that node): holds a lease on the generator's
    served model, so its vllm server outlives the case tasks (a GPU task's worker exits after each task) and
    every case on the node calls the same server. ``close`` (at the session's end) drops the lease; the last
    lease out stops the server (serving/pool.py)."""

    def __init__(self, servers_dir: str, session: str, log_dir: str):
        from pytest_agorabench.serving import Servers

        import ray

        self._servers = Servers(
            Path(servers_dir), session, generator_gpus=tuple(str(g) for g in ray.get_gpu_ids()),
            log_dir=Path(log_dir),
        )

    def hold(self, model: str) -> dict[str, Any]:
        """Start or join the model's server on this node (idempotent); its record for the report."""
        from pytest_agorabench.serving import GENERATOR

        endpoint = self._servers.endpoint(model, GENERATOR)
        return endpoint.server.public() if endpoint.server is not None else {}

    def close(self) -> int:
        held = len(self._servers._held)
        self._servers.close()
        return held


def ensure_generator_host(config: RunConfig, session: str) -> None:
    """Before a case on this node calls a served generator: the node's generator host, holding the server.
    API and in-process generators need none."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from pytest_agorabench.serving import served_weights
    from pytest_agorabench.store import Store

    if served_weights(config.generator) is None:
        return
    store = Store(config.store_dir)
    node_id = ray.get_runtime_context().get_node_id()
    host = ray.remote(GeneratorHost).options(
        name=generator_host_name(session, node_id), namespace=NAMESPACE, lifetime="detached",
        get_if_exists=True, num_cpus=0, num_gpus=config.generator_gpus, max_restarts=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
    ).remote(str(store.servers_dir()), session, str(store.log_dir("servers")))
    ray.get(host.hold.remote(config.generator))


def run_case_here(
    setting_key: str, config: RunConfig, session: str, progress: dict[str, Any] | None
) -> tuple[Any, dict[str, Any]]:
    """One case on this node: the pipeline with this node's server pool, its progress events into the shared
    store's progress folder under the driver's case id, this attempt recorded in the store first (a retried
    case then shows each node it ran on)."""
    from pytest_agorabench.files import write_json_atomic
    from pytest_agorabench.pipeline import run_case
    from pytest_agorabench.report.progress_events import ProgressWriter
    from pytest_agorabench.serving import Servers, visible_gpus
    from pytest_agorabench.settings import get_setting
    from pytest_agorabench.store import Store

    node = node_identity()
    store = Store(config.store_dir)
    attempt = {**node, "started": time.time()}
    if progress is not None:
        attempts = store.cluster_dir(session) / "attempts" / progress["case"]
        attempts.mkdir(parents=True, exist_ok=True)
        write_json_atomic(attempts / f"{node['host']}-{node['pid']}-{time.time_ns()}.json", attempt)
    emit = writer = None
    if progress is not None:
        writer = ProgressWriter(lambda: Path(progress["folder"]), f"{progress['worker']}@{node['host']}-{os.getpid()}")
        case_id = progress["case"]

        def emit(kind: str, **fields: Any) -> None:
            writer.write({"case": case_id, "kind": kind, **fields})

        emit("stage", stage="node", detail=f"on {node['host']}")
    ensure_generator_host(config, session)
    servers = Servers(store.servers_dir(), session, worker_gpus=visible_gpus(), log_dir=store.log_dir("servers"))
    try:
        result = run_case(get_setting(setting_key), config, store, servers=servers, progress=emit)
    finally:
        servers.close()
        if writer is not None:
            writer.close()
    return result, node


def probe_store_here(store_root: str, session: str, token: str) -> dict[str, Any]:
    """The shared-store check on this node (shared_store.py), with the node's identity."""
    from pytest_agorabench.shared_store import check_from_node

    return {**check_from_node(Path(store_root), session, token), "node": node_identity()}

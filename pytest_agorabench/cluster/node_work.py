"""What runs on a Ray node: a case, the shared-store probe and the generator host. Plain functions and a
plain class: ray_run.py wraps them with ``ray.remote`` (ray is imported here only inside functions)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.store import Store

GENERATOR_HOST_PREFIX = "agorabench-generator"
DISPATCHER_PREFIX = "agorabench-dispatcher"
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
        import ray

        from pytest_agorabench.serving import Servers

        self._servers = Servers(
            Path(servers_dir), session, generator_gpus=tuple(str(g) for g in ray.get_gpu_ids()),
            log_dir=Path(log_dir),
        )

    def hold(self, model: str) -> dict[str, Any]:
        """Start or join the model's server on this node (idempotent); its record for the report."""
        from pytest_agorabench.serving import GENERATOR

        endpoint = self._servers.endpoint(model, GENERATOR)
        return endpoint.server.public() if endpoint.server is not None else {}

    def close(self) -> None:
        self._servers.close()


class ClusterError(AgoraBenchError):
    """No Ray, no cluster at the address, a case whose nodes kept dying, a store the nodes do not share, or
    no node that can hold the served generator."""


class Dispatcher:
    """One per session (a named detached actor): hands out the nodes that serve a served generator's data in
    turn, to every driver of the session (each pytest-xdist worker is one), so the data tasks spread over the
    nodes' generator servers instead of all starting where the first one did."""

    def __init__(self) -> None:
        self._next = 0

    def pick(self, nodes: list[str]) -> str:
        node = nodes[self._next % len(nodes)]
        self._next += 1
        return node


def ensure_generator_host(config: RunConfig, session: str) -> None:
    """Before a case on this node calls a served generator: the node's generator host, holding the server.
    API and in-process generators need none."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from pytest_agorabench.serving import served_weights

    if served_weights(config.generator) is None:
        return
    store = Store(config.store_dir)
    node_id = ray.get_runtime_context().get_node_id()
    gpus = next((n.get("Resources", {}).get("GPU", 0) for n in ray.nodes() if n["NodeID"] == node_id), 0)
    if gpus < config.generator_gpus:  # its actor could never be placed here: say so rather than wait forever
        raise ClusterError(
            f"the data task landed on a node with {gpus:g} GPU(s), fewer than the served generator's "
            f"--agora-generator-gpus={config.generator_gpus} (its first node was lost?); rerun to resume"
        )
    host = ray.remote(GeneratorHost).options(
        name=generator_host_name(session, node_id), namespace=NAMESPACE, lifetime="detached",
        get_if_exists=True, num_cpus=0, num_gpus=config.generator_gpus, max_restarts=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
    ).remote(str(store.servers_dir()), session, str(store.log_dir("servers")))
    ray.get(host.hold.remote(config.generator))


GENERATION, TRAIN_AND_EVALUATE = "generation", "training_and_evaluation"  # a case's two tasks


def run_part_here(
    part: str, setting_key: str, config: RunConfig, session: str, target: dict[str, Any],
    generated: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """One of a case's two tasks on this node: its data (GENERATION: seeds and the generation stage, through
    this node's generator host for a served generator; it needs no training GPU) or the rest of the case
    (TRAIN_AND_EVALUATE: ``run_case``, its generation served from the store). Progress events go into the
    shared store's progress folder under the driver's case id; this attempt is recorded in the store first,
    so a retried part shows each node it ran on."""
    from pytest_agorabench.files import write_json_atomic
    from pytest_agorabench.pipeline import generate_data, run_case
    from pytest_agorabench.report.progress_events import ProgressWriter
    from pytest_agorabench.serving import Servers, visible_gpus
    from pytest_agorabench.settings import get_setting

    node = node_identity()
    store = Store(config.store_dir)
    attempts = store.cluster_dir(session) / "attempts" / target["case"]
    attempts.mkdir(parents=True, exist_ok=True)
    write_json_atomic(attempts / f"{part}-{node['host']}-{node['pid']}-{time.time_ns()}.json",
                      {**node, "part": part, "started": time.time()})
    emit = writer = None
    if target["folder"] is not None:
        writer = ProgressWriter(lambda: Path(target["folder"]), f"{target['worker']}@{node['host']}-{os.getpid()}")

        def emit(kind: str, **fields: Any) -> None:
            writer.write({"case": target["case"], "kind": kind, **fields})

        emit("stage", stage="node", detail=f"{part} on {node['host']}")
    setting = get_setting(setting_key)
    servers = Servers(store.servers_dir(), session, worker_gpus=visible_gpus(), log_dir=store.log_dir("servers"))
    start = time.perf_counter()
    try:
        if part == GENERATION:
            ensure_generator_host(config, session)
            out = generate_data(setting, config, store, servers, emit)
        else:
            out = run_case(setting, config, store, servers=servers, progress=emit, data_task=generated)
        return out, {**node, "seconds": round(time.perf_counter() - start, 3)}
    finally:
        servers.close()
        if writer is not None:
            writer.close()


def probe_store_here(store_root: str, session: str, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """This node's view of the store while the controller holds its probe (shared_store.look), and the node."""
    from pytest_agorabench.shared_store import look

    return look(store_root, session, token), node_identity()

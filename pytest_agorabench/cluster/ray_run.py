"""The driver side of --agora-ray, one per pytest process that runs cases (each xdist worker is a Ray
driver, so ``-n`` is the number of cases in flight): connect, run a case as a task, wait, cancel on Ctrl-C;
for the session's controller also the cluster's description, the shared-store check and the end of the
session (the nodes' generator hosts stopped, the session's records removed)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from pytest_agorabench.cluster.node_work import (
    DISPATCHER_PREFIX,
    GENERATION,
    GENERATOR_HOST_PREFIX,
    NAMESPACE,
    TRAIN_AND_EVALUATE,
    ClusterError,
    Dispatcher,
    probe_store_here,
    run_part_here,
)

CASE_RETRIES = 2  # a case whose node dies is run again (from the store) at most this often
STOP_TIMEOUT_S = 120  # a generator host's close: its server's shutdown
INSTALL = 'pip install "pytest-agorabench[ray]"'


def forwarded_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Our settings (AGORABENCH_*) reach the tasks as the driver has them, so a node runs the case as this
    process would; the host id is the node's own. Provider keys are not sent (Ray keeps a job's environment
    in its control store): set them on every node."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k.startswith("AGORABENCH_") and k != "AGORABENCH_HOST_ID"}


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--agora-ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


class RayRun:
    def __init__(self, address: str, session: str, *, split_generation: bool = True):
        self.address = address
        self.session = session
        # False: a case is one task holding its GPUs throughout (bench/ray_stage_split.py's baseline only).
        self.split_generation = split_generation
        self._ray: Any = None

    # ------------------------------------------------------------------ connection

    def connect(self) -> Any:
        if self._ray is not None:
            return self._ray
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING,
                    configure_logging=False, runtime_env={"env_vars": forwarded_env()},
                )
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = "RAY_ADDRESS or a running local cluster" if self.address == "auto" else self.address
                raise ClusterError(
                    f"--agora-ray={self.address}: no Ray cluster reached at {where} ({exc}); start one with "
                    "`ray start --head` (and `ray start --address=HEAD:6379` on the other nodes)"
                ) from None
        self._ray = ray
        return ray

    def nodes(self) -> list[dict[str, Any]]:
        ray = self.connect()
        return [n for n in ray.nodes() if n.get("Alive")]

    def gpus_per_case(self, config: Any) -> float:
        """--agora-gpus-per-worker, else one GPU where the cluster has any (a CPU cluster: none). Asked of
        Ray per case, as the nodes are in _data_placement: nodes join and leave a cluster during a long run
        (a lost node, an autoscaler), and one call to the head costs nothing beside a case."""
        if config.gpus_per_worker is not None:
            return float(config.gpus_per_worker)
        return 1.0 if self.connect().cluster_resources().get("GPU", 0) > 0 else 0.0

    def describe(self, config: Any) -> dict[str, Any]:
        """The cluster as the header and the JSON report show it."""
        ray = self.connect()
        resources = ray.cluster_resources()
        nodes = [
            {
                "node_id": n["NodeID"], "ip": n.get("NodeManagerAddress"),
                "cpus": n.get("Resources", {}).get("CPU", 0), "gpus": n.get("Resources", {}).get("GPU", 0),
            }
            for n in self.nodes()
        ]
        return {
            "address": self.address,
            "nodes": nodes,
            "cpus": resources.get("CPU", 0),
            "gpus": resources.get("GPU", 0),
            "gpus_per_case": self.gpus_per_case(config),
            "cpus_per_case": 1,
            "generator_gpus_per_node": config.generator_gpus,
            "case_retries": CASE_RETRIES,
        }

    # ------------------------------------------------------------------ cases

    def run_case(self, setting_key: str, config: Any, target: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The case's CaseResult from the cluster, and where each of its two tasks ran (every attempt, in
        order). First its data, in a task without GPUs (a served generator runs on the node's own generator
        GPUs, an API one needs none), then training and evaluation in a task holding the case's GPUs: the
        GPUs are not held idle while the data is generated."""
        stages = {}
        generated = None
        if self.split_generation:
            generated, data_node = self._run_part(
                GENERATION, setting_key, config, target, gpus=0.0, strategy=self._data_placement(config),
            )
            stages[GENERATION] = {"host": data_node["host"], "seconds": data_node["seconds"]}
        result, node = self._run_part(
            TRAIN_AND_EVALUATE, setting_key, config, target, gpus=self.gpus_per_case(config), generated=generated,
        )
        stages[TRAIN_AND_EVALUATE] = {"host": node["host"], "seconds": node["seconds"]}
        attempts = self._attempts(config, target)
        return result, {
            "host": node["host"], "node_id": node["node_id"], "ip": node["ip"], "gpus": node["gpus"],
            "stages": stages,
            "attempts": [{k: a.get(k) for k in ("part", "host", "node_id", "started")} for a in attempts],
        }

    def _data_placement(self, config: Any) -> Any:
        """Where a case's data task runs. A served generator's: on a node that can hold the generator (as
        many GPUs as --agora-generator-gpus, or one on a cluster with GPUs), the nodes taken in turn across
        the session; soft, so a retry after that node is lost goes elsewhere. Otherwise anywhere (SPREAD)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from pytest_agorabench.serving import served_weights

        if served_weights(config.generator) is None:
            return "SPREAD"
        ray = self.connect()
        need = config.generator_gpus or (1 if ray.cluster_resources().get("GPU", 0) > 0 else 0)
        nodes = sorted(n["NodeID"] for n in self.nodes() if n.get("Resources", {}).get("GPU", 0) >= need)
        if not nodes:
            raise ClusterError(
                f"no node of the Ray cluster has the {need} GPU(s) a served generator needs "
                "(--agora-generator-gpus); add such a node or lower the option"
            )
        dispatcher = ray.remote(Dispatcher).options(
            name=f"{DISPATCHER_PREFIX}-{self.session}", namespace=NAMESPACE, lifetime="detached",
            get_if_exists=True, num_cpus=0,
        ).remote()
        return NodeAffinitySchedulingStrategy(ray.get(dispatcher.pick.remote(nodes)), soft=True)

    def _run_part(
        self, part: str, setting_key: str, config: Any, target: dict[str, Any], gpus: float,
        generated: dict[str, Any] | None = None, strategy: Any = "SPREAD",
    ) -> tuple[Any, dict[str, Any]]:
        ray = self.connect()
        task = ray.remote(run_part_here).options(
            num_gpus=gpus, num_cpus=1, max_retries=CASE_RETRIES, retry_exceptions=False,
            scheduling_strategy=strategy, name=f"agorabench {setting_key} {part}",
        )
        ref = task.remote(part, setting_key, config, self.session, target, generated)
        try:
            return ray.get(ref)
        except KeyboardInterrupt:
            ray.cancel(ref, force=True)  # the node stops the task's process (and with it its training)
            raise
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None  # the case's own error, as a local run raises it
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.TaskCancelledError) as exc:
            hosts = [a["host"] for a in self._attempts(config, target) if a.get("part") == part]
            raise ClusterError(
                f"{setting_key}: its {part} task's process or node was lost {len(hosts) or 1} time(s) (at most "
                f"{CASE_RETRIES} retries; nodes: {', '.join(hosts) or 'unknown'}): {type(exc).__name__}. "
                "A rerun resumes from the store."
            ) from None

    def _attempts(self, config: Any, target: dict[str, Any]) -> list[dict[str, Any]]:
        from pytest_agorabench.store import Store

        folder = Store(config.store_dir).cluster_dir(self.session) / "attempts" / target["case"]
        rows = []
        for path in folder.glob("*.json") if folder.is_dir() else []:
            try:
                rows.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # written by a node killed mid-write: that attempt left no record
        return sorted(rows, key=lambda r: r.get("started", 0))

    # ------------------------------------------------------------------ the session (controller)

    def check_store(self, store_root: Path) -> tuple[dict[str, Any], dict[str, str]]:
        """Every node sees the same store and its locks block across nodes (shared_store.py), or a clear
        refusal before any case starts. Returns what each node saw (for the report) and each Ray node's
        host id."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from pytest_agorabench.shared_store import hold_probe, judge

        ray = self.connect()
        with hold_probe(store_root, self.session) as probe:
            refs = [
                ray.remote(probe_store_here).options(
                    num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
                ).remote(str(store_root), self.session, probe.token)
                for n in self.nodes()
            ]
            seen = ray.get(refs)
            summary = judge(probe, [view for view, _ in seen])
        return summary, {node["node_id"]: node["host"] for _, node in seen}

    def stop_generator_hosts(self) -> list[str]:
        """The session's generator hosts drop their servers (the last lease out stops each), then go, with
        the session's dispatcher."""
        ray = self.connect()
        names = [
            a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a.get("namespace") == NAMESPACE and (
                a["name"].startswith(f"{GENERATOR_HOST_PREFIX}-{self.session}-")
                or a["name"] == f"{DISPATCHER_PREFIX}-{self.session}"
            )
        ]
        stopped = []
        for name in names:
            try:
                host = ray.get_actor(name, namespace=NAMESPACE)
                if name.startswith(GENERATOR_HOST_PREFIX):
                    ray.get(host.close.remote(), timeout=STOP_TIMEOUT_S)
            except Exception:  # noqa: BLE001, S110 - a host on a lost node has nothing left to close
                pass
            try:
                ray.kill(ray.get_actor(name, namespace=NAMESPACE))
                stopped.append(name)
            except ValueError:
                pass  # gone already
        return stopped

    def finish(self, store_root: Path | None, controller: bool) -> None:
        if self._ray is None:
            return
        try:
            if controller:
                self.stop_generator_hosts()
                if store_root is not None:
                    from pytest_agorabench.store import Store

                    shutil.rmtree(Store(store_root).cluster_dir(self.session), ignore_errors=True)
        finally:
            self._ray.shutdown()
            self._ray = None


"""The cluster tier's one set-up (fixtures in conftest.py): a Ray cluster on this machine, a head and two worker nodes that declare two GPUs
each and distinct host ids (AGORABENCH_HOST_ID), built with ray.cluster_utils.Cluster. That utility is a
developer API of Ray: pyproject's ray extra pins the minor version, and only this file touches it.

Every process of a cluster carries a marker in its environment (and its temp folder in its command line), so
the teardown can prove that none is left, and a cluster never mistakes another test's processes for its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE_VLLM = ROOT / "tests" / "unit" / "serving" / "fake_vllm"  # the stand-in vllm server of the serving tests
HOSTS = ("node-a", "node-b")
# The smoke profile, faster where it changes no figure a test compares (reward model steps, the embedder).
FAST = {"AGORABENCH_SMOKE_REWARD_STEPS": "4", "AGORABENCH_EMBEDDER": "hashed"}
# A generator and judge that answer the same on every run: the smoke profile's SmolLM2 generator does not
# repeat its own figures across cold runs (README, "Profiles": its batches hold whichever requests are in
# flight together), so figures compared across two runs come from scripted data; training, evaluation and
# the intrinsic metrics are the smoke profile's own.
SCRIPT = ROOT / "tests" / "e2e" / "scripted.py"
SCRIPTED = (f"--generator=agora-script/{SCRIPT}:arithmetic", f"--judge=agora-script/{SCRIPT}:grader")


def processes_of(marker: str, temp_dir: str) -> list[int]:
    """Live processes of one cluster: its marker in their environment or its temp folder in their command."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (f"AGORABENCH_TEST_CLUSTER={marker}".encode() in environ or temp_dir.encode() in cmdline):
            found.append(int(proc.name))
    return found


def wait_until_gone(marker: str, temp_dir: str, deadline_s: float = 60.0) -> list[int]:
    end = time.monotonic() + deadline_s
    while (left := processes_of(marker, temp_dir)) and time.monotonic() < end:
        time.sleep(0.5)
    return left


@dataclass
class FakeCluster:
    cluster: Any
    temp_dir: str
    marker: str
    nodes: dict[str, Any] = field(default_factory=dict)  # host id -> the Cluster's node handle

    @property
    def address(self) -> str:
        return self.cluster.address

    def add(self, host: str) -> None:
        self.nodes[host] = self.cluster.add_node(
            num_cpus=2, num_gpus=2, env_vars={
                "AGORABENCH_HOST_ID": host, "AGORABENCH_TEST_CLUSTER": self.marker,
                # the served-generator test's stand-in vllm server, found by the nodes' server launcher
                "PYTHONPATH": os.pathsep.join([str(FAKE_VLLM), os.environ.get("PYTHONPATH", "")]),
            },
        )

    def remove(self, host: str) -> None:
        self.cluster.remove_node(self.nodes.pop(host), allow_graceful=False)


@contextmanager
def fake_cluster() -> Iterator[FakeCluster]:
    """A head and the HOSTS nodes for the block; on leaving it, the cluster is shut down and no process of
    it may be left (any that is, is killed, and the block fails)."""
    pytest.importorskip("ray", reason="the ray tier needs Ray: pip install 'pytest-agorabench[ray]'")
    from ray.cluster_utils import Cluster

    temp_dir = tempfile.mkdtemp(prefix="agr", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    marker = uuid.uuid4().hex
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "temp_dir": temp_dir, "env_vars": {"AGORABENCH_TEST_CLUSTER": marker}},
    )
    fake = FakeCluster(cluster, temp_dir, marker)
    try:
        for host in HOSTS:
            fake.add(host)
        cluster.wait_for_nodes()
        yield fake
    finally:
        cluster.shutdown()
        left = wait_until_gone(marker, temp_dir)
        for pid in left:  # never leave one behind, even when the test is about to fail for it
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert not left, f"Ray processes left after the cluster stopped: {left}"


def suite_cmd(store: Path, report: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(ROOT / "suites"), "-p", "no:cacheprovider", "-p", "no:randomly",
        "--agora-store", str(store), "--agora-json", str(report), *args,
    ]


def run_pytest(store: Path, report: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """An inner pytest run of the suites; its JSON report (asserting it passed)."""
    run = subprocess.run(
        suite_cmd(store, report, *args), cwd=ROOT, env={**os.environ, **FAST, **(env or {})},
        capture_output=True, text=True, timeout=1800, check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    data = json.loads(report.read_text())
    data["_stdout"] = run.stdout
    return data


def figures(case: dict[str, Any]) -> dict[str, Any]:
    """What a case measured, without what depends on where or when it ran (seconds, cache hits, nodes)."""
    training = case.get("training") or {}
    return {
        "setting": case["setting"],
        "pgr": case["pgr"],
        "benchmarks": case["benchmarks"],
        "instances": (case["instances_requested"], case["instances_valid"], case["instances_dropped"]),
        "drops": case["drops_by_reason"],
        "train_rows": case["train_rows"],
        "artifacts": case["artifacts"],
        "tokens": (case["input_tokens"], case["output_tokens"]),
        "intrinsic": (case.get("intrinsic") or {}).get("metrics"),
        "loss_history": training.get("loss_history"),
    }

"""A cluster started the way a user starts one: `ray start --head`, then `ray start --address` for a node,
and pytest pointed at it with --agora-ray=auto (RAY_ADDRESS): the connection, the store check on both nodes,
the case on the node with a GPU and named in the report."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.cluster.cluster_runs import processes_of, run_pytest, wait_until_gone

pytestmark = [pytest.mark.ray, pytest.mark.timeout(1800)]


@pytest.fixture
def started_cluster():
    pytest.importorskip("ray", reason="the ray tier needs Ray: pip install 'pytest-agorabench[ray]'")
    ray_cli = str(Path(sys.executable).with_name("ray"))
    temp_dir = tempfile.mkdtemp(prefix="ags", dir="/tmp")
    marker = uuid.uuid4().hex
    env = {**os.environ, "AGORABENCH_TEST_CLUSTER": marker, "RAY_USAGE_STATS_ENABLED": "0"}
    port = str(_free_port())
    try:
        subprocess.run(
            [ray_cli, "start", "--head", f"--port={port}", "--num-cpus=1", "--num-gpus=0", f"--temp-dir={temp_dir}",
             "--include-dashboard=false"],
            env={**env, "AGORABENCH_HOST_ID": "head"}, check=True, capture_output=True, timeout=300,
        )
        address = f"127.0.0.1:{port}"
        subprocess.run(
            [ray_cli, "start", f"--address={address}", "--num-cpus=2", "--num-gpus=1"],
            env={**env, "AGORABENCH_HOST_ID": "node-w"}, check=True, capture_output=True, timeout=300,
        )
        yield address
    finally:
        # Only this cluster's processes (`ray stop` would stop every Ray process on the machine, another test's too).
        for pid in processes_of(marker, temp_dir):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        left = wait_until_gone(marker, temp_dir, deadline_s=30)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not wait_until_gone(marker, temp_dir), "Ray processes left after the started cluster stopped"


def test_pytest_reaches_a_cluster_started_with_ray_start_through_auto(started_cluster, tmp_path):
    report = run_pytest(
        tmp_path / "store", tmp_path / "report.json", "-k", "math and response_generation", "--agora-ray=auto",
        env={"RAY_ADDRESS": started_cluster},
    )
    (case,) = report["cases"]
    assert case["placement"]["host"] == "node-w"  # the only node with a GPU
    seen = set(report["config"]["cluster"]["store"]["nodes"])
    assert seen == {"head", "node-w"}
    assert case["pgr"]["point"] is not None and case["instances_valid"] == case["instances_requested"]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

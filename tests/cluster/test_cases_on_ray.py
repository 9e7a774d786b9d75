"""Cases on a Ray cluster (--agora-ray), on a cluster of three nodes on this machine (conftest.py): the same
figures as a local run, cases on both nodes, one generator server per node, a lost node's case retried
elsewhere with the same figures, the way a user starts a cluster (`ray start`), nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cluster.cluster_runs import (
    FAKE_VLLM,
    FAST,
    HOSTS,
    SCRIPTED,
    figures,
    run_pytest,
    suite_cmd,
)

pytestmark = [pytest.mark.ray, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def math_on_cluster(ray_cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    report = run_pytest(
        folder / "store", folder / "report.json", "-k", "math", "-n", "2", f"--agora-ray={ray_cluster.address}",
        f"--junitxml={folder / 'junit.xml'}", *SCRIPTED,
    )
    return folder, report


def test_math_cases_on_the_cluster_match_a_local_run_and_use_both_nodes(local_math, math_on_cluster):
    folder, report = math_on_cluster
    local = {c["setting"]: figures(c) for c in local_math["cases"]}
    remote = {c["setting"]: figures(c) for c in report["cases"]}
    assert len(remote) == 3 and remote == local
    hosts = {c["setting"]: c["placement"]["host"] for c in report["cases"]}
    assert set(hosts.values()) == set(HOSTS), hosts
    # The report names each case's node; JUnit carries it; the header shows the cluster and its store check.
    junit = (folder / "junit.xml").read_text()
    for host in hosts.values():
        assert f'name="node" value="{host}"' in junit
    cluster = report["config"]["cluster"]
    assert {n["host"] for n in cluster["nodes"] if n["gpus"]} == set(HOSTS)
    assert set(cluster["store"]["nodes"]) >= set(HOSTS)
    assert "agorabench Ray cluster" in report["_stdout"] and "locks hold across nodes" in report["_stdout"]
    html = (folder / "report.html").read_text()
    assert "<th>node</th>" in html and all(h in html for h in HOSTS)
    assert not (folder / "store" / "cluster").exists() or not any((folder / "store" / "cluster").iterdir())


def test_a_served_generator_runs_once_per_node_for_the_session(ray_cluster, math_on_cluster, tmp_path):
    """A vllm generator (the serving tests' stand-in server): each node's cases call the one server its
    generator host started, and the end of the session stops every one of them."""
    folder, _ = math_on_cluster  # its store: the gold reference and the baselines are served from it
    report = run_pytest(
        folder / "store", tmp_path / "report.json", "-k", "math", "-n", "3", f"--agora-ray={ray_cluster.address}",
        "--generator=vllm/some-org/arithmetic", "--instances=4",
        env={"AGORABENCH_VLLM_PYTHON": sys.executable, "AGORABENCH_VLLM_START_TIMEOUT": "120",
             "PYTHONPATH": os.pathsep.join([str(FAKE_VLLM), os.environ.get("PYTHONPATH", "")])},  # the preflight's
    )
    by_host: dict[str, set[str]] = {}
    for case in report["cases"]:
        (name,) = case["servers"]
        by_host.setdefault(case["placement"]["stages"]["generation"]["host"], set()).add(name)
    # The data of the three cases was generated on both nodes in turn, each node's on its one server.
    assert set(by_host) == set(HOSTS) and all(len(names) == 1 for names in by_host.values()), by_host
    assert len(report["cases"]) == 3  # so one node's two cases shared its server
    for host in HOSTS:
        servers = folder / "store" / "servers" / host
        (key,) = [p for p in servers.iterdir() if p.is_dir()]
        starts = [json.loads(line) for line in (key / "starts.jsonl").read_text().splitlines()]
        assert len(starts) == 1, (host, starts)
        assert not (key / "record.json").exists()  # stopped at the session's end
        assert not _alive(starts[0]["pid"])


def test_a_case_whose_node_is_lost_is_retried_on_the_other_with_the_same_figures(local_math, fresh_cluster, tmp_path):
    store, report_path = tmp_path / "store", tmp_path / "report.json"
    cmd = suite_cmd(
        store, report_path, "-k", "math and response_generation", f"--agora-ray={fresh_cluster.address}", *SCRIPTED,
    )
    with subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[2], env={**os.environ, **FAST},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            lost = _remove_node_once_training_checkpointed(fresh_cluster, store)
            out, _ = proc.communicate(timeout=1800)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out[-6000:]
    (case,) = json.loads(report_path.read_text())["cases"]
    attempts = [a["host"] for a in case["placement"]["attempts"] if a["part"] == "training_and_evaluation"]
    survivor = next(h for h in HOSTS if h != lost)
    assert attempts == [lost, survivor] and case["placement"]["host"] == survivor
    assert case["training"]["resumed_from_step"] > 0  # the retry resumed the lost node's training checkpoint
    expected = next(figures(c) for c in local_math["cases"] if c["setting"] == "math/response_generation")
    assert figures(case) == expected
    journal = _artifact_journal(store, case["artifacts"]["generation"])
    ids = [row["id"] for row in journal]
    assert len(ids) == len(set(ids)) == case["instances_requested"]


def _remove_node_once_training_checkpointed(fake, store: Path) -> str:
    """Once the case's training has written its first checkpoint, remove the node running it (no graceful
    exit: its processes die as on a lost machine). Returns its host id."""
    deadline = time.monotonic() + 1200
    while time.monotonic() < deadline:
        checkpoints = list((store / "checkpoints").glob("training/*/checkpoint-*/trainer_state.json"))
        # the attempt records the nodes write as each task starts (cluster/node_work.py)
        training = list(store.glob("cluster/*/attempts/*/training_and_evaluation-*.json"))
        if checkpoints and training:
            host = json.loads(training[0].read_text())["host"]
            fake.remove(host)
            return host
        time.sleep(0.2)
    raise AssertionError("the case never reached a training checkpoint")


def _artifact_journal(store: Path, key: str) -> list[dict]:
    (path,) = store.glob(f"artifacts/generation/*/{key}/journal.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

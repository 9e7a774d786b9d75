"""The shipped sbatch recipe (pytest_agorabench/cluster/slurm/agorabench-ray.sbatch) submitted for real to a
two-node Slurm on this machine: Ray's head starts through srun on the first node and a worker on the second,
each with Slurm's GPU count, the recipe waits for both, runs the command on the head against that Ray,
requeues itself on USR1 (what --signal=B:USR1@120 sends), the rerun goes through the same start-up, `ray stop`
ends Ray and the command's exit code is the job's.

The first test runs a small command in place of pytest (AGORA_COMMAND); the second runs the recipe's own
command, `pytest suites/ --agora-ray=auto`, on one math case. Both Slurm nodes are this host; the GPUs are a
GRES on stand-in device files (conftest.py).

Tier `slurm` (about 2.5 minutes on 2 cores): runs where AGORABENCH_SLURM_TEST=1 and the daemons start
(see conftest.py)."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import GPUS, NODES, free_port

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(900)]

RECIPE = Path(__file__).resolve().parents[2] / "pytest_agorabench" / "cluster" / "slurm" / "agorabench-ray.sbatch"

# What the recipe runs on the head: one line per run about the Ray it found, then on the first run the
# signal Slurm sends before a time limit, and the long work that the requeue interrupts.
COMMAND = r"""#!/bin/bash
python3 - >> "$RESULTS" <<'EOF'
import json, os
import ray

ray.init(log_to_driver=False, logging_level="ERROR")  # RAY_ADDRESS, from the recipe


@ray.remote(num_gpus=1)
def where():
    return ray.get_runtime_context().get_node_id(), os.environ.get("CUDA_VISIBLE_DEVICES")


# One task per GPU of the cluster: they can only all be placed if every node offers its GPUs.
gpus = int(ray.cluster_resources().get("GPU", 0))
placed = ray.get([where.remote() for _ in range(gpus)])
print(json.dumps({"restart": int(os.environ.get("SLURM_RESTART_COUNT", 0)), "address": os.environ["RAY_ADDRESS"],
                  "nodes": sum(n["Alive"] for n in ray.nodes()), "gpus": gpus,
                  "task_nodes": len({node for node, _ in placed}), "task_cuda": sorted(c for _, c in placed)}))
EOF
if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then
  scancel --signal=USR1 --batch "$SLURM_JOB_ID"
  exec sleep 600
fi
exit 3
"""


def _submit(work: Path, env: dict[str, str], minutes: int, timeout: int) -> tuple[subprocess.CompletedProcess, str]:
    """The recipe submitted with `sbatch --wait` on every node of the test Slurm, a GPU count per node, its
    output in ``work``: (sbatch's process, the job's output)."""
    out = work / "job.out"
    job = subprocess.run(["sbatch", "--wait", "--parsable", f"--nodes={len(NODES)}", f"--gpus-per-node={GPUS}",
                          f"--time={minutes}", f"--output={out}", f"--chdir={work}", str(RECIPE)],
                         env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return job, out.read_text() if out.exists() else "(no job output)"


def test_the_recipe_starts_ray_runs_the_command_requeues_and_passes_its_exit_code(slurm, tmp_path):
    work = Path(slurm.root) / "job"  # short: Ray's socket paths live under it
    work.mkdir()
    command = work / "command.sh"
    command.write_text(COMMAND)
    command.chmod(0o755)
    results = work / "results.jsonl"
    port = free_port()
    env = {**slurm.env,
           "PATH": f"{Path(sys.executable).parent}:{slurm.env['PATH']}",  # ray and python3 of this venv
           "RESULTS": str(results), "AGORA_COMMAND": str(command), "AGORA_RAY_PORT": str(port),
           "AGORA_RAY_WAIT_S": "120",
           "AGORA_RAY_HEAD_ARGS": f"--temp-dir={work}/ray --include-dashboard=false"}
    env.pop("AGORA_GPUS_PER_NODE", None)  # the count must come from Slurm's allocation
    job, log = _submit(work, env, minutes=10, timeout=800)
    assert job.returncode == 3, f"sbatch --wait exited {job.returncode}: {job.stderr}\n{log}"

    runs = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["restart"] for r in runs] == [0, 1], log
    for run in runs:
        assert run["address"].endswith(f":{port}")
        assert run["nodes"] == len(NODES)
        assert run["gpus"] == GPUS * len(NODES)  # --num-gpus from SLURM_GPUS_ON_NODE, on each node
        assert run["task_nodes"] == len(NODES)
        # Ray gave each task one GPU of its node: every index of a node's GPUs, once per node.
        assert run["task_cuda"] == sorted([str(i) for i in range(GPUS)] * len(NODES))
    assert log.count("USR1: requeueing job") == 1, log
    assert "command exited with 3" in log, log

    job_id = job.stdout.strip().split(";")[0]
    shown = subprocess.run(["scontrol", "show", "job", job_id], env=env, capture_output=True, text=True).stdout
    assert "Restarts=1" in shown and "ExitCode=3:0" in shown, shown
    # The last run's `ray stop` ended the head: nothing listens on its port any more.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((runs[-1]["address"].rsplit(":", 1)[0], port), timeout=5).close()


def test_the_recipe_s_own_pytest_command_runs_a_case_on_its_ray_through_agora_ray_auto(slurm, tmp_path):
    """The recipe as a user submits it: its default command, `pytest ... --agora-ray=auto`, with one math
    case (scripted data) and a store in the job's folder; the JSON report names the node the case ran on."""
    root = Path(__file__).resolve().parents[2]
    script = root / "tests" / "e2e" / "scripted.py"
    work = Path(slurm.root) / "pytest-job"
    work.mkdir()
    report = work / "report.json"
    env = {**slurm.env,
           "PATH": f"{Path(sys.executable).parent}:{slurm.env['PATH']}",
           "AGORABENCH_SMOKE_REWARD_STEPS": "4", "AGORABENCH_EMBEDDER": "hashed",
           "AGORA_SUITES": str(root / "suites"), "AGORA_STORE": str(work / "store"), "AGORA_CASES_IN_FLIGHT": "1",
           "AGORA_PYTEST_ARGS": (f"-k 'math and response_generation' -p no:randomly -p no:cacheprovider "
                                 f"--agora-json={report} --generator=agora-script/{script}:arithmetic "
                                 f"--judge=agora-script/{script}:grader"),
           "AGORA_RAY_PORT": str(free_port()), "AGORA_RAY_WAIT_S": "120",
           "AGORA_RAY_HEAD_ARGS": f"--temp-dir={work}/ray --include-dashboard=false"}
    for name in ("AGORA_COMMAND", "AGORA_GPUS_PER_NODE"):
        env.pop(name, None)
    job, log = _submit(work, env, minutes=20, timeout=1500)
    assert job.returncode == 0, f"sbatch --wait exited {job.returncode}: {job.stderr}\n{log[-6000:]}"
    data = json.loads(report.read_text())
    (case,) = data["cases"]
    assert case["setting"] == "math/response_generation" and case["pgr"]["point"] is not None
    assert case["placement"]["host"] and len(case["placement"]["gpus"]) == 1  # one of Slurm's GPUs, via Ray
    assert len(data["config"]["cluster"]["nodes"]) == len(NODES)

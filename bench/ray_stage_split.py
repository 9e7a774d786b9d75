"""What splitting a case into two Ray tasks changes: GPU-seconds held per case, and the run's wall time.

Baseline: each case as ONE task holding its GPU from generation to the last evaluation. Measured: the case as
we run it, its data in a task without GPUs, then training and evaluation in a task holding the GPU. Both on
the same fake cluster (ray.cluster_utils.Cluster: a head and one node declaring two GPUs), each on a fresh
store, with the three math smoke cases two at a time, in this process.

    python bench/ray_stage_split.py            # about 10 minutes on 2 cores

The GPUs are fake (Ray's bookkeeping only; everything computes on the CPU), so the wall times say little
about a GPU cluster; the GPU-seconds held are the point: what another case could have trained on.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAST = {"AGORABENCH_SMOKE_REWARD_STEPS": "4", "AGORABENCH_EMBEDDER": "hashed"}
SETTINGS = ("math/response_generation", "math/instance_generation", "math/quality_enhancement")


def run_mode(address: str, split: bool, store: Path) -> dict:
    from pytest_agorabench.cluster.node_work import TRAIN_AND_EVALUATE
    from pytest_agorabench.cluster.ray_run import RayRun
    from pytest_agorabench.config import build_config

    config = build_config({"store": str(store)}, {}, REPO)
    run = RayRun(address, uuid.uuid4().hex[:12], split_generation=split)
    run.connect()

    def one(setting: str) -> tuple[str, float, float]:
        target = {"case": f"bench-{uuid.uuid4().hex[:8]}", "folder": None, "worker": "bench"}
        result, placement = run.run_case(setting, config, target)
        held = placement["stages"][TRAIN_AND_EVALUATE]["seconds"]
        return setting, held, result.pgr.point

    start = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two cases in flight, as -n 2
            rows = list(pool.map(one, SETTINGS))
    finally:
        run.finish(store, controller=True)
    return {"wall": time.perf_counter() - start, "rows": rows}


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    os.environ.update(FAST)
    from ray.cluster_utils import Cluster

    temp_dir = tempfile.mkdtemp(prefix="agb", dir="/tmp")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "temp_dir": temp_dir})
    cluster.add_node(num_cpus=2, num_gpus=2, env_vars={"AGORABENCH_HOST_ID": "bench-node"})
    cluster.wait_for_nodes()
    try:
        with tempfile.TemporaryDirectory(prefix="agora-bench-") as tmp:
            one = run_mode(cluster.address, False, Path(tmp) / "one")
            two = run_mode(cluster.address, True, Path(tmp) / "split")
    finally:
        cluster.shutdown()
    print(f"{'setting':26} {'GPU-s one task':>15} {'GPU-s split':>12} {'ratio':>6}  PGR one / split")
    for (setting, held_one, pgr_one), (_, held_two, pgr_two) in zip(one["rows"], two["rows"]):
        print(f"{setting:26} {held_one:15.1f} {held_two:12.1f} {held_two / held_one:6.2f}  {pgr_one} / {pgr_two}")
    total_one = sum(r[1] for r in one["rows"])
    total_two = sum(r[1] for r in two["rows"])
    print(f"GPU-seconds held, split / one task: {total_two:.1f} / {total_one:.1f} = {total_two / total_one:.2f}")
    print(f"wall time of the three cases, split / one task: {two['wall']:.1f} / {one['wall']:.1f} s = "
          f"{two['wall'] / one['wall']:.2f}")


if __name__ == "__main__":
    main()

"""How many generated rows the smoke student needs to learn from them alone: PGR against the instance count.

For each chosen setting and count N, one case of the smoke profile through the real pipeline with a
scripted generator of tests/e2e/scripted_world.py that writes right data (``world``), N instances, intrinsic
metrics off. Response generation and quality enhancement train on the generated rows only, so their PGR
says what N rows can teach the tiny student; the baseline is the gold reference itself (PGR 100 by
definition), trained on the domain's 80 seed rows in the same store. Prints PGR with its interval and the
student's training seconds per N. The smoke profile's ``instances`` is chosen from this table (issue 20).

    python bench/smoke_instances.py                                        # RG of all three domains, 8-64
    python bench/smoke_instances.py --settings math/quality_enhancement --counts 16 32
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCRIPT = ROOT / "tests" / "e2e" / "scripted_world.py"
DEFAULT_SETTINGS = ("math/response_generation", "code/response_generation", "instruction_following/response_generation")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS))
    parser.add_argument("--counts", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--function", default="world", help="the scripted generator (world or world_corrupted)")
    parser.add_argument("--store", default=None, help="store folder (default: a fresh temporary one)")
    args = parser.parse_args()

    import dataclasses

    from pytest_agorabench.config import build_config
    from pytest_agorabench.pipeline import run_case
    from pytest_agorabench.report.estimate_text import interval
    from pytest_agorabench.settings import get_setting

    store = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="smoke-instances-")) / "store"
    print(f"smoke profile, scripted generator {args.function}, store {store}")
    for key in args.settings:
        setting = get_setting(key)
        for n in args.counts:
            cli = {"generator": f"agora-script/{SCRIPT}:{args.function}", "instances": n, "store": str(store),
                   "intrinsic": "off"}
            result = run_case(setting, build_config(cli, {}, Path.cwd()))
            gaps = ", ".join(f"{b.name} {b.student:.0f}/{b.base:.0f}/{b.reference:.0f}" for b in result.benchmarks)
            print(f"{key:45s} N={n:3d} valid {result.instances_valid:3d}  PGR {interval(dataclasses.asdict(result.pgr)):24s} "
                  f"S_G/S_0/S_ref {gaps}  training {result.stage_seconds.get('training', 0.0):5.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

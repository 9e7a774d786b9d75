"""The gate's false-fail rate: how often it fails a case when nothing changed but the training seed.

On the signal set-up (fixtures/signal: sums the tiny student learns), the scripted generator's correct data
is generated once and the student trained with S seeds (42 .. 42+S-1). A "release with no real change" is
one group of seeds as the saved baseline and another, disjoint group as the new run, compared exactly as
``--agora-compare --agora-max-drop X`` does (gate/compare.py):
- K = 1: every ordered pair of seeds (one student per run, as without --agora-repeats);
- K > 1: every split of 2K seeds into two groups of K (as --agora-repeats K in both runs; the comparison
  then resamples each run's seeds as well as the items).
Prints the share of comparisons the gate fails, for 1 and for 3 gated cases (a math session). Comparisons
share students, so they are not independent draws: read the rate as an estimate. Baseline: the nominal
level, 5 %.

    python bench/gate_noise.py                       # 8 seeds, K = 1 and K = 4, margin 5 PGR points
    python bench/gate_noise.py --seeds 6 --repeats 1 3 --margin 0
"""

from __future__ import annotations

import argparse
import copy
import itertools
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 4], help="students per run (K)")
    parser.add_argument("--margin", type=float, default=5.0)
    parser.add_argument("--store", help="artifact store (default: a fresh temporary one)")
    args = parser.parse_args()

    from pytest_agorabench.config import build_config
    from pytest_agorabench.gate import case_record, compare
    from pytest_agorabench.pipeline import run_case
    from pytest_agorabench.settings import get_setting
    from pytest_agorabench.training.recipes import get_recipe

    setting = get_setting("math/response_generation")
    store = args.store or tempfile.mkdtemp(prefix="agorabench-noise-")
    records = []
    for seed in range(42, 42 + args.seeds):
        config = build_config({
            "generator": f"agora-script/{REPO / 'tests/e2e/scripted.py'}:arithmetic", "instances": 80,
            "seed_file": str(REPO / "fixtures/signal/seeds.jsonl"),
            "benchmark_dir": str(REPO / "fixtures/signal/benchmarks"),
            "store": store, "intrinsic": "off", "train_seed": seed,
        }, {}, REPO)
        result = run_case(setting, config)
        records.append(case_record(result, get_recipe(config.profile.recipe).fingerprint(), [seed]))
        pgr = result.pgr
        print(f"seed {seed}: PGR {pgr.point} [{pgr.low}, {pgr.high}]", flush=True)

    for k in args.repeats:
        comparisons = list(_comparisons(len(records), k))
        for tests in (1, 3):
            failed, deltas = 0, []
            for n, (base, run) in enumerate(comparisons):
                block = compare(_group(records, run), _group(records, base), margin=args.margin, tests=tests,
                                max_failures=0.05, resamples=2000, seed=n)
                failed += block["gate"] == "failed"
                deltas.append(block["delta_pgr"])
            print(f"K = {k} student(s) per run, {tests} gated case(s), margin {args.margin:g}: the gate failed "
                  f"{failed} of {len(comparisons)} no-change comparisons = {100 * failed / len(comparisons):.1f} % "
                  f"(nominal 5 %); delta PGR from {min(deltas):+.1f} to {max(deltas):+.1f}", flush=True)


def _comparisons(seeds: int, k: int):
    """(baseline seeds, run seeds): ordered pairs for K = 1, else every split of the first 2K seeds."""
    if k == 1:
        yield from (((i,), (j,)) for i in range(seeds) for j in range(seeds) if i != j)
        return
    if 2 * k > seeds:
        raise SystemExit(f"K = {k} needs at least {2 * k} seeds (--seeds)")
    pool = range(2 * k)
    for base in itertools.combinations(pool, k):
        yield base, tuple(i for i in pool if i not in base)


def _group(records: list[dict], members: tuple[int, ...]) -> dict:
    """One run's record with the students of ``members`` (what --agora-repeats would have saved)."""
    group = copy.deepcopy(records[members[0]])
    group["seeds"] = [records[i]["seeds"][0] for i in members]
    for name, entry in group["item_scores"].items():
        entry["student"] = [records[i]["item_scores"][name]["student"][0] for i in members]
    return group

if __name__ == "__main__":
    main()

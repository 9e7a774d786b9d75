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

``--small-gap`` measures the set-up where the reference barely beats the base (issue 19): 20 items per
benchmark (GSM8K- and MATH-like), S_0 about 5 % and S_ref about 20 % (a 15-point gap), simulated because no
real tiny student is that close to its reference. Each trial draws a world (which items the base, the
reference and the student can solve: per-item probabilities, fixed in the trial) and then 2K students of
the same generator (each item right with its probability, anew per training seed), compares K against K
exactly as the gate does, and counts failures. It also prints how often the previous rule (a ratio
bootstrap that failed closed when more than 5 % of resamples had a degenerate gap) would have failed.

    python bench/gate_noise.py --small-gap --trials 400 --repeats 1 4
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
    parser.add_argument("--small-gap", action="store_true", help="the simulated 20-item, 15-point-gap set-up")
    parser.add_argument("--trials", type=int, default=400, help="worlds drawn with --small-gap")
    args = parser.parse_args()
    if args.small_gap:
        small_gap(args.trials, args.repeats, args.margin)
        return

    from pytest_agorabench.config import build_config
    from pytest_agorabench.gate import case_record, compare
    from pytest_agorabench.pipeline import run_case
    from pytest_agorabench.pipeline.train import case_recipe
    from pytest_agorabench.settings import get_setting

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
        records.append(case_record(result, case_recipe(config, setting.domain).fingerprint(), [seed]))
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


def small_gap(trials: int, repeats: list[int], margin: float) -> None:
    import numpy as np

    from pytest_agorabench.gate import compare

    rng = np.random.default_rng(2026)
    ids = [f"q{i}" for i in range(20)]
    for k in repeats:
        failed, old_rule, gaps = 0, 0, []
        for trial in range(trials):
            world = {}
            for name in ("gsm8k", "math"):
                base = (rng.random(20) < 0.05).astype(float)
                reference = (rng.random(20) < 0.20).astype(float)
                # The student learns about half of what separates the reference from the base.
                chance = np.clip(0.05 + 0.5 * (reference - base) + 0.05 * rng.random(20), 0.0, 1.0)
                students = (rng.random((2 * k, 20)) < chance).astype(float)
                world[name] = (base, reference, students)
                gaps.append(100 * (reference.mean() - base.mean()))
            runs = [_simulated(world, ids, slice(0, k)), _simulated(world, ids, slice(k, 2 * k))]
            block = compare(runs[1], runs[0], margin=margin, tests=1, max_failures=0.05, resamples=1000,
                            seed=trial)
            failed += block["gate"] == "failed"
            old_rule += block["dropped_resamples"] > 0.05 * block["resamples"]
        print(f"small gap (20 items, mean S_ref - S_0 {np.mean(gaps):.1f} points), K = {k} student(s) per run, "
              f"margin {margin:g}: the gate failed {failed} of {trials} no-change comparisons = "
              f"{100 * failed / trials:.1f} % (nominal 5 %); the previous rule would have failed closed in "
              f"{100 * old_rule / trials:.1f} %", flush=True)


def _simulated(world: dict, ids: list[str], members: slice) -> dict:
    """A saved-run record of the simulated students ``members`` (shared S_0 and S_ref)."""
    return {
        "schema": "agorabench-saved-case", "setting": "math/response_generation", "generator": "sim",
        "seeds": list(range(members.start, members.stop)),
        "store_keys": {"student_init": "base", "baseline_base": "base", "baseline_reference": "ref",
                       "reference_training": "ref"},
        "item_scores": {name: {"ids": ids, "student": students[members].tolist(), "base": base.tolist(),
                               "reference": reference.tolist(), "judged": False}
                        for name, (base, reference, students) in world.items()},
    }


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

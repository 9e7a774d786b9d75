"""`agorabench compare BASE RUN [--max-drop X]`: the gate's comparison offline, from two saved runs (their
folders, or the report.json inside them), every setting both hold; exit 1 when a gated case fails."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pytest_agorabench.gate.compare import compare, describe
from pytest_agorabench.gate.saved_runs import SavedRunError, load_case
from pytest_agorabench.gate.stats import holm


def _folder(value: str) -> Path:
    path = Path(value)
    folder = path.parent if path.name == "report.json" else path
    if not (folder / "cases").is_dir():
        raise SavedRunError(f"{value} is not a saved run (a folder written by --agora-save, or its report.json)")
    return folder


def cmd_compare(args: argparse.Namespace) -> int:
    base, run = _folder(args.baseline), _folder(args.run)
    settings = sorted(
        json.loads(p.read_text())["setting"] for p in (run / "cases").glob("*.json") if (base / "cases" / p.name).exists()
    )
    if not settings:
        raise SavedRunError(f"{base} and {run} share no case")
    blocks = {}
    for key in settings:
        blocks[key] = compare(
            load_case(run, key), load_case(base, key), margin=args.max_drop, tests=len(settings),
            max_failures=args.max_failures, resamples=args.resamples, seed=args.seed, baseline_name=str(base),
        )
        print(f"{key}: {describe(blocks[key])}")
        for name, test in blocks[key]["benchmarks"].items():
            print(f"  {name}: student delta {test['delta']:+.1f} points over {test['items']} items, "
                  f"{test['test']} p(worse) = {test['p_worse']:.4g}")
    if args.max_drop is None:
        return 0
    significant = holm({k: b["p_drop"] for k, b in blocks.items() if b.get("p_drop") is not None})
    failed = [k for k, b in blocks.items() if b["gate"] == "failed"]
    print(f"gate (max drop {args.max_drop:g}): {len(failed)} of {len(blocks)} failed (Bonferroni per case); "
          f"Holm: {', '.join(k for k, hit in significant.items() if hit) or 'none'} significant")
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare two saved runs with the gate's paired statistics")
    p.add_argument("baseline", help="the saved run to compare with (folder or its report.json)")
    p.add_argument("run", help="the saved run to judge (folder or its report.json)")
    p.add_argument("--max-drop", type=float, help="PGR points; fail a case whose drop beyond this is significant")
    p.add_argument("--max-failures", type=float, default=0.05, help="share of unjudged items that fails closed")
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(fn=cmd_compare)

"""`agorabench compare BASE RUN [--max-drop X]`: the gate's comparison offline, from two saved runs (their
folders, or the report.json inside them), every setting both hold; exit 1 when a gated case fails, 2 on a bad
argument or a damaged saved run."""

from __future__ import annotations

import argparse
from pathlib import Path

from pytest_agorabench.cli_args import number
from pytest_agorabench.gate.compare import compare, describe
from pytest_agorabench.gate.saved_runs import SavedRunError, case_settings, load_case
from pytest_agorabench.gate.stats import holm


def _folder(value: str | Path) -> Path:
    path = Path(value).expanduser()
    folder = path.parent if path.name == "report.json" else path
    if not (folder / "cases").is_dir():
        raise SavedRunError(f"{value} is not a saved run (a folder written by --agora-save, or its report.json)")
    return folder


def saved_run_folder(value: str) -> Path:
    """argparse type: a saved run's folder (or its report.json), checked before any work."""
    try:
        return _folder(value)
    except SavedRunError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_compare(args: argparse.Namespace) -> int:
    base, run = _folder(args.baseline), _folder(args.run)  # again: a caller may hand strings
    # Every case file of both runs is read (and refused if damaged) before any comparison is printed.
    mine, theirs = case_settings(run), case_settings(base)
    settings = sorted(set(mine) & set(theirs))
    if not settings:
        raise SavedRunError(f"{base} and {run} share no case")
    blocks = {}
    for key in settings:
        try:
            blocks[key] = compare(
                load_case(run, key), load_case(base, key), margin=args.max_drop, tests=len(settings),
                max_failures=args.max_failures, resamples=args.resamples, seed=args.seed, baseline_name=str(base),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # a case file with missing or odd fields
            raise SavedRunError(
                f"the case {key} of {base} or {run} lacks a field or holds an odd value "
                f"({type(exc).__name__}: {exc}); is a saved run damaged?") from None
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
    p.add_argument("baseline", type=saved_run_folder, help="the saved run to compare with (folder or its report.json)")
    p.add_argument("run", type=saved_run_folder, help="the saved run to judge (folder or its report.json)")
    p.add_argument("--max-drop", type=number(float, 0), help="PGR points (>= 0); fail a case whose drop beyond this is significant")
    p.add_argument("--max-failures", type=number(float, 0, 1), default=0.05,
                   help="share (0 .. 1) of unjudged items that fails closed")
    # numpy's seeding takes 0 .. 2**32 - 1; a bootstrap needs resamples to have an interval at all.
    p.add_argument("--resamples", type=number(int, 100, 10**6), default=2000, help="bootstrap resamples (100 .. 1e6)")
    p.add_argument("--seed", type=number(int, 0, 2**32 - 1), default=42)
    p.set_defaults(fn=cmd_compare, error_code=2)  # 1 means a failed gate: a damaged input must not look like one

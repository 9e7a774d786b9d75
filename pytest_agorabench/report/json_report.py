"""The versioned JSON report of a session: every case's figures plus the paper-style aggregates."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.files import write_json_atomic
from pytest_agorabench.records import read_text
from pytest_agorabench.store import package_versions

SCHEMA = "pytest-agorabench/report"
SCHEMA_VERSION = 1


class ReportError(AgoraBenchError):
    """A file given as a report is missing, not JSON, or not one of our reports; the message names it."""


def aggregates(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Method averages (mean over domains) and the generator score (mean over all cells), as in Table 2.

    Only defined PGRs enter a mean; the counts say how many did, so a partial run is never mistaken
    for the paper's nine-cell score.
    """

    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 3) if values else None

    by_method: dict[str, list[float]] = {}
    by_domain: dict[str, list[float]] = {}
    defined: list[float] = []
    for case in cases:
        point = case["pgr"]["point"]
        if point is None:
            continue
        domain, method = case["setting"].split("/")
        by_method.setdefault(method, []).append(point)
        by_domain.setdefault(domain, []).append(point)
        defined.append(point)
    priced = [c["cost_usd"] for c in cases if c.get("cost_usd") is not None]
    cost = round(sum(priced), 6) if priced and len(priced) == len(cases) else None
    score = mean(defined)
    return {
        "cells": len(cases),
        "cells_defined": len(defined),
        "generator_score": score,
        # Paper section 7: what the run's data cost, and PGR points per dollar (None when unpriced or free).
        "cost_usd": cost,
        "pgr_per_usd": round(score / cost, 3) if cost and score is not None else None,
        "by_method": {k: {"mean_pgr": mean(v), "cells": len(v)} for k, v in sorted(by_method.items())},
        "by_domain": {k: {"mean_pgr": mean(v), "cells": len(v)} for k, v in sorted(by_domain.items())},
    }


def build_report(cases: list[dict[str, Any]], run_config: dict[str, Any]) -> dict[str, Any]:
    ordered = sorted(cases, key=lambda c: (c["setting"], c.get("generator", "")))
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": run_config,
        "versions": package_versions(),
        "cases": ordered,
        "summary": aggregates(ordered),
    }


def write_report(path: Path, report: dict[str, Any]) -> Path:
    write_json_atomic(path, report)
    return path


def load_report(path: str | Path) -> dict[str, Any]:
    """A JSON report written by ``write_report``: checked to exist, to be JSON, to carry our schema and a
    list of cases; anything else is a ``ReportError`` naming the file and the reason."""
    path = Path(path)
    if not path.exists():
        raise ReportError(f"{path} does not exist")
    text = read_text(path, ReportError)
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path} is not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(report, dict):
        raise ReportError(
            f"{path} is not a pytest-agorabench report (it holds a JSON {type(report).__name__}, not an object)"
        )
    if report.get("schema") != SCHEMA:
        raise ReportError(f"{path} is not a pytest-agorabench report")
    if not isinstance(report.get("cases"), list):  # build_report always writes the list, even when empty
        raise ReportError(f"{path} is a damaged report: it has no list of cases")
    return report

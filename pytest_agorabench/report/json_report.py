"""The versioned JSON report of a session: every case's figures plus the paper-style aggregates."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass, field
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
    for the paper's nine-cell score. The generator score needs a majority of the run's cells defined: a mean
    over the few cells that happen to be defined would read like a result it is not (``generator_score_note``
    says why it is missing).
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
    score = mean(defined) if 2 * len(defined) > len(cases) else None
    note = None
    if score is None and cases:
        note = f"not reported: only {len(defined)} of {len(cases)} cells have a defined PGR"
    return {
        "cells": len(cases),
        "cells_defined": len(defined),
        "generator_score": score,
        "generator_score_note": note,
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


# What makes two case dicts the same case (CaseResult's fields; judge and instances too, since a run with
# another judge or size is another measurement, not a second copy of this one).
CASE_IDENTITY = ("setting", "generator", "student", "reference", "profile", "prompts", "judge", "instances_requested")
# Bookkeeping of one run, not its figures: a rerun served from the store differs only here.
RUN_BOOKKEEPING = ("stage_seconds", "cached_stages", "shared_stages", "store_notes", "nodeid", "outcome")


@dataclass
class MergedReports:
    cases: list[dict[str, Any]]
    duplicates: int = 0  # cases met again in a later file with the same content, kept once
    reports: list[dict[str, Any]] = field(default_factory=list)  # the reports as read, in the order given


def _identity(case: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(json.dumps(case.get(key), sort_keys=True) for key in CASE_IDENTITY)


def _content(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in RUN_BOOKKEEPING}


def merge_reports(paths: list[str | Path]) -> MergedReports:
    """The cases of several reports (e.g. machines that split the cases with -k), each case once.

    Across files, a case met again with the same content (the same file given twice, or a cached rerun)
    is kept once and counted in ``duplicates``; one met again with other figures is a ``ReportError``
    naming both files, since keeping both would count the case twice and keeping one would silently drop
    a result. Within one file every case is kept: a session may run one case twice on purpose (say with
    two seeds, which a case does not record).
    """
    merged = MergedReports(cases=[])
    seen: dict[tuple[Any, ...], list[tuple[dict[str, Any], str]]] = {}
    for path in paths:
        accepted: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        report = load_report(path)
        merged.reports.append(report)
        for case in report["cases"]:
            if not isinstance(case, dict):
                raise ReportError(f"{path} is a damaged report: a case is not a JSON object")
            key = _identity(case)
            earlier = seen.get(key, [])
            if any(_content(first) == _content(case) for first, _ in earlier):
                merged.duplicates += 1
                continue
            if earlier:
                who = ", ".join(f"{k} {case.get(k)}" for k in CASE_IDENTITY[1:] if case.get(k) is not None)
                raise ReportError(
                    f"{earlier[0][1]} and {path} hold different results for the same case {case.get('setting')} "
                    f"({who}); merge reports of different cases, or leave out the outdated one"
                )
            accepted.append((key, case))
            merged.cases.append(case)
        # Only now: cases of one file are never compared with each other.
        for key, case in accepted:
            seen.setdefault(key, []).append((case, str(path)))
    return merged

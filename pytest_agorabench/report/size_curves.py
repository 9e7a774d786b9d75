"""``--agora-sizes`` in the reports: per case, PGR with its interval, the data's cost and PGR points per
dollar at each prefix size of its generation run. The Markdown, HTML and terminal reports share these rows;
the HTML page draws the curves (report_plots.size_plot), one line per generator when reports are merged."""

from __future__ import annotations

from typing import Any

from pytest_agorabench.report.estimate_text import interval
from pytest_agorabench.report.table2 import grids

HEADER = ("setting", "generator", "instances", "valid", "train rows", "cost $", "PGR % [95 %]", "PGR / $")


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"{value:.6g}"


def _per_usd(value: float | None) -> str:
    """PGR points per dollar: whole points from 100 up (cheap data gives tens of thousands), else 3 digits."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _labels(cases: list[dict[str, Any]]) -> dict[int, str]:
    """The generator (and prompt variant) a case's line is named by: Table 2's grid label."""
    return {id(c): grid.label for grid in grids(cases) for c in grid.cases}


def size_rows(cases: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per case and size, in HEADER's columns; no row for a case run without --agora-sizes."""
    labels = _labels(cases)
    rows = []
    for case in cases:
        for s in case.get("sizes") or ():
            rows.append((case["setting"], labels[id(case)], str(s["instances"]), f"{s['valid']}/{s['requested']}",
                         str(s["train_rows"]), _usd(s.get("cost_usd")), interval(s["pgr"]), _per_usd(s.get("pgr_per_usd"))))
    return rows


def curves(cases: list[dict[str, Any]]) -> dict[str, list[tuple[str, list[dict[str, Any]]]]]:
    """setting -> [(generator label, its size entries)], settings and generators in the order first met."""
    labels = _labels(cases)
    out: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {}
    for case in cases:
        if case.get("sizes"):
            out.setdefault(case["setting"], []).append((labels[id(case)], case["sizes"]))
    return out


def terminal_lines(cases: list[dict[str, Any]]) -> list[str]:
    """PGR by size, one line per case: ``20: 35.0 [20.1, 50.2] ($0.0012)`` for each size; the generator's
    label after the setting when the cases come from several (merged reports)."""
    labels = _labels(cases)
    named = len({labels[id(c)] for c in cases if c.get("sizes")}) > 1
    lines = []
    for case in cases:
        sizes = case.get("sizes")
        if sizes:
            parts = [f"{s['instances']}: {interval(s['pgr'])} (${_usd(s.get('cost_usd'))})" for s in sizes]
            who = f" ({labels[id(case)]})" if named else ""
            lines.append(f"  {case['setting']}{who}: " + "; ".join(parts))
    return ["PGR by data size (instances: PGR % [95 %] (generation cost)):", *lines] if lines else []

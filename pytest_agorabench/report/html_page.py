"""The HTML report (``--agora-html``; ``agorabench report ... --html``): one self-contained static page (inline
CSS, plots as inline SVG, no script, nothing fetched) with Table 2, a row per case, and per case its
benchmarks, drops, intrinsic metrics, cost, stage times, what the store served, and its inspect logs."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from pytest_agorabench.report.table2 import DOMAINS, LABELS, METHODS, cell_text, grids, mean_text, undefined_reason
from pytest_agorabench.report.terminal import delta_text, interval, number

# Stages whose inspect logs a case can link to, and the artifact key each is stored under.
LOGGED_STAGES = ("generation", "evaluation", "baseline_base", "baseline_reference")


def wilson(percent: float | None, n: int | None) -> str:
    """A benchmark score with its 95 % Wilson interval over its n items (the score read as a proportion;
    for judged win rates with ties this is approximate)."""
    if percent is None:
        return "undef"
    if not n:
        return number(percent)
    p, z = percent / 100.0, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{percent:.1f} [{100 * max(0.0, centre - half):.1f}, {100 * min(1.0, centre + half):.1f}]"


def _log_links(case: dict[str, Any], store_dir: str | None, page_dir: Path) -> list[tuple[str, str]]:
    """(stage, relative link) for each of the case's inspect-log folders that exists where the page is written."""
    if not store_dir:
        return []
    links = []
    keys = case.get("artifacts") or {}
    for stage in LOGGED_STAGES:
        key = keys.get(stage)
        folder = Path(store_dir) / "logs" / ("evaluation" if stage.startswith("baseline") else stage) / str(key)
        if key and folder.is_dir():
            links.append((stage, os.path.relpath(folder, page_dir)))
    return links


def _intrinsic(case: dict[str, Any]) -> list[tuple[str, str]]:
    metrics = case.get("intrinsic") or {}
    out = []
    for name, value in sorted(metrics.items()):
        if isinstance(value, float):
            out.append((name, f"{value:.4g}"))
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            out.append((name, str(value)))
    return out


def _case_view(case: dict[str, Any], store_dir: str | None, page_dir: Path) -> dict[str, Any]:
    seconds = case.get("stage_seconds") or {}
    cached, shared = set(case.get("cached_stages") or ()), set(case.get("shared_stages") or ())
    return {
        "case": case,
        "anchor": case["setting"].replace("/", "-"),
        "pgr": interval(case["pgr"]),
        "undefined": case["pgr"].get("undefined_reason"),
        "delta": delta_text(case.get("gate")) if case.get("gate") else None,
        "gate_reason": (case.get("gate") or {}).get("gate_reason"),
        "benchmarks": [
            {"name": b["name"], "items": b.get("items"), "student": wilson(b["student"], b.get("items")),
             "base": wilson(b["base"], b.get("items")), "reference": wilson(b["reference"], b.get("items")),
             "pgr": interval(b["pgr"]), "reference_source": b.get("reference_source")}
            for b in case.get("benchmarks", [])
        ],
        "drops": sorted((case.get("drops_by_reason") or {}).items(), key=lambda kv: -kv[1]),
        "intrinsic": _intrinsic(case),
        "stages": [(name, f"{s:.1f}", "store" if name in cached else "waited" if name in shared else "ran")
                   for name, s in seconds.items()],
        "total_seconds": f"{sum(seconds.values()):.0f}",
        "cost": "-" if case.get("cost_usd") is None else f"{case['cost_usd']:.4f}",
        "logs": _log_links(case, store_dir, page_dir),
    }


def render_html(report: dict[str, Any], page_dir: Path) -> str:
    import jinja2

    from pytest_agorabench.report.report_plots import delta_plot, pgr_plot

    cases = report.get("cases", [])
    config = report.get("config") or {}
    summary = report.get("summary") or {}
    gate = summary.get("gate")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_agorabench.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    grid_views = []
    for grid in grids(cases):
        rows = []
        for method in METHODS:
            cells = [{"text": cell_text(grid.cell(method, d)), "why": undefined_reason(grid.cell(method, d)),
                      "anchor": f"{d}-{method}" if grid.cell(method, d) else None} for d in DOMAINS]
            rows.append({"label": LABELS[method], "cells": cells, "mean": mean_text(grid.method_mean(method))})
        grid_views.append({"label": grid.label, "rows": rows, "score": mean_text(grid.score()),
                           "domain_means": [mean_text(grid.domain_mean(d)) for d in DOMAINS]})
    return env.get_template("report.html.j2").render(
        report=report, config=config, summary=summary, gate=gate,
        domains=[LABELS[d] for d in DOMAINS], grids=grid_views,
        cases=[_case_view(c, config.get("store_dir"), page_dir) for c in cases],
        pgr_svg=pgr_plot(cases) if cases else None,
        delta_svg=delta_plot(cases, gate.get("margin") if gate else None) if cases else None,
        smoke=any(c.get("smoke") for c in cases),
        version=(report.get("versions") or {}).get("pytest-agorabench", ""),
    )


def write_html(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, path.parent.resolve()), encoding="utf-8")
    return path

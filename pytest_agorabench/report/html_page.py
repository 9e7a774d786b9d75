"""The HTML report (``--agora-html``; ``agorabench report ... --html``): one self-contained static page (inline
CSS, plots as inline SVG, no script, nothing fetched) with Table 2, a row per case, and per case its
benchmarks, drops, intrinsic metrics, cost, stage times, what the store served, and its inspect logs."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from pytest_agorabench.report.estimate_text import interval, number
from pytest_agorabench.report.size_curves import HEADER as SIZE_HEADER
from pytest_agorabench.report.size_curves import curves, size_rows
from pytest_agorabench.report.table2 import (
    DOMAINS,
    LABELS,
    METHODS,
    cell_text,
    grids,
    mean_text,
    score_line,
    undefined_reason,
)
from pytest_agorabench.report.terminal import delta_text

# Stages whose inspect logs a case can link to, and the folder under <store>/logs each writes to.
LOGGED_STAGES = {"generation": "generation", "evaluation": "evaluation", "baseline_base": "evaluation",
                 "baseline_reference": "evaluation"}


def wilson(percent: float | None, n: int | None) -> str:
    """A benchmark score with its 95 % Wilson interval over its n items (the score read as a proportion;
    for judged win rates with ties this is approximate)."""
    if percent is None:
        return "undef"
    if not n:
        return number(percent)
    p, z = percent / 100.0, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{percent:.1f} [{100 * max(0.0, centre - half):.1f}, {100 * min(1.0, centre + half):.1f}]"


def _href(target: Path, page_dir: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), page_dir)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return target.resolve().as_uri()


def _log_links(case: dict[str, Any], store_dir: str | None, page_dir: Path) -> list[tuple[str, str]]:
    """(label, link) for the case's inspect logs that exist where the page is written: the folders of its
    keyed stages, its intrinsic judges' logs, and the store's whole log folder (a stage run once per
    benchmark keeps only its last key in the case, so the folder is the way to the others)."""
    links = []
    keys = case.get("artifacts") or {}
    logs = Path(store_dir) / "logs" if store_dir else None
    for stage, folder in LOGGED_STAGES.items():
        where = logs / folder / str(keys[stage]) if logs and keys.get(stage) else None
        if where and where.is_dir():
            links.append((stage, _href(where, page_dir)))
    for metric, location in sorted(((case.get("intrinsic") or {}).get("logs") or {}).items()):
        if isinstance(location, str) and Path(location).exists():
            links.append((metric, _href(Path(location), page_dir)))
    if logs and logs.is_dir():
        links.append(("all logs of the store", _href(logs, page_dir)))
    return links


def _intrinsic(intrinsic: dict[str, Any]) -> dict[str, Any]:
    """intrinsic.measure()'s output as rows (metric, value, rows scored, note), or the case's reason for none."""
    if isinstance(intrinsic.get("skipped"), str):
        return {"skipped": intrinsic["skipped"], "rows": []}
    rows = []
    for name, value in sorted((intrinsic.get("metrics") or {}).items()):
        failed = {r: n for r, n in ((intrinsic.get("failures") or {}).get(name) or {}).items() if n}
        note = "; ".join(filter(None, [(intrinsic.get("errors") or {}).get(name),
                                       ", ".join(f"{r} {n}" for r, n in sorted(failed.items()))]))
        shown = "undefined" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
        rows.append((name, shown, (intrinsic.get("scored") or {}).get(name, "-"), note))
    rows += [(name, "not measured", "-", why) for name, why in sorted((intrinsic.get("skipped") or {}).items())]
    return {"skipped": None, "rows": rows}


def _anchors(cases: list[dict[str, Any]]) -> dict[int, str]:
    """An id per case: its setting, made unique when merged runs hold a setting more than once."""
    out: dict[int, str] = {}
    used: set[str] = set()
    for case in cases:
        anchor = base = case["setting"].replace("/", "-")
        n = 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out[id(case)] = anchor
    return out


def _case_view(case: dict[str, Any], anchor: str, store_dir: str | None, page_dir: Path) -> dict[str, Any]:
    seconds = case.get("stage_seconds") or {}
    cached, shared = set(case.get("cached_stages") or ()), set(case.get("shared_stages") or ())
    return {
        "case": case,
        "anchor": anchor,
        "pgr": interval(case["pgr"]),
        "undefined": case["pgr"].get("undefined_reason"),
        "fieller": case["pgr"].get("interval_method") == "fieller",
        "notices": case.get("notices") or [],
        "delta": delta_text(case.get("gate")) if case.get("gate") else None,
        "gate_reason": (case.get("gate") or {}).get("gate_reason"),
        "benchmarks": [
            {"name": b["name"], "items": b.get("items"), "student": wilson(b["student"], b.get("items")),
             "base": wilson(b["base"], b.get("items")), "reference": wilson(b["reference"], b.get("items")),
             "pgr": interval(b["pgr"]), "reference_source": b.get("reference_source")}
            for b in case.get("benchmarks", [])
        ],
        "drops": sorted((case.get("drops_by_reason") or {}).items(), key=lambda kv: -kv[1]),
        "intrinsic": _intrinsic(case.get("intrinsic") or {}),
        "stages": [(name, f"{s:.1f}", "store" if name in cached else "waited" if name in shared else "ran")
                   for name, s in seconds.items()],
        "total_seconds": f"{sum(seconds.values()):.0f}",
        "cost": "-" if case.get("cost_usd") is None else f"{case['cost_usd']:.4f}",
        "logs": _log_links(case, store_dir, page_dir),
        "node": node_text(case.get("placement")),
        "contamination": case.get("contamination") or {},
    }


def node_text(placement: dict[str, Any] | None) -> str:
    """Where a --agora-ray case ran: the training node, the data's node when it differs, and each task that
    was retried after a lost node with the nodes it ran on in order."""
    if not placement:
        return "-"
    stages = placement.get("stages") or {}
    text = placement["host"]
    data = (stages.get("generation") or {}).get("host")
    if data and data != placement["host"]:
        text += f" (data generated on {data})"
    for part in stages:
        hosts = [a["host"] for a in placement.get("attempts", []) if a.get("part") == part]
        if len(hosts) > 1:
            text += f"; {part.replace('_', ' ')} retried: {' then '.join(hosts)}"
    return text


def render_html(report: dict[str, Any], page_dir: Path) -> str:
    import jinja2

    from pytest_agorabench.report.report_plots import delta_plot, pgr_plot, size_plot

    cases = report.get("cases", [])
    config = report.get("config") or {}
    gate = (report.get("summary") or {}).get("gate")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pytest_agorabench.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    anchors = _anchors(cases)
    table_grids = grids(cases)
    grid_views, label = [], {}
    for grid in table_grids:
        rows = []
        for method in METHODS:
            found = [grid.cell(method, d) for d in DOMAINS]
            cells = [{"text": cell_text(c), "why": undefined_reason(c), "anchor": anchors[id(c)] if c else None}
                     for c in found]
            rows.append({"label": LABELS[method], "cells": cells, "mean": mean_text(grid.method_mean(method))})
        grid_views.append({"label": grid.label, "rows": rows, "score": mean_text(grid.score()),
                           "score_line": score_line(grid),
                           "domain_means": [mean_text(grid.domain_mean(d)) for d in DOMAINS]})
        # With more than one generator a setting alone does not say which run a plot row is.
        label.update({id(c): c["setting"] + (f" ({grid.label})" if len(table_grids) > 1 else "")
                      for c in grid.cases})
    pgr_rows = [(label[id(c)], c["pgr"]["point"], c["pgr"]["low"], c["pgr"]["high"]) for c in cases]
    delta_rows = [(label[id(c)], c["gate"].get("delta_pgr"), c["gate"].get("delta_pgr_low"),
                   c["gate"].get("delta_pgr_high")) for c in cases if c.get("gate")]
    return env.get_template("report.html.j2").render(
        report=report, config=config, summary=report.get("summary") or {}, gate=gate,
        domains=[LABELS[d] for d in DOMAINS], grids=grid_views,
        cases=[_case_view(c, anchors[id(c)], config.get("store_dir"), page_dir) for c in cases],
        pgr_svg=pgr_plot(pgr_rows) if cases else None,
        delta_svg=delta_plot(delta_rows, gate.get("margin") if gate else None),
        size_svgs=[size_plot(setting, lines) for setting, lines in curves(cases).items()],
        size_header=SIZE_HEADER, size_rows=size_rows(cases),
        smoke=any(c.get("smoke") for c in cases),
        cluster=config.get("cluster"),  # --agora-ray: nodes, resources, the store each node saw
        version=(report.get("versions") or {}).get("pytest-agorabench", ""),
    )


def write_html(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, path.parent.resolve()), encoding="utf-8")
    return path

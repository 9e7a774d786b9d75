"""The HTML report's plots, as inline SVG drawn by matplotlib (imported lazily, Agg backend): PGR with its
interval by setting, and delta PGR against a baseline when the run was compared with one."""

from __future__ import annotations

import io
from typing import Any


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: no XML declaration or doctype inside an HTML page


def _interval_plot(rows: list[tuple[str, float | None, float | None, float | None]], xlabel: str,
                   line: float | None = None) -> str:
    """Horizontal points with error bars, one row per label; rows without a point are labelled, not drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.0))
    for y, (label, point, low, high) in enumerate(reversed(rows)):
        if point is None:
            ax.annotate("undefined", (0, y), xytext=(4, 0), textcoords="offset points", va="center", color="#a33")
            continue
        err = [[point - low], [high - point]] if low is not None and high is not None else None
        ax.errorbar([point], [y], xerr=err, fmt="o", color="#1f5fa8", ecolor="#7aa6d8", capsize=3)
    ax.set_yticks(range(len(rows)), [r[0] for r in reversed(rows)])
    ax.axvline(0, color="#888", linewidth=0.8)
    if line is not None:
        ax.axvline(line, color="#c0392b", linewidth=0.8, linestyle="--")
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def pgr_plot(cases: list[dict[str, Any]]) -> str:
    rows = [(f"{c['setting']}", c["pgr"]["point"], c["pgr"]["low"], c["pgr"]["high"]) for c in cases]
    return _interval_plot(rows, "PGR % (95 % interval)")


def delta_plot(cases: list[dict[str, Any]], margin: float | None) -> str | None:
    gated = [c for c in cases if c.get("gate")]
    if not gated:
        return None
    rows = [(c["setting"], c["gate"].get("delta_pgr"), c["gate"].get("delta_pgr_low"), c["gate"].get("delta_pgr_high"))
            for c in gated]
    return _interval_plot(rows, "delta PGR vs baseline (95 % paired interval); dashed: -max drop",
                          line=-margin if margin is not None else None)

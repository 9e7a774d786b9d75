"""The HTML report's plots, as inline SVG drawn by matplotlib (imported lazily, Agg backend): PGR with its
interval by setting, and delta PGR against a baseline when the run was compared with one."""

from __future__ import annotations

import io
from typing import Any

# (label, point, low, high): one row of an interval plot.
Row = tuple[str, "float | None", "float | None", "float | None"]


def _svg(fig: Any, name: str) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    # A fixed salt and no date: the same report renders the same page, and two plots' ids differ.
    with plt.rc_context({"svg.hashsalt": f"agorabench-{name}"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: no XML declaration or doctype inside an HTML page


def _plain(label: str) -> str:
    # A generator name is the user's text: a pair of "$" would turn it into (possibly unparsable) mathtext.
    return label.replace("$", r"\$")


def _interval_plot(rows: list[Row], xlabel: str, name: str, line: float | None = None) -> str:
    """Horizontal points with error bars, one row per label; rows without a point are labelled, not drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.0))
    for y, (_, point, low, high) in enumerate(reversed(rows)):
        if point is None:
            ax.annotate("undefined", (0, y), xytext=(4, 0), textcoords="offset points", va="center", color="#a33")
            continue
        err = [[point - low], [high - point]] if low is not None and high is not None else None
        ax.errorbar([point], [y], xerr=err, fmt="o", color="#1f5fa8", ecolor="#7aa6d8", capsize=3)
    ax.set_yticks(range(len(rows)), [_plain(r[0]) for r in reversed(rows)])
    ax.axvline(0, color="#888", linewidth=0.8)
    if line is not None:
        ax.axvline(line, color="#c0392b", linewidth=0.8, linestyle="--")
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    if all(point is None or point == 0 for _, point, _, _ in rows):  # nothing to scale by: the PGR range
        ax.set_xlim(-10, 110)
    return _svg(fig, name)


def pgr_plot(rows: list[Row]) -> str:
    return _interval_plot(rows, "PGR % (95 % interval)", "pgr")


def delta_plot(rows: list[Row], margin: float | None) -> str | None:
    if not rows:
        return None
    return _interval_plot(rows, "delta PGR vs baseline (95 % paired interval); dashed: -max drop", "delta",
                          line=-margin if margin is not None else None)

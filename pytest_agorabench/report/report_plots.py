"""The HTML report's plots, as inline SVG drawn by matplotlib (imported lazily, Agg backend): PGR with its
interval by setting, delta PGR against a baseline when the run was compared with one, and PGR against the
amount of data and its cost (--agora-sizes)."""

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


def size_plot(setting: str, lines: list[tuple[str, list[dict[str, Any]]]]) -> str:
    """``--agora-sizes``: PGR (95 % interval as error bars) against the instances of each prefix (left) and
    against their generation cost (right), one line per generator; a size without a PGR is left out of its
    line, and a generator without a price out of the right panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4), sharey=True)
    drawn: dict[int, list[float]] = {0: [], 1: []}  # x values per panel
    for (label, sizes), colour in zip(lines, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4):
        defined = [s for s in sizes if s["pgr"]["point"] is not None]
        for panel, (ax, x_of) in enumerate(((axes[0], "instances"), (axes[1], "cost_usd"))):
            points = [s for s in defined if s.get(x_of) is not None]
            if not points:
                continue
            drawn[panel] += [s[x_of] for s in points]
            ys = [s["pgr"]["point"] for s in points]
            err = [[y - (s["pgr"]["low"] if s["pgr"]["low"] is not None else y) for s, y in zip(points, ys)],
                   [(s["pgr"]["high"] if s["pgr"]["high"] is not None else y) - y for s, y in zip(points, ys)]]
            ax.errorbar([s[x_of] for s in points], ys, yerr=err, fmt="o-", color=colour, ecolor=colour,
                        alpha=0.9, capsize=3, label=_plain(label))
    for panel, (ax, xlabel) in enumerate(((axes[0], "instances generated (prefix of one run)"),
                                          (axes[1], "generation cost (USD)"))):
        ax.set_xlabel(xlabel)
        ax.axhline(0, color="#888", linewidth=0.8)
        ax.grid(alpha=0.3)
        xs = [x for x in drawn[panel] if x > 0]
        if xs and max(xs) / min(xs) >= 10:  # sizes such as 1000..50000 read better on a log scale
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_xscale("log")
            # Plain numbers at 1, 2, 5 per decade: mathtext powers of ten overlap on a short axis.
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
    if not drawn[1]:
        axes[1].annotate("no generator priced", (0.5, 0.5), xycoords="axes fraction", ha="center", color="#a33")
    axes[0].set_ylabel("PGR % (95 % interval)")
    axes[0].set_title(_plain(setting), loc="left", fontsize=10)
    # Below both panels: generator names (inspect model strings, paths) are often wider than a panel.
    handles, names = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=8, frameon=False)
    return _svg(fig, "sizes-" + setting.replace("/", "-"))

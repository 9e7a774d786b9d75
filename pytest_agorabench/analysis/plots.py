"""PNG figures of an analysis: PGR by setting and generator, cost (or price) vs PGR, PCA loadings.

matplotlib is imported inside the functions with the Agg backend: no display needed, and importing this
module stays free.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_agorabench.analysis.pca import pca_regression
from pytest_agorabench.analysis.summary import generator_scores
from pytest_agorabench.analysis.tables import AnalysisData, load_reports

PGR_BY_SETTING = "pgr_by_setting.png"
COST_VS_PGR = "cost_vs_pgr.png"
PCA_LOADINGS = "pca_loadings.png"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_pgr_by_setting(data: AnalysisData, path: Path) -> Path:
    """Grouped bars: one group per setting, one bar per generator (undefined PGRs left empty)."""
    plt = _pyplot()
    settings = sorted({c.setting for c in data.cells})
    generators = sorted({c.generator for c in data.cells})
    by_key = {(c.setting, c.generator): c.pgr for c in data.cells}
    width = 0.8 / max(len(generators), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(settings) + 2), 4.5))
    for i, generator in enumerate(generators):
        xs = [s + (i - (len(generators) - 1) / 2) * width for s in range(len(settings))]
        heights = [by_key.get((s, generator)) for s in settings]
        ax.bar(
            [x for x, h in zip(xs, heights) if h is not None],
            [h for h in heights if h is not None],
            width=width,
            label=generator,
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(settings)))
    ax.set_xticklabels([s.replace("/", "\n") for s in settings], fontsize=7)
    ax.set_ylabel("PGR (%)")
    ax.set_title("Performance gap recovered by setting")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def cost_points(data: AnalysisData) -> tuple[list[tuple[str, float, float]], str]:
    """(generator, x, mean PGR) points and the x-axis label: measured costs when every cell of a generator
    has one, else the price per million output tokens."""
    scores = generator_scores(data)
    points = [(g, s["cost_usd"], s["mean_pgr"]) for g, s in scores.items() if s["cost_usd"] is not None]
    xlabel = "generation cost (USD, all cells)"
    if not points:
        points = [(g, data.prices[g][1], s["mean_pgr"]) for g, s in scores.items() if g in data.prices]
        xlabel = "price per 1M output tokens (USD)"
    return [p for p in points if p[2] is not None], xlabel


def plot_cost_vs_pgr(data: AnalysisData, path: Path) -> Path | None:
    """Total generation cost per generator vs its mean PGR; without costs (the paper's tables), the price
    per million output tokens instead. None when neither is known."""
    points, xlabel = cost_points(data)
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter([p[1] for p in points], [p[2] for p in points])
    for name, x, y in points:
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if all(p[1] > 0 for p in points) and len(points) > 1:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean PGR (%)")
    ax.set_title("Cost vs data-generation ability")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_pca_loadings(data: AnalysisData, path: Path) -> Path | None:
    """Heat map of the loadings of every feature on the kept components. None when there is no PCA."""
    result = pca_regression(data)
    if result.skipped:
        return None
    plt = _pyplot()
    import numpy as np

    matrix = np.array([result.loadings[f] for f in result.features])
    fig, ax = plt.subplots(figsize=(1.1 * result.components + 4, 0.45 * len(result.features) + 1.5))
    image = ax.imshow(matrix, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(result.features)))
    ax.set_yticklabels(result.features, fontsize=7)
    ratios = result.explained_variance_ratio
    ax.set_xticks(range(result.components))
    ax.set_xticklabels([f"PC{i + 1}\n{100 * ratios[i]:.1f} %" for i in range(result.components)], fontsize=7)
    for (row, col), value in np.ndenumerate(matrix):
        ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax)
    title = f"PCA loadings ({100 * result.explained_variance_kept:.1f} % of variance)"
    if result.regression is not None:
        title += f"\nOLS of PGR on the components: R^2 = {result.regression.r_squared:.3f}"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_plots(source: AnalysisData | str | Path | list[str | Path], out_dir: str | Path | None = None) -> dict[str, Any]:
    """Write the PNGs. ``source``: analysis data, or JSON report path(s); ``out_dir`` defaults to the folder of
    the (first) report. Returns {"written": [paths], "skipped": {file: why}}."""
    if isinstance(source, AnalysisData):
        data = source
        if out_dir is None:
            raise ValueError("write_plots needs out_dir when given analysis data rather than a report path")
    else:
        paths = [source] if isinstance(source, (str, Path)) else list(source)
        data = load_reports(paths)
        out_dir = Path(paths[0]).parent if out_dir is None else out_dir
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_pgr_by_setting(data, out / PGR_BY_SETTING)]
    skipped: dict[str, str] = {}
    cost = plot_cost_vs_pgr(data, out / COST_VS_PGR)
    if cost is None:
        skipped[COST_VS_PGR] = "no generator has a cost or a known price"
    else:
        written.append(cost)
    loadings = plot_pca_loadings(data, out / PCA_LOADINGS)
    if loadings is None:
        skipped[PCA_LOADINGS] = "no PCA (intrinsic metrics missing)"
    else:
        written.append(loadings)
    return {"written": [str(p) for p in written], "skipped": skipped}

"""The whole analysis of one data set as a dict (for JSON) and as printable lines."""

from __future__ import annotations

import statistics
from typing import Any

from pytest_agorabench.analysis.pca import DEFAULT_COMPONENTS, pca_regression
from pytest_agorabench.analysis.problem_solving import problem_solving_regressions
from pytest_agorabench.analysis.tables import AnalysisData


def generator_scores(data: AnalysisData) -> dict[str, dict[str, Any]]:
    """Mean PGR over each generator's defined cells (Table 2's last column) and its total cost."""
    out: dict[str, dict[str, Any]] = {}
    for generator in sorted({c.generator for c in data.cells}):
        cells = [c for c in data.cells if c.generator == generator]
        defined = [c.pgr for c in cells if c.pgr is not None]
        costs = [c.cost_usd for c in cells if c.cost_usd is not None]
        out[generator] = {
            "mean_pgr": statistics.fmean(defined) if defined else None,
            "cells": len(cells),
            "cells_defined": len(defined),
            "cost_usd": sum(costs) if len(costs) == len(cells) else None,
        }
    return out


def analyze(data: AnalysisData, components: int = DEFAULT_COMPONENTS) -> dict[str, Any]:
    pca = pca_regression(data, components)
    return {
        "source": data.source,
        "cells": len(data.cells),
        "generators": generator_scores(data),
        "problem_solving_regressions": {k: v.to_dict() for k, v in problem_solving_regressions(data).items()},
        "pca": pca.to_dict(),
        "notes": list(data.notes),
    }


def _num(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _p(value: float | None) -> str:
    return "n/a" if value is None else (f"{value:.2e}" if value < 1e-3 else f"{value:.4f}")


def format_analysis(result: dict[str, Any]) -> list[str]:
    lines = [f"AgoraBench analysis of {result['source']} ({result['cells']} cells)"]
    lines += [f"note: {note}" for note in result["notes"]]
    lines.append("")
    lines.append("Generators (mean PGR over defined cells):")
    for name, g in sorted(result["generators"].items(), key=lambda kv: -(kv[1]["mean_pgr"] or -1e9)):
        cost = "" if g["cost_usd"] is None else f"  cost ${g['cost_usd']:.4f}"
        lines.append(f"  {name:<28} {_num(g['mean_pgr'], '6.1f')} %  ({g['cells_defined']}/{g['cells']} cells){cost}")
    lines.append("")
    lines.append("Problem solving vs PGR (least squares):")
    for level, fit in result["problem_solving_regressions"].items():
        if fit["skipped"]:
            lines.append(f"  {level:<6} skipped: {fit['skipped']}")
            continue
        lines.append(
            f"  {level:<6} n={fit['points']:<3} slope={fit['slope']:.3f} intercept={fit['intercept']:.2f} "
            f"R^2={fit['r_squared']:.3f} p={_p(fit['p_value'])}"
        )
    pca = result["pca"]
    lines.append("")
    if pca["skipped"]:
        lines.append(f"PCA skipped: {pca['skipped']}")
        return lines
    lines.append(f"PCA over {pca['rows']} rows x {len(pca['features'])} features (z-scored):")
    for name, why in pca["dropped_features"].items():
        lines.append(f"  dropped {name}: {why}")
    if pca["rows_dropped"]:
        lines.append(f"  {pca['rows_dropped']} cell(s) left out (undefined PGR or a missing feature)")
    ratios = pca["explained_variance_ratio"]
    cumulative = 0.0
    for i, ratio in enumerate(ratios[: pca["components"]], start=1):
        cumulative += ratio
        lines.append(f"  PC{i}: {100 * ratio:5.1f} % of variance (cumulative {100 * cumulative:5.1f} %)")
    lines.append(f"  top {pca['components']} components explain {100 * pca['explained_variance_kept']:.1f} %")
    header = " ".join(f"{'PC' + str(i):>7}" for i in range(1, pca["components"] + 1))
    lines.append(f"  loadings {'':<34}{header}")
    for name, weights in pca["loadings"].items():
        lines.append(f"    {name:<40}" + " ".join(f"{w:7.3f}" for w in weights))
    reg = pca["regression"]
    if reg is None:
        lines.append(f"  OLS of PGR on the components skipped: {pca['regression_skipped']}")
        return lines
    lines.append(
        f"  OLS of PGR on the {reg['k']} component scores: R^2={reg['r_squared']:.3f} "
        f"(adjusted {reg['adj_r_squared']:.3f}), F={reg['f_statistic']:.2f}, p={_p(reg['f_p_value'])}"
    )
    names = ["intercept"] + [f"PC{i}" for i in range(1, reg["k"] + 1)]
    for name, coef, se, p in zip(names, reg["coefficients"], reg["std_errors"], reg["p_values"]):
        lines.append(f"    {name:<10} {coef:9.3f}  se {se:7.3f}  p {_p(p)}")
    return lines

"""Is a good problem solver a good data generator? (paper Figure 4-5, AGORABENCH.md section 6)

Two least-squares lines of PGR on the generator's own benchmark score:
- coarse: one point per generator, x = mean of all its benchmark scores, y = mean of its defined PGRs;
- fine: one point per cell, x = mean of the cell domain's two benchmark scores, y = the cell's PGR.
The paper finds no reliable relation (R^2 < 0.1 or p > 0.05).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from pytest_agorabench.analysis.tables import AnalysisData, domain_problem_solving, problem_solving_of

MIN_POINTS = 3  # a line through two points has no residual and no p-value


@dataclass
class LineFit:
    level: str  # "coarse" / "fine"
    points: int
    slope: float | None
    intercept: float | None
    r_squared: float | None
    p_value: float | None  # two-sided, null hypothesis slope = 0
    skipped: str | None = None  # why there is no fit

    def to_dict(self) -> dict:
        return asdict(self)


def fit_line(level: str, xs: list[float], ys: list[float]) -> LineFit:
    """scipy.stats.linregress with the degenerate cases turned into a reason instead of NaNs."""
    if len(xs) < MIN_POINTS:
        return LineFit(level, len(xs), None, None, None, None, f"needs at least {MIN_POINTS} points, has {len(xs)}")
    if len(set(xs)) < 2:
        return LineFit(level, len(xs), None, None, None, None, "all problem-solving scores are equal")
    from scipy import stats

    result = stats.linregress(xs, ys)
    return LineFit(
        level, len(xs), float(result.slope), float(result.intercept), float(result.rvalue**2), float(result.pvalue)
    )


def coarse_points(data: AnalysisData) -> tuple[list[str], list[float], list[float]]:
    names, xs, ys = [], [], []
    for generator in sorted({c.generator for c in data.cells}):
        scores = problem_solving_of(data, generator)
        pgrs = [c.pgr for c in data.cells if c.generator == generator and c.pgr is not None]
        if not scores or not pgrs:
            continue
        names.append(generator)
        xs.append(statistics.fmean(scores.values()))
        ys.append(statistics.fmean(pgrs))
    return names, xs, ys


def fine_points(data: AnalysisData) -> tuple[list[str], list[float], list[float]]:
    names, xs, ys = [], [], []
    for cell in data.cells:
        scores = problem_solving_of(data, cell.generator)
        x = domain_problem_solving(scores, cell.domain) if scores else None
        if x is None or cell.pgr is None:
            continue
        names.append(f"{cell.generator} {cell.setting}")
        xs.append(x)
        ys.append(cell.pgr)
    return names, xs, ys


def problem_solving_regressions(data: AnalysisData) -> dict[str, LineFit]:
    """Coarse and fine fits; skipped with the reason when there is no problem-solving table."""
    if not data.problem_solving:
        reason = "no problem-solving table"
        return {level: LineFit(level, 0, None, None, None, None, reason) for level in ("coarse", "fine")}
    _, cx, cy = coarse_points(data)
    _, fx, fy = fine_points(data)
    return {"coarse": fit_line("coarse", cx, cy), "fine": fit_line("fine", fx, fy)}

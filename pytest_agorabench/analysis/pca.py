"""Which intrinsic qualities of the data predict PGR? (paper Figure 6, AGORABENCH.md section 6)

One row per cell (generator x setting), one column per intrinsic metric plus the generator's domain-level
problem-solving score. Columns are z-scored, the matrix is decomposed by SVD, and PGR is regressed (OLS with
an intercept) on the scores of the top components.

Conventions, and why:
- z-scores divide by the population standard deviation (ddof=0). The choice does not matter for any figure we
  report: ddof=1 scales every column by the same factor sqrt(n/(n-1)), which leaves the explained-variance
  ratios, the unit loadings and the regression's R^2 and p-values unchanged (tests check this).
- Loadings are the unit eigenvectors (rows of V^T), one weight per feature and component. SVD signs are
  arbitrary; each component is flipped so its largest-magnitude loading is positive, so runs agree.
- A column that is constant over the rows carries no variance and cannot be z-scored: it is dropped and named.

On the paper's own per-cell tables (fixtures/paper) this gives 96.0 % of variance in 5 components and
R^2 = 0.338 (F-test p = 0.0011); the paper reports 93.4 % and R^2 = 0.325 (p < 0.001). No convention we
tried closes the gap (ddof, generator-level problem solving, min-max or no scaling, averaged judges);
tests/unit/analysis/test_analysis_paper_figures.py pins both sets of figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from pytest_agorabench.analysis.tables import (
    PROBLEM_SOLVING,
    AnalysisData,
    domain_problem_solving,
    problem_solving_of,
)

DEFAULT_COMPONENTS = 5


@dataclass
class OLSFit:
    n: int
    k: int  # predictors, intercept not counted
    coefficients: list[float]  # intercept first
    std_errors: list[float]
    p_values: list[float]  # two-sided t-tests per coefficient
    r_squared: float
    adj_r_squared: float
    f_statistic: float
    f_p_value: float  # overall F-test: all slopes zero

    def to_dict(self) -> dict:
        return asdict(self)


def ols(x: np.ndarray, y: np.ndarray) -> OLSFit:
    """Ordinary least squares of y on the columns of x plus an intercept, with the classical tests."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n, k = x.shape
    if n <= k + 1:
        raise ValueError(f"OLS with {k} predictors needs more than {k + 1} rows, has {n}")
    design = np.column_stack([np.ones(n), x])
    beta, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < k + 1:
        raise ValueError("OLS predictors are collinear (the design matrix is rank deficient)")
    residuals = y - design @ beta
    ss_res = float(residuals @ residuals)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    if ss_tot == 0:
        raise ValueError("OLS response is constant: R^2 is undefined")
    df_res = n - k - 1
    r_squared = 1.0 - ss_res / ss_tot
    sigma2 = ss_res / df_res
    cov = sigma2 * np.linalg.inv(design.T @ design)
    std_errors = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_values = beta / std_errors
    p_values = 2 * stats.t.sf(np.abs(t_values), df_res)
    f_stat = (r_squared / k) / ((1 - r_squared) / df_res) if r_squared < 1 else float("inf")
    return OLSFit(
        n=n,
        k=k,
        coefficients=beta.tolist(),
        std_errors=std_errors.tolist(),
        p_values=[float(p) for p in p_values],
        r_squared=r_squared,
        adj_r_squared=1 - (1 - r_squared) * (n - 1) / df_res,
        f_statistic=float(f_stat),
        f_p_value=float(stats.f.sf(f_stat, k, df_res)),
    )


@dataclass
class PCAResult:
    features: list[str]
    rows: int
    explained_variance_ratio: list[float]  # of every component, descending
    components: int  # how many were kept for the regression
    loadings: dict[str, list[float]]  # feature -> weight on each kept component
    regression: OLSFit | None
    dropped_features: dict[str, str] = field(default_factory=dict)  # feature -> why
    rows_dropped: int = 0  # cells without PGR or with a missing feature
    skipped: str | None = None  # why there is no PCA at all
    regression_skipped: str | None = None  # why there is a PCA but no regression on it

    @property
    def explained_variance_kept(self) -> float:
        return float(sum(self.explained_variance_ratio[: self.components]))

    def to_dict(self) -> dict:
        out = asdict(self)
        out["explained_variance_kept"] = None if self.skipped else self.explained_variance_kept
        return out


def feature_matrix(data: AnalysisData) -> tuple[list[str], np.ndarray, np.ndarray, int]:
    """(feature names, X rows x features, PGR, rows dropped). Features: the intrinsic metrics every usable cell
    has, sorted, then problem solving when a table is given."""
    usable = [c for c in data.cells if c.pgr is not None]
    names = sorted(set.intersection(*(set(c.metrics) for c in usable))) if usable else []
    rows, targets = [], []
    for cell in usable:
        values = [cell.metrics[n] for n in names]
        if data.problem_solving:
            scores = problem_solving_of(data, cell.generator)
            ps = domain_problem_solving(scores, cell.domain) if scores else None
            if ps is None:
                continue
            values.append(ps)
        rows.append(values)
        targets.append(cell.pgr)
    if data.problem_solving:
        names = [*names, PROBLEM_SOLVING]
    x = np.asarray(rows, dtype=float).reshape(len(rows), len(names))
    return names, x, np.asarray(targets, dtype=float), len(data.cells) - len(rows)


def _partial_metrics(data: AnalysisData) -> dict[str, str]:
    """Metrics some usable cells have and others lack (a scorer that failed or was off): not features."""
    usable = [c for c in data.cells if c.pgr is not None]
    counts: dict[str, int] = {}
    for cell in usable:
        for name in cell.metrics:
            counts[name] = counts.get(name, 0) + 1
    return {n: f"missing in {len(usable) - k} of {len(usable)} cells" for n, k in sorted(counts.items()) if k < len(usable)}


def zscore(x: np.ndarray, ddof: int = 0) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=ddof)


def principal_components(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(explained-variance ratios, V^T with deterministic signs) of a centred matrix."""
    _, singular, vt = np.linalg.svd(z, full_matrices=False)
    for i, row in enumerate(vt):
        if row[np.argmax(np.abs(row))] < 0:
            vt[i] = -row
    variance = singular**2
    return variance / variance.sum(), vt


def pca_regression(data: AnalysisData, components: int = DEFAULT_COMPONENTS, ddof: int = 0) -> PCAResult:
    names, x, y, dropped_rows = feature_matrix(data)
    partial = _partial_metrics(data)
    empty = PCAResult(names, len(y), [], 0, {}, None, dropped_features=partial, rows_dropped=dropped_rows)
    if not [n for n in names if n != PROBLEM_SOLVING]:
        empty.skipped = "no intrinsic metric is present in every cell with a PGR"
        return empty
    if len(y) < 3:
        empty.skipped = f"needs at least 3 rows, has {len(y)}"
        return empty
    spread = x.std(axis=0)
    keep = [i for i, s in enumerate(spread) if s > 0]
    dropped = {**partial, **{names[i]: "constant over the rows" for i in range(len(names)) if i not in keep}}
    names = [names[i] for i in keep]
    x = x[:, keep]
    empty.features, empty.dropped_features = names, dropped
    if not names:
        empty.skipped = "every feature is constant over the rows"
        return empty
    z = zscore(x, ddof)
    ratios, vt = principal_components(z)
    kept = min(components, len(names), len(y) - 1)
    scores = z @ vt[:kept].T
    result = PCAResult(
        features=names,
        rows=len(y),
        explained_variance_ratio=ratios.tolist(),
        components=kept,
        loadings={name: vt[:kept, j].tolist() for j, name in enumerate(names)},
        regression=None,
        dropped_features=dropped,
        rows_dropped=dropped_rows,
    )
    try:
        result.regression = ols(scores, y)
    except ValueError as exc:
        result.regression_skipped = str(exc)
    return result

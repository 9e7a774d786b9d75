"""OLS, the problem-solving fits and the PCA on data whose answer is known, and their degenerate cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pytest_agorabench.analysis import AnalysisData, Cell, ols, pca_regression, problem_solving_regressions
from pytest_agorabench.analysis.problem_solving import fit_line


def test_ols_with_one_predictor_matches_linregress():
    rng = np.random.default_rng(1)
    x = rng.normal(size=30)
    y = 2 * x + rng.normal(size=30)
    fit, reference = ols(x, y), stats.linregress(x, y)
    assert fit.coefficients == pytest.approx([reference.intercept, reference.slope])
    assert fit.r_squared == pytest.approx(reference.rvalue**2)
    assert fit.f_p_value == pytest.approx(reference.pvalue)  # F-test = t-test of the slope when k = 1
    assert fit.p_values[1] == pytest.approx(reference.pvalue)
    assert fit.std_errors[1] == pytest.approx(reference.stderr)


def test_ols_recovers_an_exact_plane_and_rejects_degenerate_input():
    x = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [2, 1.0]])
    fit = ols(x, 3 + 2 * x[:, 0] - x[:, 1] + np.array([0, 1e-3, -1e-3, 0, 0]))
    assert fit.coefficients == pytest.approx([3, 2, -1], abs=1e-2) and fit.r_squared > 0.999
    with pytest.raises(ValueError, match="needs more than"):
        ols(x[:3], np.arange(3.0))
    with pytest.raises(ValueError, match="collinear"):
        ols(np.column_stack([x[:, 0], 2 * x[:, 0]]), np.arange(5.0))
    with pytest.raises(ValueError, match="constant"):
        ols(x, np.ones(5))


def test_line_fits_skip_with_a_reason():
    assert "at least 3" in fit_line("coarse", [1, 2], [1, 2]).skipped
    assert "equal" in fit_line("coarse", [1, 1, 1], [1, 2, 3]).skipped
    fine = fit_line("fine", [1, 2, 3, 4], [2, 4, 6, 8.5])
    assert fine.skipped is None and fine.slope == pytest.approx(2.15) and fine.r_squared > 0.99


def _data(n_generators=4, with_ps=True, noise=0.0):
    """PGR driven by one metric; problem solving per generator; a constant column."""
    rng = np.random.default_rng(0)
    cells, table = [], {}
    for g in range(n_generators):
        table[f"G{g}"] = {"gsm8k": 50 + 10 * g, "math": 40 + 10 * g, "mbpp": 60 - g, "humaneval": 55 - g}
        for domain in ("math", "code"):
            for method in ("instance_generation", "response_generation", "quality_enhancement"):
                quality = rng.normal()
                metrics = {"quality": quality, "noise": rng.normal(), "constant": 1.0}
                pgr = 10 + 5 * quality + noise * rng.normal()
                cells.append(Cell(f"G{g}", domain, method, pgr, metrics))
    return AnalysisData(cells, table if with_ps else None, "synthetic")


def test_pca_regression_finds_a_driving_metric_and_drops_constant_columns():
    result = pca_regression(_data(), components=3)
    assert result.dropped_features == {"constant": "constant over the rows"}
    assert result.features == ["noise", "quality", "problem_solving"]
    assert result.components == 3 and result.explained_variance_kept == pytest.approx(1.0)
    assert result.regression.r_squared == pytest.approx(1.0)  # all components kept: PGR is exactly linear


def test_pca_without_problem_solving_uses_the_metrics_alone():
    result = pca_regression(_data(with_ps=False, noise=1.0), components=1)
    assert result.features == ["noise", "quality"] and result.components == 1
    assert 0 < result.regression.r_squared < 1


def test_pca_skips_cells_without_pgr_and_reports_too_little_data():
    data = _data(n_generators=1)
    data.cells[0].pgr = data.cells[1].pgr = None
    result = pca_regression(data)
    assert result.rows_dropped == 2 and result.rows == 4 and result.components == 3
    assert result.regression is None and "needs more than" in result.regression_skipped
    empty = AnalysisData([Cell("G", "math", "instance_generation", 1.0)], None, "x")
    assert "no intrinsic metric" in pca_regression(empty).skipped


def test_problem_solving_regressions_without_a_table_are_skipped():
    fits = problem_solving_regressions(_data(with_ps=False))
    assert all(f.skipped == "no problem-solving table" for f in fits.values())
    fits = problem_solving_regressions(_data(n_generators=4))
    assert fits["coarse"].points == 4 and fits["fine"].points == 24


def test_a_metric_missing_in_some_cells_is_named_not_used():
    data = _data()
    del data.cells[3].metrics["noise"]
    result = pca_regression(data, components=2)
    assert "noise" not in result.features
    assert result.dropped_features["noise"] == "missing in 1 of 24 cells"


def test_problem_solving_alone_or_too_few_rows_is_no_pca():
    data = _data()
    for cell in data.cells:
        cell.metrics = {}
    assert "no intrinsic metric" in pca_regression(data).skipped
    few = _data(n_generators=1)
    for cell in few.cells[2:]:
        cell.pgr = None
    assert pca_regression(few).skipped == "needs at least 3 rows, has 2"

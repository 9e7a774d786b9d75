"""The analysis run on the paper's own tables (fixtures/paper) against the figures the paper reports.

What reproduces within rounding: every generator's mean PGR and problem-solving average (Table 3), and the
problem-solving conclusion (coarse p > 0.05, fine R^2 < 0.1). What does not: the paper reports 93.4 % of
variance in 5 components and R^2 = 0.325 (p < 0.001) for the OLS on them; its own published per-cell tables
give 96.0 % and R^2 = 0.338 (p = 0.0011) under the protocol it describes, and no convention we tried (ddof,
generator-level vs domain-level problem solving, min-max or no scaling, averaged judges) gives both of the
paper's figures. We pin our figures, computed here independently of the library, and the distance to the
paper's.
"""

from __future__ import annotations

import csv
import statistics

import numpy as np
import pytest
from scipy import stats

from pytest_agorabench.analysis import load_paper, pca_regression, problem_solving_regressions
from pytest_agorabench.analysis.pca import feature_matrix
from pytest_agorabench.analysis.summary import generator_scores
from pytest_agorabench.analysis.tables import PROBLEM_SOLVING, paper_dir


@pytest.fixture(scope="module")
def paper():
    return load_paper()


def test_paper_tables_load_as_54_cells_with_8_metrics(paper):
    assert len(paper.cells) == 54
    assert {len(c.metrics) for c in paper.cells} == {8}
    assert len(paper.problem_solving) == 6 and all(len(s) == 6 for s in paper.problem_solving.values())


def test_cells_reproduce_table3_averages_within_rounding(paper):
    scores = generator_scores(paper)
    with open(paper_dir() / "table3_cost.csv") as handle:
        table3 = list(csv.DictReader(handle))
    for row in table3:
        name = row["generator"]
        assert abs(scores[name]["mean_pgr"] - float(row["data_generation_avg_pgr"])) <= 0.1, name
        assert abs(statistics.fmean(paper.problem_solving[name].values()) - float(row["problem_solving_avg"])) <= 0.1


def test_problem_solving_does_not_predict_pgr(paper):
    fits = problem_solving_regressions(paper)
    coarse, fine = fits["coarse"], fits["fine"]
    assert (coarse.points, fine.points) == (6, 54)
    # The paper's conclusion: R^2 < 0.1 or p > 0.05 at both levels.
    assert coarse.p_value > 0.05 and fine.r_squared < 0.1
    assert coarse.r_squared == pytest.approx(0.2440, abs=5e-4)
    assert fine.r_squared == pytest.approx(0.0970, abs=5e-4) and fine.p_value == pytest.approx(0.0219, abs=5e-4)


def _independent_pca(paper):
    """Eigen-decomposition of the correlation matrix, OLS by normal equations: no code shared with the library."""
    names, x, y, _ = feature_matrix(paper)
    eigenvalues, eigenvectors = np.linalg.eigh(np.corrcoef(x, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    ratios = eigenvalues[order] / eigenvalues.sum()
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    scores = z @ eigenvectors[:, order[:5]]
    design = np.column_stack([np.ones(len(y)), scores])
    beta = np.linalg.solve(design.T @ design, design.T @ y)
    r2 = 1 - ((y - design @ beta) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    f = (r2 / 5) / ((1 - r2) / (len(y) - 6))
    return names, ratios, r2, stats.f.sf(f, 5, len(y) - 6)


def test_pca_and_ols_on_the_paper_tables(paper):
    result = pca_regression(paper)
    names, ratios, r2, p = _independent_pca(paper)
    assert result.features == names and names[-1] == PROBLEM_SOLVING and len(names) == 9
    assert result.rows == 54 and result.components == 5
    np.testing.assert_allclose(result.explained_variance_ratio, ratios, atol=1e-10)
    assert result.regression.r_squared == pytest.approx(r2, abs=1e-10)
    assert result.regression.f_p_value == pytest.approx(p, rel=1e-8)
    # Our figures, and how far they are from the paper's (93.4 %, R^2 0.325, p < 0.001).
    assert result.explained_variance_kept == pytest.approx(0.9596, abs=5e-4)
    assert result.regression.r_squared == pytest.approx(0.3379, abs=5e-4)
    assert abs(result.regression.r_squared - 0.325) < 0.015
    assert result.regression.f_p_value == pytest.approx(0.00106, abs=2e-5)


def test_ddof_of_the_z_scores_changes_no_reported_figure(paper):
    population, sample = pca_regression(paper, ddof=0), pca_regression(paper, ddof=1)
    np.testing.assert_allclose(population.explained_variance_ratio, sample.explained_variance_ratio, atol=1e-12)
    for name in population.features:
        np.testing.assert_allclose(population.loadings[name], sample.loadings[name], atol=1e-12)
    assert population.regression.r_squared == pytest.approx(sample.regression.r_squared, abs=1e-12)
    assert population.regression.f_p_value == pytest.approx(sample.regression.f_p_value, rel=1e-9)


def test_loadings_have_deterministic_signs(paper):
    result = pca_regression(paper)
    matrix = np.array([result.loadings[f] for f in result.features])
    for column in matrix.T:
        assert column[np.argmax(np.abs(column))] > 0
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=0), 1.0, atol=1e-12)  # unit eigenvectors

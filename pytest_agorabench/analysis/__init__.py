"""The paper's analysis (AGORABENCH.md section 6) on our reports or on the paper's own tables.

- tables: load cells (generator x setting: PGR, intrinsic metrics, cost) and problem-solving scores
- problem_solving: coarse and fine regressions of PGR on the generator's own benchmark scores
- pca: PCA of the intrinsic metrics + problem solving, and OLS of PGR on the top components
- summary: everything as a dict and printable lines;  plots: PNG figures;  command: `agorabench analyze`
"""

from pytest_agorabench.analysis.pca import PCAResult, ols, pca_regression
from pytest_agorabench.analysis.problem_solving import LineFit, problem_solving_regressions
from pytest_agorabench.analysis.summary import analyze, format_analysis
from pytest_agorabench.analysis.tables import (
    AnalysisData,
    AnalysisInputError,
    Cell,
    load_paper,
    load_problem_solving,
    load_reports,
)

__all__ = [
    "AnalysisData",
    "AnalysisInputError",
    "Cell",
    "LineFit",
    "PCAResult",
    "analyze",
    "format_analysis",
    "load_paper",
    "load_problem_solving",
    "load_reports",
    "ols",
    "pca_regression",
    "problem_solving_regressions",
]


def write_plots(*args, **kwargs):
    """Lazy re-export: plots import matplotlib only when called."""
    from pytest_agorabench.analysis.plots import write_plots as _write_plots

    return _write_plots(*args, **kwargs)

"""The regression gate: saved runs (saved_runs.py), the statistics (stats.py: paired bootstrap of delta PGR,
two-level bootstrap over training seeds, McNemar / Wilcoxon per benchmark, Bonferroni and Holm) and one
case's comparison and decision (compare.py). Reads and writes only what it is given: no config, no store."""

from pytest_agorabench.gate.compare import compare, describe
from pytest_agorabench.gate.saved_runs import SavedRunError, case_record, finish, load_case, resolve, save_case

__all__ = ["SavedRunError", "case_record", "compare", "describe", "finish", "load_case", "resolve", "save_case"]

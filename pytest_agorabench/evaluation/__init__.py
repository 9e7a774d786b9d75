"""Student evaluation: benchmark registry, item loading, answer scoring, and inspect-ai runs.

Importing this package is cheap: inspect-ai, datasets and math-verify load only when used.
"""

from pytest_agorabench.evaluation.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSpec,
    get_benchmark,
    load_items,
    register_benchmark,
)
from pytest_agorabench.evaluation.math_answers import (
    extract_answer,
    gold_from_gsm8k,
    gold_from_math_solution,
    gsm8k_equal,
    math_equal,
)
from pytest_agorabench.evaluation.tasks import (
    SCORERS,
    EvaluationError,
    evaluate,
    register_scorer,
)

# Code benchmarks (MBPP, HumanEval) register their specs and scorers on import; after tasks, which they use.
from pytest_agorabench.evaluation import code_benchmarks as _code_benchmarks  # noqa: E402,F401

__all__ = [
    "BENCHMARKS",
    "SCORERS",
    "BenchmarkError",
    "BenchmarkSpec",
    "EvaluationError",
    "evaluate",
    "extract_answer",
    "get_benchmark",
    "gold_from_gsm8k",
    "gold_from_math_solution",
    "gsm8k_equal",
    "load_items",
    "math_equal",
    "register_benchmark",
    "register_scorer",
]

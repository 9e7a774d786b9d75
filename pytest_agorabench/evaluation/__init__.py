"""Student evaluation: benchmark registry, item loading, answer scoring, and inspect-ai runs.

Where things are: ``common`` (shared names: the error, section 4's decoding, the scorer registry) at the
bottom; ``benchmarks`` (the registry and item loading; math specs), ``if_benchmarks`` and
``code_benchmarks`` (their domains' specs and scorers); ``tasks`` (a model on a benchmark through inspect:
scores, or answers of a judged benchmark). Judged benchmarks: ``judge_prompts`` (our prompts, verdict
parsing), ``judgments`` (the records), ``judge_runner`` (retries, cache, one inspect eval),
``judged_benchmarks`` + ``win_rates`` (from judgments to LC and Arena-Hard win rates).

Importing this package is cheap: inspect-ai, datasets and math-verify load only when used.
"""

# The other domains register their benchmark specs (and code its scorers) on import: one registry.
from pytest_agorabench.evaluation import code_benchmarks as _code_benchmarks  # noqa: E402,F401
from pytest_agorabench.evaluation import if_benchmarks as _if_benchmarks  # noqa: E402,F401
from pytest_agorabench.evaluation.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSpec,
    get_benchmark,
    load_items,
    register_benchmark,
)
from pytest_agorabench.evaluation.common import (
    SCORERS,
    EvaluationError,
    register_scorer,
)
from pytest_agorabench.evaluation.math_answers import (
    extract_answer,
    gold_from_gsm8k,
    gold_from_math_solution,
    gsm8k_equal,
    math_equal,
)
from pytest_agorabench.evaluation.tasks import answer_items, evaluate

__all__ = [
    "BENCHMARKS",
    "SCORERS",
    "BenchmarkError",
    "BenchmarkSpec",
    "EvaluationError",
    "answer_items",
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

"""Contamination of generated data: every generated instruction and response checked against the questions
and reference answers of the benchmarks a case evaluates on (``check``). Explicit arguments in, a plain
report out; the pipeline (pipeline/contamination.py) keys it in the store and drops flagged rows."""

from pytest_agorabench.contamination.check import Rule, check

__all__ = ["Rule", "check"]

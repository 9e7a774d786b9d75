"""Metrics: Performance Gap Recovered with bootstrap intervals."""

from pytest_agorabench.metrics.pgr import (
    Estimate,
    benchmark_pgr,
    domain_pgr,
    mean_score,
    pgr,
    pgr_with_reason,
)

__all__ = ["Estimate", "benchmark_pgr", "domain_pgr", "mean_score", "pgr", "pgr_with_reason"]

"""Ratios whose denominator can come near zero: PGR and delta PGR in linear form (ARCHITECTURE.md, Statistics).

PGR, a mean of per-benchmark PGRs and a difference of two runs' PGRs are all ``scale x sum_t n_t / d_t``
over a few terms t (a benchmark of one run). Over a common denominator that is ``A / D`` with
``D = prod_t d_t`` and ``A = scale x sum_t n_t prod_{u != t} d_u``: two polynomials in benchmark means,
defined on every bootstrap resample, however close a reference-base gap comes to zero. Hence:

- a question about the ratio, "R < x", is the linear statement ``s (A - x D) < 0`` with ``s`` the sign of
  the point's D (Fieller's approach); its one-sided bootstrap p-value (``below_p``) needs no division and
  drops no resample. Benchmarks are resampled independently, so the expectation of a product over
  benchmarks is the product of expectations: under "R = x" the statistic is centred on zero;
- inverting that test gives Fieller's confidence set (``fieller_set``): {x : (A - x D)^2 <= z^2 Var(A - x D)},
  with the variances taken from the bootstrap replicates. It is a bounded interval when D is clearly away
  from zero, else the union of two rays or every value: each says something true about the data (a gap
  not clearly above zero cannot pin PGR down), where a percentile interval over ratios would be undefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pytest_agorabench.metrics.interval_text import BOUNDED, EMPTY, EVERYTHING, ONE_RAY, TWO_RAYS


@dataclass(frozen=True)
class RatioSet:
    """A confidence set for a ratio. ``bounded``: [low, high]; ``one ray``: [low, +inf) or (-inf, high], the
    open side None; ``two rays``: (-inf, low] u [high, +inf);
    ``everything``: any value; ``empty``: no finite value (D is exactly zero on every resample, A is not)."""

    kind: str
    low: float | None = None
    high: float | None = None

    def hull(self) -> tuple[float | None, float | None, list[float] | None]:
        """(lowest, highest, excluded): the set's ends with None where it is open, and for two rays the
        ends of the gap between them."""
        if self.kind in (BOUNDED, ONE_RAY):
            return self.low, self.high, None
        if self.kind == TWO_RAYS:
            return None, None, [self.low, self.high]
        return None, None, None

    def contains(self, x: float) -> bool:
        if self.kind == BOUNDED:
            return self.low <= x <= self.high
        if self.kind == ONE_RAY:
            return (self.low is None or x >= self.low) and (self.high is None or x <= self.high)
        if self.kind == TWO_RAYS:
            return x <= self.low or x >= self.high
        return self.kind == EVERYTHING


def linear_parts(numerators: np.ndarray, denominators: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(..., T) numerators and denominators of ``scale x sum_t n_t / d_t`` -> (A, D) of shape (...)."""
    num = np.asarray(numerators, dtype=float)
    den = np.asarray(denominators, dtype=float)
    terms = num.shape[-1]
    a = np.zeros(num.shape[:-1])
    for t in range(terms):
        others = np.prod(np.delete(den, t, axis=-1), axis=-1) if terms > 1 else np.ones(num.shape[:-1])
        a = a + num[..., t] * others
    return scale * a, np.prod(den, axis=-1)


def orientation(d_point: float) -> float:
    """The sign that turns "A / D < x" into "s (A - x D) < 0". A zero D takes +1: the protocol's premise
    is a reference above the base, so positive gaps."""
    return -1.0 if d_point < 0 else 1.0


def below_p(a_reps: np.ndarray, d_reps: np.ndarray, x: float, sign: float) -> float:
    """One-sided bootstrap p-value for "the ratio is below x": the share of replicates that do not show it
    (``sign (A - x D) >= 0``), with the usual +1 so that it is never zero."""
    stat = sign * (np.asarray(a_reps, dtype=float) - x * np.asarray(d_reps, dtype=float))
    return float((np.sum(stat >= 0.0) + 1) / (stat.size + 1))


def fieller_set(a_point: float, d_point: float, a_reps: np.ndarray, d_reps: np.ndarray,
                confidence: float = 0.95) -> RatioSet:
    """Fieller's set for A / D: the x where |A - x D| is within z standard errors of zero, the standard
    errors and their covariance from the bootstrap replicates of (A, D)."""
    from scipy import stats

    z2 = float(stats.norm.ppf(0.5 + confidence / 2.0)) ** 2
    if np.size(a_reps) < 2:
        return RatioSet(EVERYTHING)  # no resample to measure the spread with: nothing can be ruled out
    cov = np.cov(np.vstack([np.asarray(a_reps, float), np.asarray(d_reps, float)]), ddof=1)
    v_aa, v_ad, v_dd = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    # (A - x D)^2 - z^2 (v_aa - 2 x v_ad + x^2 v_dd) <= 0, as q2 x^2 + q1 x + q0 <= 0.
    q2 = d_point * d_point - z2 * v_dd
    q1 = -2.0 * (a_point * d_point - z2 * v_ad)
    q0 = a_point * a_point - z2 * v_aa
    scale = max(abs(q2), abs(q1), abs(q0), 1e-300)
    q2, q1, q0 = (0.0 if abs(q) < 1e-12 * scale else q for q in (q2, q1, q0))
    if q2 == 0.0:
        if q1 == 0.0:
            return RatioSet(EVERYTHING) if q0 <= 0.0 else RatioSet(EMPTY)
        root = -q0 / q1  # a line: D sits exactly at the edge of significance
        return RatioSet(ONE_RAY, None, root) if q1 > 0 else RatioSet(ONE_RAY, root, None)
    disc = q1 * q1 - 4.0 * q2 * q0
    if abs(disc) <= 1e-9 * max(q1 * q1, abs(4.0 * q2 * q0)):
        disc = 0.0  # a double root in exact arithmetic (A proportional to D): keep rounding from splitting it
    if q2 > 0.0:
        if disc < 0.0:  # cannot happen with a defined point (it satisfies the inequality); guard rounding
            point = -q1 / (2.0 * q2)
            return RatioSet(BOUNDED, point, point)
        root = np.sqrt(disc)
        lo, hi = sorted(((-q1 - root) / (2.0 * q2), (-q1 + root) / (2.0 * q2)))
        return RatioSet(BOUNDED, float(lo), float(hi))
    if disc <= 0.0:
        return RatioSet(EVERYTHING)
    root = np.sqrt(disc)
    lo, hi = sorted(((-q1 - root) / (2.0 * q2), (-q1 + root) / (2.0 * q2)))
    return RatioSet(TWO_RAYS, float(lo), float(hi))


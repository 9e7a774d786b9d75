"""Performance Gap Recovered with a paired bootstrap interval (AGORABENCH.md section 1, ARCHITECTURE.md Statistics).

PGR = 100 x (student - base) / (reference - base). Per-item scores are resampled together (the same item
indices for student, base and reference: a paired bootstrap), the three means and PGR recomputed, and the
95 % percentile interval reported. PGR is undefined when the reference-base gap is below ``min_gap``; by
default one item's worth (1/n on a 0-1 item scale): a smaller gap cannot be told apart from a tie.

A benchmark whose metric is not a mean of item scores (AlpacaEval's length-controlled win rate, a model
fitted over items; Arena-Hard's pooled win rate) passes an ``aggregate``: a function from item weights
(k, n) -- bootstrap counts, one row per replicate, all ones for the point value -- to the (k, 3) student,
base and reference metrics on a 0-1 scale, item columns in the order of the student's scores. The
bootstrap then recomputes that metric on every resample, drawing exactly the same items as the mean path.

Where more than ``MAX_DEGENERATE_FRACTION`` of the resamples have a gap below the minimum (or the point
itself does), a percentile interval over ratios would be undefined: the interval is then Fieller's set from
the same resamples (metrics/fieller.py), with its kind (bounded, one ray, two rays, everything).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from pytest_agorabench.metrics import fieller

CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 10_000
MAX_DEGENERATE_FRACTION = 0.05  # more degenerate resamples than this and the interval is not reported
_CHUNK_ELEMENTS = 1_000_000  # index-matrix size per chunk: bounded memory, vectorised speed
_TOLERANCE = 1e-12  # means of 0/1 scores are k/n in floating point: a gap of exactly min_gap must count

Scores = Sequence[Mapping[str, Any]] | Mapping[str, float]
DomainMode = Literal["mean_of_pgrs", "pgr_of_means"]
Aggregate = Callable[[np.ndarray], np.ndarray]  # (k, n) item weights -> (k, 3) student/base/reference metrics


@dataclass
class Estimate:
    point: float | None
    low: float | None  # None when the interval is undefined (see undefined_reason)
    high: float | None
    undefined_reason: str | None
    resamples: int  # bootstrap resamples drawn
    degenerate: int = 0  # of those, how many had a reference-base gap below the minimum (dropped)
    # "bounded", or for a Fieller set "one ray" / "two rays" / "everything" / "empty" (fieller.RatioSet).
    # low/high are always the set's lowest and highest values, None where it is open (so a lower end is a
    # lower end for every reader); for two rays, ``excluded`` holds the ends of the gap between them.
    interval_kind: str | None = None
    interval_method: str | None = None  # "bootstrap percentile" or "fieller"
    excluded: list[float] | None = None


def pgr_with_reason(
    student: float, base: float, reference: float, min_gap: float = 1e-9
) -> tuple[float | None, str | None]:
    """PGR in percent and None, or None and why it is undefined. Scores and ``min_gap`` share one scale."""
    student, base, reference = float(student), float(base), float(reference)
    gap = reference - base
    if abs(gap) + _TOLERANCE < min_gap:
        return None, (
            f"reference ({reference:.6g}) and base ({base:.6g}) differ by {abs(gap):.3g}, "
            f"below the minimum gap {min_gap:.3g}"
        )
    return 100.0 * (student - base) / gap, None


def pgr(student: float, base: float, reference: float, min_gap: float = 1e-9) -> float | None:
    """100 x (student - base) / (reference - base); None when |reference - base| < ``min_gap``."""
    return pgr_with_reason(student, base, reference, min_gap)[0]


def mean_score(scores: Scores) -> float:
    """Mean per-item score in percent (the figure reports show)."""
    values = _values(scores)[1]
    if values.size == 0:
        raise ValueError("no item scores")
    return 100.0 * float(values.mean())


def benchmark_pgr(
    student_scores: Scores,
    base_scores: Scores,
    ref_scores: Scores,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    min_gap: float | None = None,
    aggregate: Aggregate | None = None,
) -> Estimate:
    """PGR of one benchmark with a paired-bootstrap 95 % interval.

    The three score collections must cover the same item ids (lists of ``{"id", "score"}`` dicts or
    ``{id: score}`` mappings). ``min_gap`` is on the 0-1 item scale; None means one item (1/n).
    ``aggregate`` replaces the mean of item scores by the benchmark's own metric (module docstring).
    """
    matrix = _aligned(student_scores, base_scores, ref_scores, label="")
    gap = 1.0 / matrix.shape[0] if min_gap is None else min_gap
    means = metric_point(matrix, aggregate)
    point, reason = pgr_with_reason(*means, min_gap=gap)
    return _estimate(point, reason, resamples, seed, [matrix], [gap], "pgr_of_means", [aggregate], means[None, :])


def metric_point(matrix: np.ndarray, aggregate: Aggregate | None = None) -> np.ndarray:
    """The (3,) student/base/reference metrics of an aligned (n, 3) score matrix: means, or the aggregate."""
    if aggregate is None:
        return matrix.mean(axis=0)
    values = np.asarray(aggregate(np.ones((1, matrix.shape[0]))), dtype=float)
    if values.shape != (1, 3):
        raise ValueError(f"an aggregate must return shape (k, 3), got {values.shape}")
    return values[0]


def domain_pgr(
    per_benchmark: Mapping[str, tuple[Scores, Scores, Scores]],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    mode: DomainMode = "mean_of_pgrs",
    min_gap: float | None = None,
    aggregates: Mapping[str, Aggregate] | None = None,
) -> Estimate:
    """Domain PGR from (student, base, reference) item scores per benchmark.

    ``mean_of_pgrs`` (default, AGORABENCH.md section 1) averages the benchmarks' PGRs; ``pgr_of_means``
    takes the PGR of the benchmarks' unweighted mean scores. Each replicate resamples every benchmark's
    items independently. ``min_gap`` (0-1 scale) defaults to one item per benchmark, and for
    ``pgr_of_means`` to one item of the largest benchmark divided by the number of benchmarks.
    ``aggregates`` maps a benchmark name to its own metric (see ``benchmark_pgr``).
    """
    if mode not in ("mean_of_pgrs", "pgr_of_means"):
        raise ValueError(f"mode must be 'mean_of_pgrs' or 'pgr_of_means', got {mode!r}")
    if not per_benchmark:
        raise ValueError("domain_pgr needs at least one benchmark")
    names = list(per_benchmark)
    matrices = [_aligned(*per_benchmark[name], label=f"{name}: ") for name in names]
    aggs = [(aggregates or {}).get(name) for name in names]
    if mode == "pgr_of_means":
        gap = min_gap if min_gap is not None else 1.0 / (len(matrices) * max(m.shape[0] for m in matrices))
        means = np.mean([metric_point(m, a) for m, a in zip(matrices, aggs)], axis=0)
        point, reason = pgr_with_reason(*means, min_gap=gap)
        return _estimate(point, reason, resamples, seed, matrices, [gap], mode, aggs, means[None, :])
    gaps = [min_gap if min_gap is not None else 1.0 / m.shape[0] for m in matrices]
    points, reasons, all_means = [], [], []
    for name, matrix, gap, agg in zip(names, matrices, gaps, aggs):
        all_means.append(metric_point(matrix, agg))
        value, why = pgr_with_reason(*all_means[-1], min_gap=gap)
        points.append(value)
        if why:
            reasons.append(f"{name}: {why}")
    point = None if reasons else float(np.mean(points))
    return _estimate(point, "; ".join(reasons) or None, resamples, seed, matrices, gaps, mode, aggs,
                     np.asarray(all_means))


def _estimate(
    point: float | None,
    reason: str | None,
    resamples: int,
    seed: int,
    matrices: list[np.ndarray],
    gaps: list[float],
    mode: DomainMode,
    aggregates: Sequence[Aggregate | None] = (),
    point_means: np.ndarray | None = None,
) -> Estimate:
    """``point_means``: the (terms, 3) student/base/reference metrics whose PGRs are averaged at the point."""
    if resamples < 0:
        raise ValueError(f"resamples must be >= 0, got {resamples}")
    if resamples == 0:
        return Estimate(point, None, None, reason or "interval not computed (resamples=0)", 0)
    values, degenerate, a_reps, d_reps = _bootstrap(matrices, gaps, mode, resamples, seed, aggregates)
    if point is not None and degenerate <= MAX_DEGENERATE_FRACTION * resamples:
        alpha = (1.0 - CONFIDENCE) / 2.0
        low, high = np.quantile(values, [alpha, 1.0 - alpha])
        return Estimate(point, float(low), float(high), None, resamples, degenerate,
                        fieller.BOUNDED, "bootstrap percentile")
    # The gap is too often (or at the point) below the minimum: Fieller's set, from the same resamples.
    a0, d0 = _linear_parts(point_means[None, :, :])
    found = fieller.fieller_set(float(a0[0]), float(d0[0]), a_reps, d_reps, CONFIDENCE)
    low, high, excluded = found.hull()
    return Estimate(point, low, high, reason, resamples, degenerate, found.kind, "fieller", excluded)


def _linear_parts(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, terms, 3) student/base/reference -> (A, D) of the mean over terms of the terms' PGRs."""
    terms = means.shape[1]
    return fieller.linear_parts(means[:, :, 0] - means[:, :, 1], means[:, :, 2] - means[:, :, 1], 100.0 / terms)


def _bootstrap(
    matrices: list[np.ndarray],
    gaps: list[float],
    mode: DomainMode,
    resamples: int,
    seed: int,
    aggregates: Sequence[Aggregate | None] = (),
) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Bootstrap PGR values (degenerate replicates dropped), the number dropped, and every replicate's
    linear parts (A, D) for Fieller's set (non-finite aggregate replicates left out of those)."""
    aggregates = list(aggregates) + [None] * (len(matrices) - len(aggregates))
    rng = np.random.default_rng(seed)
    columns = [[np.ascontiguousarray(m[:, j]) for j in range(3)] for m in matrices]
    largest = max(m.shape[0] for m in matrices)
    chunk = max(1, min(resamples, _CHUNK_ELEMENTS // largest))
    kept: list[np.ndarray] = []
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    degenerate = 0
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        # (size, benchmarks, 3): the three means of each benchmark in each replicate, one index draw per
        # benchmark shared by student, base and reference (paired).
        means = np.empty((size, len(matrices), 3))
        for b, cols in enumerate(columns):
            n = cols[0].shape[0]
            idx = rng.integers(0, n, size=(size, n))
            if aggregates[b] is not None:
                # The same draw as the mean path, as item counts: the metric is refitted per replicate.
                counts = np.zeros((size, n))
                np.add.at(counts, (np.repeat(np.arange(size), n), idx.ravel()), 1.0)
                means[:, b, :] = aggregates[b](counts)
                continue
            for j in range(3):
                means[:, b, j] = cols[j][idx].mean(axis=1)
        if mode == "pgr_of_means":
            means = means.mean(axis=1, keepdims=True)
        diff = means[:, :, 2] - means[:, :, 1]
        ok = np.all(np.abs(diff) + _TOLERANCE >= np.asarray(gaps)[None, :], axis=1)
        ok &= np.all(np.isfinite(means), axis=(1, 2))  # an aggregate undefined on a resample
        degenerate += int(size - ok.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            per_benchmark = 100.0 * (means[:, :, 0] - means[:, :, 1]) / diff
        kept.append(per_benchmark[ok].mean(axis=1))
        finite = np.all(np.isfinite(means), axis=(1, 2))
        parts.append(_linear_parts(means[finite]))
    return (np.concatenate(kept), degenerate, np.concatenate([a for a, _ in parts]),
            np.concatenate([d for _, d in parts]))


def _values(scores: Scores) -> tuple[list[str], np.ndarray]:
    if isinstance(scores, Mapping):
        ids = [str(k) for k in scores]
        values = [scores[k] for k in scores]
    else:
        ids = [str(s["id"]) for s in scores]
        values = [s["score"] for s in scores]
    array = np.asarray(values, dtype=float)
    if array.size and not np.all(np.isfinite(array)):
        raise ValueError("item scores must be finite numbers")
    return ids, array


def _aligned(student: Scores, base: Scores, reference: Scores, *, label: str) -> np.ndarray:
    """(n, 3) matrix of student/base/reference scores on the student's item order; raises on id mismatch."""
    columns = []
    order: list[str] | None = None
    for role, scores in (("student", student), ("base", base), ("reference", reference)):
        ids, values = _values(scores)
        by_id = dict(zip(ids, values))
        if len(by_id) != len(ids):
            raise ValueError(f"{label}{role} scores repeat item ids")
        if order is None:
            order = ids
            if not order:
                raise ValueError(f"{label}no item scores")
        elif set(by_id) != set(order):
            missing = sorted(set(order) - set(by_id))
            extra = sorted(set(by_id) - set(order))
            raise ValueError(
                f"{label}{role} scores cover different items than the student's: "
                f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} extra (e.g. {extra[:3]})"
            )
        columns.append([by_id[i] for i in order])
    return np.asarray(columns, dtype=float).T

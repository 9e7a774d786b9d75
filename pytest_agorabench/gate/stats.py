"""The statistics of the regression gate (ARCHITECTURE.md, Statistics).

A case's item scores, per benchmark: the student's for each training seed (K >= 1 rows), the base's and the
reference's (one row each: they do not depend on the student's seed). PGR per benchmark is
100 x (student - base) / (reference - base) on the benchmark's mean scores, the domain PGR the mean over
benchmarks (AGORABENCH.md section 1).

- ``two_level``: one run's PGR as the mean over its seeds, with an interval from a two-level bootstrap
  (resample the seeds, then the items) and the share of the variance that comes from the seeds.
- ``paired_delta``: PGR(run) - PGR(baseline) with a paired bootstrap: every replicate draws one set of items
  per benchmark, used by both runs (items are matched by id beforehand), and each run's seeds on their own.
  The p-values are the bootstrap's one-sided ones for "the run is lower by more than X points", decided in
  linear form (metrics/fieller.py): with S_0 and S_ref shared, per benchmark
  (S_G,run - S_G,base) + (X/100)(S_ref - S_0) < 0 over a common denominator, so no replicate is dropped and
  a noisy reference-base gap makes the gate cautious, never undefined. With each run's own S_0 and S_ref
  the same over the product of both runs' gaps.
- ``item_test``: per benchmark, McNemar's exact test for 0/1 items (one seed each), else the Wilcoxon
  signed-rank test, one-sided for "the run scores lower".
- ``bonferroni`` / ``holm``: the correction for the number of gated cases.
Intervals are bootstrap percentiles over the replicates whose reference-base gaps are at least one item;
where more than 5 % of them are not (or the point is not), Fieller's set from the same replicates instead,
with its kind (bounded, one ray, two rays, everything).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pytest_agorabench.metrics import fieller
from pytest_agorabench.metrics.pgr import MAX_DEGENERATE_FRACTION  # one rule for when Fieller takes over

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Items:
    """One benchmark of one run, items in a fixed order: student (K, n), base (n,), reference (n,)."""

    ids: tuple[str, ...]
    student: np.ndarray
    base: np.ndarray
    reference: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ids)
        student = np.atleast_2d(np.asarray(self.student, dtype=float))
        object.__setattr__(self, "student", student)
        object.__setattr__(self, "base", np.asarray(self.base, dtype=float))
        object.__setattr__(self, "reference", np.asarray(self.reference, dtype=float))
        if student.shape[1] != n or self.base.shape != (n,) or self.reference.shape != (n,):
            raise ValueError(f"item scores do not match the {n} item ids")

    def reorder(self, ids: tuple[str, ...]) -> "Items":
        where = {item: i for i, item in enumerate(self.ids)}
        idx = np.asarray([where[i] for i in ids])
        return Items(ids, self.student[:, idx], self.base[idx], self.reference[idx])


@dataclass
class Interval:
    point: float | None
    low: float | None
    high: float | None
    resamples: int
    dropped: int = 0  # replicates with a degenerate reference-base gap
    undefined_reason: str | None = None
    extra: dict = field(default_factory=dict)

    interval_kind: str | None = None  # as metrics.pgr.Estimate: "bounded", or a Fieller set's kind
    interval_method: str | None = None
    excluded: list[float] | None = None  # two rays: the ends of the gap between them

    def to_dict(self) -> dict:
        return {"point": self.point, "low": self.low, "high": self.high, "resamples": self.resamples,
                "dropped": self.dropped, "undefined_reason": self.undefined_reason,
                "interval_kind": self.interval_kind, "interval_method": self.interval_method,
                "excluded": self.excluded, **self.extra}


@dataclass
class Means:
    """(resamples + 1, benchmarks) student/base/reference means of one run; row 0 is the point."""

    student: np.ndarray
    base: np.ndarray
    reference: np.ndarray
    gaps: np.ndarray  # (benchmarks,) the minimum reference-base gap: one item

    def pgr(self) -> np.ndarray:
        return _domain_pgr(self.student, self.base, self.reference, self.gaps)

    def linear(self) -> tuple[np.ndarray, np.ndarray]:
        """(A, D) per row: the domain PGR is A / D (metrics/fieller.py)."""
        terms = self.student.shape[1]
        return fieller.linear_parts(self.student - self.base, self.reference - self.base, 100.0 / terms)


def _domain_pgr(student_means: np.ndarray, base_means: np.ndarray, ref_means: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """(B, benchmarks) means -> (B,) domain PGR, NaN where a benchmark's gap is below its minimum."""
    diff = ref_means - base_means
    with np.errstate(divide="ignore", invalid="ignore"):
        per = 100.0 * (student_means - base_means) / diff
    per[np.abs(diff) + 1e-12 < gaps[None, :]] = np.nan
    return per.mean(axis=1)


def _replicates(
    runs: list[list[Items]], resamples: int, rng: np.random.Generator, seeds_too: bool
) -> list[Means]:
    """Each run's means on the point (row 0) and ``resamples`` replicates. One item draw per benchmark per
    replicate, shared by every run; each run's seeds drawn on their own."""
    benchmarks = len(runs[0])
    gaps = np.asarray([1.0 / len(items.ids) for items in runs[0]])
    shape = (resamples + 1, benchmarks)
    out = [Means(np.empty(shape), np.empty(shape), np.empty(shape), gaps) for _ in runs]
    for j in range(benchmarks):
        n = len(runs[0][j].ids)
        idx = rng.integers(0, n, size=(resamples, n))
        for r, run in enumerate(runs):
            items = run[j]
            k = items.student.shape[0]
            per_seed = np.concatenate([items.student.mean(axis=1)[None, :], items.student[:, idx].mean(axis=2).T])
            if seeds_too and k > 1:
                pick = rng.integers(0, k, size=(resamples, k))
                drawn = np.take_along_axis(per_seed[1:], pick, axis=1).mean(axis=1)
            else:
                drawn = per_seed[1:].mean(axis=1)
            out[r].student[:, j] = np.concatenate([[per_seed[0].mean()], drawn])
            out[r].base[:, j] = np.concatenate([[items.base.mean()], items.base[idx].mean(axis=1)])
            out[r].reference[:, j] = np.concatenate([[items.reference.mean()], items.reference[idx].mean(axis=1)])
    return out


def _interval(values: np.ndarray, a: np.ndarray, d: np.ndarray, resamples: int) -> dict:
    """Interval fields from row-0-is-the-point ratio values and their linear parts: percentiles over the
    defined replicates, or Fieller's set where too many are undefined (or the point is)."""
    kept = values[1:][np.isfinite(values[1:])]
    dropped = int(resamples - kept.size)
    if np.isfinite(values[0]) and kept.size and dropped <= MAX_DEGENERATE_FRACTION * resamples:
        low, high = _percentiles(kept)
        return {"low": low, "high": high, "dropped": dropped, "interval_kind": fieller.BOUNDED,
                "interval_method": "bootstrap percentile"}
    found = fieller.fieller_set(float(a[0]), float(d[0]), a[1:], d[1:], CONFIDENCE)
    low, high, excluded = found.hull()
    return {"low": low, "high": high, "dropped": dropped, "interval_kind": found.kind,
            "interval_method": "fieller", "excluded": excluded}


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def two_level(benchmarks: list[Items], resamples: int = 2000, seed: int = 0) -> Interval:
    """Mean PGR over the seeds with a (seeds, then items) bootstrap interval, and the variance split."""
    rng = np.random.default_rng(seed)
    means = _replicates([benchmarks], resamples, rng, seeds_too=True)[0]
    reps = means.pgr()
    a, d = means.linear()
    fields = _interval(reps, a, d, resamples)
    extra = variance_split(benchmarks, resamples, seed)
    if not np.isfinite(reps[0]):
        return Interval(None, resamples=resamples, undefined_reason="the reference-base gap is below one item",
                        extra=extra, **fields)
    return Interval(float(reps[0]), resamples=resamples, extra=extra, **fields)


def variance_split(benchmarks: list[Items], resamples: int = 2000, seed: int = 0) -> dict:
    """Seed variance (between the seeds' PGRs) against item variance (the item bootstrap's, per seed)."""
    k = benchmarks[0].student.shape[0]
    per_seed = []
    within = []
    for s in range(k):
        one = [Items(b.ids, b.student[s : s + 1], b.base, b.reference) for b in benchmarks]
        reps = _replicates([one], resamples, np.random.default_rng(seed + s), seeds_too=False)[0].pgr()
        per_seed.append(reps[0])
        finite = reps[1:][np.isfinite(reps[1:])]
        within.append(float(np.var(finite, ddof=1)) if finite.size > 1 else float("nan"))
    seeds_var = float(np.var(per_seed, ddof=1)) if k > 1 else 0.0
    items_var = float(np.nanmean(within)) if within else float("nan")
    total = seeds_var + items_var
    return {
        "seed_pgrs": [None if not np.isfinite(p) else float(p) for p in per_seed],
        "variance_seeds": seeds_var,
        "variance_items": items_var,
        "share_seeds": seeds_var / total if total > 0 else None,
    }


def paired_delta(
    run: list[Items], baseline: list[Items], *, margin: float = 0.0, resamples: int = 2000, seed: int = 0
) -> Interval:
    """PGR(run) - PGR(baseline) over the same items, with ``p_worse`` (the run is lower at all) and
    ``p_drop`` (it is lower by more than ``margin`` PGR points) as bootstrap one-sided p-values of the
    linear form, defined on every replicate however small the reference-base gap (module docstring)."""
    aligned = []
    for r, b in zip(run, baseline, strict=True):
        if set(r.ids) != set(b.ids):
            raise ValueError("the two runs cover different benchmark items")
        aligned.append(b.reorder(r.ids))
    shared = all(np.array_equal(r.base, b.base) and np.array_equal(r.reference, b.reference)
                 for r, b in zip(run, aligned))
    rng = np.random.default_rng(seed)
    mine, theirs = _replicates([run, aligned], resamples, rng, seeds_too=True)
    a, d = _delta_linear(mine, theirs, shared)
    sign = fieller.orientation(float(d[0]))
    delta = mine.pgr() - theirs.pgr()
    fields = _interval(delta, a, d, resamples)
    extra = {
        "p_worse": fieller.below_p(a[1:], d[1:], 0.0, sign),
        "p_drop": fieller.below_p(a[1:], d[1:], -margin, sign),
        "margin": margin,
        "linear_form": "shared S_0 and S_ref" if shared else "each run's own S_0 and S_ref",
    }
    if not np.isfinite(delta[0]):
        return Interval(None, resamples=resamples, extra=extra, undefined_reason=(
            "PGR is undefined in one of the runs (a reference-base gap below one item); the gate decides on "
            "the linear form"), **fields)
    return Interval(float(delta[0]), resamples=resamples, extra=extra, **fields)


def _delta_linear(run: Means, baseline: Means, shared: bool) -> tuple[np.ndarray, np.ndarray]:
    """(A, D) of PGR(run) - PGR(baseline) per row. Shared S_0 and S_ref: one denominator per benchmark and
    the numerators' difference, S_G,run - S_G,base. Otherwise both runs' terms over the product of all gaps."""
    terms = run.student.shape[1]
    if shared:
        return fieller.linear_parts(run.student - baseline.student, run.reference - run.base, 100.0 / terms)
    numerators = np.concatenate([run.student - run.base, -(baseline.student - baseline.base)], axis=1)
    denominators = np.concatenate([run.reference - run.base, baseline.reference - baseline.base], axis=1)
    return fieller.linear_parts(numerators, denominators, 100.0 / terms)


def item_test(run: Items, baseline: Items) -> dict:
    """Per benchmark: does the run's student score lower than the baseline's on the same items?"""
    from scipy import stats

    b = baseline.reorder(run.ids)
    x, y = run.student.mean(axis=0), b.student.mean(axis=0)
    binary = run.student.shape[0] == 1 and b.student.shape[0] == 1 and set(np.unique(np.r_[x, y])) <= {0.0, 1.0}
    out = {"delta": 100.0 * float(x.mean() - y.mean()), "items": len(run.ids)}
    if binary:
        lost = int(np.sum((y == 1) & (x == 0)))  # right before, wrong now
        gained = int(np.sum((y == 0) & (x == 1)))
        p = 1.0 if lost + gained == 0 else float(stats.binomtest(lost, lost + gained, 0.5, alternative="greater").pvalue)
        return {**out, "test": "mcnemar_exact", "lost": lost, "gained": gained, "p_worse": p}
    diff = x - y
    if not np.any(diff):
        return {**out, "test": "wilcoxon", "p_worse": 1.0}
    return {**out, "test": "wilcoxon", "p_worse": float(stats.wilcoxon(x, y, alternative="less").pvalue)}


def bonferroni(alpha: float, tests: int) -> float:
    """The level each of ``tests`` gated cases is held to, so the session's family-wise error is ``alpha``."""
    return alpha / max(1, tests)


def holm(p_values: dict[str, float], alpha: float = 0.05) -> dict[str, bool]:
    """Holm's step-down: name -> rejected (a significant drop) with family-wise error ``alpha``."""
    ordered = sorted(p_values.items(), key=lambda kv: kv[1])
    m = len(ordered)
    rejected: dict[str, bool] = {}
    still = True
    for i, (name, p) in enumerate(ordered):
        still = still and p <= alpha / (m - i)
        rejected[name] = still
    return rejected

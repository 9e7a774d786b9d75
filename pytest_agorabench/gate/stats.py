"""The statistics of the regression gate (ARCHITECTURE.md, Statistics).

A case's item scores, per benchmark: the student's for each training seed (K >= 1 rows), the base's and the
reference's (one row each: they do not depend on the student's seed). PGR per benchmark is
100 x (student - base) / (reference - base) on the benchmark's mean scores, the domain PGR the mean over
benchmarks (AGORABENCH.md section 1).

- ``two_level``: one run's PGR as the mean over its seeds, with an interval from a two-level bootstrap
  (resample the seeds, then the items) and the share of the variance that comes from the seeds.
- ``paired_delta``: PGR(run) - PGR(baseline) with a paired bootstrap: every replicate draws one set of items
  per benchmark, used by both runs (items are matched by id beforehand), and each run's seeds on their own.
  The p-values are the bootstrap's one-sided ones: the share of replicates in which the run is not worse.
- ``item_test``: per benchmark, McNemar's exact test for 0/1 items (one seed each), else the Wilcoxon
  signed-rank test, one-sided for "the run scores lower".
- ``bonferroni`` / ``holm``: the correction for the number of gated cases.
Replicates where a run's reference-base gap falls below one item are dropped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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

    def to_dict(self) -> dict:
        return {"point": self.point, "low": self.low, "high": self.high, "resamples": self.resamples,
                "dropped": self.dropped, "undefined_reason": self.undefined_reason, **self.extra}


def _domain_pgr(student_means: np.ndarray, base_means: np.ndarray, ref_means: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """(B, benchmarks) means -> (B,) domain PGR, NaN where a benchmark's gap is below its minimum."""
    diff = ref_means - base_means
    with np.errstate(divide="ignore", invalid="ignore"):
        per = 100.0 * (student_means - base_means) / diff
    per[np.abs(diff) + 1e-12 < gaps[None, :]] = np.nan
    return per.mean(axis=1)


def _replicates(
    runs: list[list[Items]], resamples: int, rng: np.random.Generator, seeds_too: bool
) -> np.ndarray:
    """(resamples + 1, runs) domain PGRs; row 0 is the point value (all items, all seeds). One item draw per
    benchmark per replicate, shared by every run; each run's seeds drawn on their own."""
    benchmarks = len(runs[0])
    gaps = np.asarray([1.0 / len(items.ids) for items in runs[0]])
    out = np.empty((resamples + 1, len(runs)))
    shape = (resamples + 1, benchmarks)
    s_means = [np.empty(shape) for _ in runs]
    b_means = [np.empty(shape) for _ in runs]
    r_means = [np.empty(shape) for _ in runs]
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
            s_means[r][:, j] = np.concatenate([[per_seed[0].mean()], drawn])
            b_means[r][:, j] = np.concatenate([[items.base.mean()], items.base[idx].mean(axis=1)])
            r_means[r][:, j] = np.concatenate([[items.reference.mean()], items.reference[idx].mean(axis=1)])
    for r in range(len(runs)):
        out[:, r] = _domain_pgr(s_means[r], b_means[r], r_means[r], gaps)
    return out


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def two_level(benchmarks: list[Items], resamples: int = 2000, seed: int = 0) -> Interval:
    """Mean PGR over the seeds with a (seeds, then items) bootstrap interval, and the variance split."""
    rng = np.random.default_rng(seed)
    reps = _replicates([benchmarks], resamples, rng, seeds_too=True)[:, 0]
    point = reps[0]
    if not np.isfinite(point):
        return Interval(None, None, None, resamples, undefined_reason="the reference-base gap is below one item")
    kept = reps[1:][np.isfinite(reps[1:])]
    low, high = _percentiles(kept) if kept.size else (None, None)
    extra = variance_split(benchmarks, resamples, seed)
    return Interval(float(point), low, high, resamples, resamples - kept.size, extra=extra)


def variance_split(benchmarks: list[Items], resamples: int = 2000, seed: int = 0) -> dict:
    """Seed variance (between the seeds' PGRs) against item variance (the item bootstrap's, per seed)."""
    k = benchmarks[0].student.shape[0]
    per_seed = []
    within = []
    for s in range(k):
        one = [Items(b.ids, b.student[s : s + 1], b.base, b.reference) for b in benchmarks]
        reps = _replicates([one], resamples, np.random.default_rng(seed + s), seeds_too=False)[:, 0]
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
    ``p_drop`` (it is lower by more than ``margin`` PGR points) as bootstrap one-sided p-values."""
    aligned = []
    for r, b in zip(run, baseline, strict=True):
        if set(r.ids) != set(b.ids):
            raise ValueError("the two runs cover different benchmark items")
        aligned.append(b.reorder(r.ids))
    rng = np.random.default_rng(seed)
    reps = _replicates([run, aligned], resamples, rng, seeds_too=True)
    delta = reps[:, 0] - reps[:, 1]
    if not np.isfinite(delta[0]):
        return Interval(None, None, None, resamples, undefined_reason="PGR is undefined in one of the runs "
                        "(a reference-base gap below one item)")
    kept = delta[1:][np.isfinite(delta[1:])]
    if kept.size < 0.95 * resamples:
        return Interval(float(delta[0]), None, None, resamples, resamples - kept.size,
                        "interval undefined: too many resamples with a degenerate reference-base gap")
    low, high = _percentiles(kept)
    extra = {
        "p_worse": float((np.sum(kept >= 0.0) + 1) / (kept.size + 1)),
        "p_drop": float((np.sum(kept >= -margin) + 1) / (kept.size + 1)),
        "margin": margin,
    }
    return Interval(float(delta[0]), low, high, resamples, resamples - kept.size, extra=extra)


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

"""PGR on a benchmark's own metric (an aggregate over items), recomputed on every bootstrap resample."""

import numpy as np
import pytest

from pytest_agorabench.metrics.pgr import benchmark_pgr, domain_pgr


def scores(values, prefix="q"):
    return [{"id": f"{prefix}{i}", "score": float(v)} for i, v in enumerate(values)]


def mean_aggregate(student, base, ref):
    matrix = np.array([student, base, ref], dtype=float)  # (3, n)

    def aggregate(weights):
        return (weights @ matrix.T) / weights.sum(axis=1, keepdims=True)

    return aggregate


def test_a_mean_aggregate_reproduces_the_mean_path_exactly():
    rng = np.random.default_rng(0)
    s, b, r = (rng.random(30) < p for p in (0.5, 0.2, 0.8))
    plain = benchmark_pgr(scores(s), scores(b), scores(r), resamples=500, seed=3)
    agg = benchmark_pgr(scores(s), scores(b), scores(r), resamples=500, seed=3, aggregate=mean_aggregate(s, b, r))
    assert (agg.point, agg.low, agg.high, agg.degenerate) == pytest.approx(
        (plain.point, plain.low, plain.high, plain.degenerate)
    )


def test_ratio_metric_point_by_hand():
    # Per item (wins, battles): student (3,3) (0,1) (1,2); base (0,3) (0,1) (0,2); reference (3,3) (1,1) (2,2)
    # Pooled: student 4/6, base 0, reference 1 -> PGR = 100 * (4/6 - 0) / (1 - 0) = 66.67 %.
    # The mean of item shares would give student (1 + 0 + 0.5) / 3 = 50 %: a different number.
    wins = np.array([[3, 0, 1], [0, 0, 0], [3, 1, 2]], float)
    battles = np.array([[3, 1, 2], [3, 1, 2], [3, 1, 2]], float)

    def pooled(weights):
        return (weights @ wins.T) / (weights @ battles.T)

    shares = wins / battles
    estimate = benchmark_pgr(scores(shares[0]), scores(shares[1]), scores(shares[2]), resamples=300, seed=1,
                             aggregate=pooled)
    assert estimate.point == pytest.approx(100 * 4 / 6)
    plain = benchmark_pgr(scores(shares[0]), scores(shares[1]), scores(shares[2]), resamples=0)
    assert plain.point == pytest.approx(50.0)
    assert estimate.low is not None and estimate.low <= estimate.point <= estimate.high


def test_aggregate_sees_columns_in_the_student_order():
    # Base and reference listed in another order: the aggregate still gets weights aligned to student ids.
    student = [{"id": "a", "score": 1.0}, {"id": "b", "score": 0.0}]
    base = [{"id": "b", "score": 0.0}, {"id": "a", "score": 0.0}]
    ref = [{"id": "b", "score": 1.0}, {"id": "a", "score": 1.0}]
    seen = []

    def aggregate(weights):
        seen.append(weights.shape)
        # student wins item "a" only: weight of column 0 is item "a"
        return np.stack([weights[:, 0] / weights.sum(1), np.zeros(len(weights)), np.ones(len(weights))], axis=1)

    estimate = benchmark_pgr(student, base, ref, resamples=50, seed=0, aggregate=aggregate)
    assert estimate.point == pytest.approx(50.0)
    assert seen[0] == (1, 2) and seen[1][1] == 2


def test_resamples_where_the_aggregate_is_undefined_count_as_degenerate():
    s, b, r = [1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]

    def fragile(weights):
        out = mean_aggregate(s, b, r)(weights)
        out[weights[:, 0] == 0, 0] = np.nan  # undefined whenever item 0 is not drawn
        return out

    estimate = benchmark_pgr(scores(s), scores(b), scores(r), resamples=400, seed=2, aggregate=fragile)
    assert estimate.degenerate > 0
    assert estimate.interval_method == "fieller" and estimate.undefined_reason is None


def test_domain_pgr_mixes_mean_and_aggregate_benchmarks():
    a = ([1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1])  # PGR 50 by means
    wins = np.array([[1, 0], [0, 0], [1, 3]], float)
    battles = np.array([[1, 3], [1, 3], [1, 3]], float)  # pooled: student 1/4, base 0, reference 4/4 -> PGR 25

    def pooled(weights):
        return (weights @ wins.T) / (weights @ battles.T)

    shares = wins / battles
    per_benchmark = {
        "mean": tuple(scores(v) for v in a),
        "pooled": tuple(scores(v, "p") for v in shares),
    }
    estimate = domain_pgr(per_benchmark, resamples=200, seed=0, aggregates={"pooled": pooled})
    assert estimate.point == pytest.approx((50 + 25) / 2)
    legacy = domain_pgr(per_benchmark, resamples=0)
    # Means of item shares instead: student (1 + 0) / 2 = 0.5, reference 1 -> PGR 50 on that benchmark.
    assert legacy.point == pytest.approx((50 + 50) / 2)


def test_aggregate_must_return_three_columns():
    with pytest.raises(ValueError, match=r"shape \(k, 3\)"):
        benchmark_pgr(scores([1]), scores([0]), scores([1]), aggregate=lambda w: np.ones((1, 2)))

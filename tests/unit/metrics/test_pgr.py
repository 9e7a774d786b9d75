import math

import numpy as np
import pytest

from pytest_agorabench.metrics.pgr import (
    MAX_DEGENERATE_FRACTION,
    Estimate,
    benchmark_pgr,
    domain_pgr,
    mean_score,
    pgr,
    pgr_with_reason,
)


def scores(values, prefix="q"):
    return [{"id": f"{prefix}{i}", "score": float(v)} for i, v in enumerate(values)]


def test_worked_check_from_the_paper():
    # AGORABENCH.md section 1: MATH base 19.84, student 28.08, reference 34.60 -> 55.83 %.
    assert round(pgr(28.08, 19.84, 34.60), 2) == 55.83


@pytest.mark.parametrize(
    "student, base, reference, expected",
    [(0.5, 0.0, 1.0, 50.0), (1.0, 0.0, 1.0, 100.0), (0.0, 0.0, 1.0, 0.0), (-0.1, 0.1, 0.5, -50.0),
     (0.9, 0.1, 0.5, 200.0)],
)
def test_pgr_by_hand(student, base, reference, expected):
    assert pgr(student, base, reference) == pytest.approx(expected)


def test_pgr_undefined_below_min_gap():
    assert pgr(0.5, 0.3, 0.3) is None
    value, reason = pgr_with_reason(0.5, 0.30, 0.31, min_gap=0.05)
    assert value is None and "below the minimum gap" in reason
    # A gap of exactly the minimum is defined, floating-point noise included.
    assert pgr(0.3, 0.1, 0.1 + 1 / 30, min_gap=1 / 30) == pytest.approx(600.0)


def test_mean_score_is_percent():
    assert mean_score(scores([1, 0, 1, 1])) == 75.0
    assert mean_score({"a": 1.0, "b": 0.0}) == 50.0


def test_benchmark_point_by_hand():
    # 10 items: base 2/10, reference 7/10, student 5/10 -> 100 * 0.3 / 0.5 = 60 %.
    base = scores([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    ref = scores([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    student = scores([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    estimate = benchmark_pgr(student, base, ref, resamples=2000, seed=1)
    assert estimate.point == pytest.approx(60.0)
    assert estimate.low <= estimate.point <= estimate.high
    assert estimate.resamples == 2000 and estimate.undefined_reason is None


def _random_scores(rng, n, p, prefix="q"):
    return scores(rng.random(n) < p, prefix)


def test_interval_contains_point_and_narrows_with_more_items():
    rng = np.random.default_rng(7)
    widths = []
    for n in (100, 2000):
        est = benchmark_pgr(_random_scores(rng, n, 0.35), _random_scores(rng, n, 0.2),
                            _random_scores(rng, n, 0.5), resamples=2000, seed=3)
        assert est.low < est.point < est.high
        widths.append(est.high - est.low)
    assert widths[1] < widths[0] / 2


def test_deterministic_given_seed():
    rng = np.random.default_rng(0)
    data = [_random_scores(rng, 200, p) for p in (0.4, 0.2, 0.6)]
    first = benchmark_pgr(*data, resamples=500, seed=11)
    assert benchmark_pgr(*data, resamples=500, seed=11) == first
    assert benchmark_pgr(*data, resamples=500, seed=12) != first


def test_alignment_is_by_id_not_position():
    base = scores([0, 0, 1, 0])
    ref = scores([1, 1, 1, 0])
    student = scores([1, 0, 1, 0])
    shuffled = [student[3], student[1], student[0], student[2]]
    a = benchmark_pgr(student, base, ref, resamples=300, seed=5)
    b = benchmark_pgr(shuffled, base, ref, resamples=300, seed=5)
    assert a.point == b.point == pytest.approx(50.0)
    as_mapping = {s["id"]: s["score"] for s in student}
    assert benchmark_pgr(as_mapping, base, ref, resamples=0).point == pytest.approx(50.0)


def test_mismatched_ids_raise():
    with pytest.raises(ValueError, match="reference scores cover different items.*1 missing"):
        benchmark_pgr(scores([1, 0, 1]), scores([0, 0, 1]), scores([1, 1]), resamples=10)
    with pytest.raises(ValueError, match="repeat item ids"):
        benchmark_pgr(scores([1]) * 2, scores([0]), scores([1]), resamples=10)
    with pytest.raises(ValueError, match="no item scores"):
        benchmark_pgr([], [], [], resamples=10)
    with pytest.raises(ValueError, match="finite"):
        benchmark_pgr(scores([math.nan]), scores([0]), scores([1]), resamples=10)


def test_undefined_when_reference_equals_base():
    est = benchmark_pgr(scores([1, 1, 0]), scores([1, 0, 0]), scores([0, 1, 0]), resamples=100, seed=0)
    assert est.point is None and est.low is None and est.high is None
    assert "below the minimum gap" in est.undefined_reason


def test_many_degenerate_resamples_give_fiellers_set_instead_of_undefined():
    # Reference beats base on a single item of 20: many resamples leave it out and tie. The gap is not
    # clearly above zero, so no value of PGR can be ruled out: Fieller's set is every value, said so.
    base = scores([0] * 20)
    ref = scores([1] + [0] * 19)
    student = scores([1] + [0] * 19)
    est = benchmark_pgr(student, base, ref, resamples=1000, seed=2)
    assert est.point == pytest.approx(100.0)
    assert est.degenerate > MAX_DEGENERATE_FRACTION * 1000
    assert (est.interval_method, est.interval_kind) == ("fieller", "everything")
    assert est.low is None and est.high is None and est.undefined_reason is None


def test_few_degenerate_resamples_are_dropped_and_counted():
    # Reference beats base on 4 items of 40: a resample ties with probability (36/40)^40, about 1.5 %.
    base = scores([0] * 40)
    ref = scores([1] * 4 + [0] * 36)
    student = scores([1] * 2 + [0] * 38)
    est = benchmark_pgr(student, base, ref, resamples=2000, seed=1)
    assert 0 < est.degenerate <= MAX_DEGENERATE_FRACTION * 2000
    assert est.point == pytest.approx(50.0)
    assert est.low is not None and est.low <= est.point <= est.high
    assert (est.interval_kind, est.interval_method) == ("bounded", "bootstrap percentile")


def test_min_gap_defaults_to_one_item():
    # Gap of exactly one item of ten: defined. With a two-item minimum: undefined.
    base = scores([0] * 10)
    ref = scores([1] + [0] * 9)
    assert benchmark_pgr(ref, base, ref, resamples=0).point == pytest.approx(100.0)
    assert benchmark_pgr(ref, base, ref, resamples=0, min_gap=0.2).point is None


def test_zero_resamples_gives_point_only():
    est = benchmark_pgr(scores([1, 0]), scores([0, 0]), scores([1, 1]), resamples=0)
    assert est == Estimate(50.0, None, None, "interval not computed (resamples=0)", 0)


def test_large_bootstrap_is_vectorised():
    # 10,000 resamples over 5,000 items: must not be a Python loop (runs in about a second).
    rng = np.random.default_rng(0)
    data = [_random_scores(rng, 5000, p) for p in (0.28, 0.2, 0.35)]
    est = benchmark_pgr(*data, resamples=10_000, seed=0)
    assert est.resamples == 10_000 and est.low < est.point < est.high


def test_domain_mean_of_pgrs_by_hand():
    # gsm8k PGR 60 %, math PGR 20 % -> domain 40 %.
    gsm8k = (scores([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]), scores([1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
             scores([1, 1, 1, 1, 1, 1, 1, 0, 0, 0]))
    math_ = (scores([1, 1, 0, 0, 0], "m"), scores([1, 0, 0, 0, 0], "m"), scores([1, 1, 1, 1, 1, 1][:5], "m"))
    assert benchmark_pgr(*math_, resamples=0).point == pytest.approx(25.0)
    est = domain_pgr({"gsm8k": gsm8k, "math": math_}, resamples=1000, seed=3)
    assert est.point == pytest.approx((60.0 + 25.0) / 2)
    assert est.low <= est.point <= est.high
    assert domain_pgr({"gsm8k": gsm8k, "math": math_}, resamples=1000, seed=3) == est


def test_domain_pgr_of_means_by_hand():
    gsm8k = (scores([1, 1, 1, 1, 0]), scores([1, 0, 0, 0, 0]), scores([1, 1, 1, 1, 1]))  # .8 .2 1.0
    math_ = (scores([1, 0, 0, 0, 0], "m"), scores([0] * 5, "m"), scores([1, 1, 1, 0, 0], "m"))  # .2 0 .6
    est = domain_pgr({"gsm8k": gsm8k, "math": math_}, resamples=500, seed=1, mode="pgr_of_means")
    # means: student .5, base .1, reference .8 -> 100 * .4 / .7
    assert est.point == pytest.approx(400 / 7)
    with pytest.raises(ValueError, match="mode"):
        domain_pgr({"gsm8k": gsm8k}, resamples=10, mode="median")


def test_domain_undefined_names_the_benchmark():
    ok = (scores([1, 0]), scores([0, 0]), scores([1, 1]))
    tie = (scores([1, 0], "m"), scores([0, 1], "m"), scores([1, 0], "m"))
    est = domain_pgr({"gsm8k": ok, "math": tie}, resamples=100, seed=0)
    assert est.point is None and est.undefined_reason.startswith("math: ")

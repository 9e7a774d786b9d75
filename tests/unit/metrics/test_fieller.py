import numpy as np
import pytest

from pytest_agorabench.metrics import fieller
from pytest_agorabench.metrics.fieller import below_p, fieller_set, linear_parts


def _reps(a_mean, d_mean, a_sd, d_sd, corr=0.0, size=20000, seed=0):
    rng = np.random.default_rng(seed)
    cov = [[a_sd**2, corr * a_sd * d_sd], [corr * a_sd * d_sd, d_sd**2]]
    draws = rng.multivariate_normal([a_mean, d_mean], cov, size=size)
    return draws[:, 0], draws[:, 1]


def test_linear_parts_are_the_mean_of_ratios_over_a_common_denominator():
    rng = np.random.default_rng(1)
    num, den = rng.normal(size=(50, 3)), rng.uniform(0.2, 1.0, size=(50, 3))
    a, d = linear_parts(num, den, 100.0 / 3)
    assert np.allclose(a / d, 100.0 * (num / den).mean(axis=1))


def test_a_denominator_far_from_zero_gives_the_textbook_bounded_interval():
    a_reps, d_reps = _reps(50.0, 1.0, 5.0, 0.01)
    found = fieller_set(50.0, 1.0, a_reps, d_reps)
    assert found.kind == "bounded"
    # D nearly fixed: the interval is A's normal interval divided by D.
    assert found.low == pytest.approx(50.0 - 1.96 * 5.0, abs=0.3)
    assert found.high == pytest.approx(50.0 + 1.96 * 5.0, abs=0.3)


def test_the_bounds_solve_fiellers_quadratic_by_hand():
    a_reps, d_reps = _reps(3.0, 2.0, 1.0, 0.5, corr=0.3)
    found = fieller_set(3.0, 2.0, a_reps, d_reps)
    cov = np.cov(a_reps, d_reps)
    z2 = 1.959963984540054**2
    for x in (found.low, found.high):  # both ends are roots: (A - x D)^2 = z^2 Var(A - x D)
        assert (3.0 - 2.0 * x) ** 2 == pytest.approx(z2 * (cov[0, 0] - 2 * x * cov[0, 1] + x * x * cov[1, 1]))
    assert found.contains(1.5) and not found.contains(found.high + 1.0)


def test_a_noisy_denominator_with_a_clear_numerator_gives_two_rays():
    # A is clearly positive, D is not clearly away from zero: large ratios of either sign stay possible,
    # small ones are ruled out.
    a_reps, d_reps = _reps(10.0, 0.5, 1.0, 0.5)
    found = fieller_set(10.0, 0.5, a_reps, d_reps)
    assert found.kind == "two rays"
    assert found.low < 0 < found.high and not found.contains(0.0)
    assert found.contains(-1e6) and found.contains(1e6) and found.contains(20.0)
    assert found.hull() == (None, None, [found.low, found.high])


def test_both_noisy_gives_everything_and_nothing_to_measure_gives_everything():
    a_reps, d_reps = _reps(0.5, 0.1, 1.0, 1.0)
    assert fieller_set(0.5, 0.1, a_reps, d_reps).kind == "everything"
    assert fieller_set(0.0, 0.0, np.zeros(100), np.zeros(100)).kind == "everything"
    assert fieller_set(1.0, 0.0, np.ones(100), np.zeros(100)).kind == "empty"
    assert fieller_set(1.0, 1.0, np.array([1.0]), np.array([1.0])).kind == "everything"


def test_below_p_needs_no_division_and_an_identical_pair_never_shows_a_drop():
    # A run identical to its baseline: A is zero on every replicate, D noisy and sometimes negative.
    d_reps = np.random.default_rng(0).normal(0.05, 0.05, 5000)
    a_reps = np.zeros_like(d_reps)
    assert below_p(a_reps, d_reps, 0.0, 1.0) == 1.0
    flipped = np.mean(d_reps < 0)
    assert below_p(a_reps, d_reps, -5.0, 1.0) == pytest.approx(1.0 - flipped, abs=1e-3)
    # A clear drop: the ratio A / D sits near -50 on every replicate.
    assert below_p(-50.0 * d_reps + 0.0, d_reps, -5.0, fieller.orientation(0.05)) == pytest.approx(1 / 5001 + flipped, abs=2e-3)


def test_fiellers_set_covers_a_small_gap_ratio_at_its_level():
    # 20 items, reference 15 points above the base: the set covers the true PGR in about 95 % of data sets.
    rng = np.random.default_rng(7)
    n, covered, trials = 20, 0, 300
    for _ in range(trials):
        base = rng.random(n) < 0.10
        ref = rng.random(n) < 0.25
        student = rng.random(n) < 0.175  # true PGR 50
        idx = rng.integers(0, n, size=(1000, n))
        s, b, r = student[idx].mean(1), base[idx].mean(1), ref[idx].mean(1)
        a_reps, d_reps = linear_parts((s - b)[:, None], (r - b)[:, None], 100.0)
        a0, d0 = linear_parts(np.array([[student.mean() - base.mean()]]), np.array([[ref.mean() - base.mean()]]), 100.0)
        covered += fieller_set(float(a0[0]), float(d0[0]), a_reps, d_reps).contains(50.0)
    assert covered / trials >= 0.9

"""Win-rate arithmetic on hand-made judgment tables, against answers computed independently (by hand,
closed forms, or a brute-force fit of the same likelihood written out separately here)."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from pytest_agorabench.evaluation.win_rates import (
    arena_battles,
    arena_interval,
    arena_scores,
    bootstrap_weights,
    fit_length_controlled,
    raw_win_rates,
)


def logit(p):
    return math.log(p / (1 - p))


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_raw_win_rate_counts_ties_half():
    # wins 1, loss 0, tie 0.5, win 1 -> 2.5 / 4
    assert raw_win_rates(np.array([[1, 0, 0.5, 1]]))[0, 0] == pytest.approx(0.625)


def test_lc_equals_raw_when_lengths_never_differ():
    # tanh(0) = 0: the length term has nothing to explain, so the unpenalised fit gives theta = logit(raw).
    y = np.array([[1, 1, 1, 0, 0, 1, 0, 1, 1, 0]], float)  # 6 wins of 10
    fit = fit_length_controlled(y, np.zeros_like(y), instruction_term=False, l2_theta=0, l2_phi=0)
    assert fit.lc[0, 0] == pytest.approx(0.6, abs=1e-9)
    assert fit.theta[0, 0] == pytest.approx(logit(0.6), abs=1e-8)


def test_lc_removes_a_length_advantage_closed_form():
    # 15 answers longer than the reference (+100 chars) win 9 times; 5 shorter ones (-100) win once.
    # Raw: 10/20 = 50 %. The length feature takes two values +-t, so the saturated fit reproduces both
    # groups' rates: theta + phi t = logit(0.6), theta - phi t = logit(0.2), and at zero length
    # difference LC = sigmoid((logit 0.6 + logit 0.2) / 2) = sigmoid((0.405465 - 1.386294) / 2) = 0.379796.
    y = np.array([[1] * 9 + [0] * 6 + [1] * 1 + [0] * 4], float)
    d = np.array([[100.0] * 15 + [-100.0] * 5])
    fit = fit_length_controlled(y, d, instruction_term=False, l2_theta=0, l2_phi=0)
    assert fit.raw[0, 0] == pytest.approx(0.5)
    assert fit.lc[0, 0] == pytest.approx(0.379796, abs=1e-6)
    assert fit.lc[0, 0] == pytest.approx(sigmoid((logit(0.6) + logit(0.2)) / 2), abs=1e-10)
    assert fit.phi[0, 0] > 0  # longer answers win more often


def test_lc_symmetric_groups_by_hand():
    # +100: 8 of 10 wins; -100: 4 of 10. logit 0.8 = 1.386294, logit 0.4 = -0.405465 -> LC = sigmoid(0.490415)
    y = np.array([[1] * 8 + [0] * 2 + [1] * 4 + [0] * 6], float)
    d = np.array([[100.0] * 10 + [-100.0] * 10])
    fit = fit_length_controlled(y, d, instruction_term=False, l2_theta=0, l2_phi=0)
    assert fit.lc[0, 0] == pytest.approx(0.620204, abs=1e-6)


def _brute_force_lc(y, d, sigma, weights, l2_theta, l2_phi, l2_gamma):
    """The same penalised likelihood, written out with loops and minimised by a general-purpose optimiser."""
    M, n = y.shape

    def objective(params):
        theta, phi, gamma = params[:M], params[M : 2 * M], params[2 * M :]
        total = 0.0
        for m in range(M):
            for x in range(n):
                eta = theta[m] + phi[m] * math.tanh(d[m, x] / sigma) + gamma[x]
                p = 1 / (1 + math.exp(-eta))
                total -= weights[x] * (y[m, x] * math.log(p) + (1 - y[m, x]) * math.log(1 - p))
        return total + 0.5 * (l2_theta * sum(theta**2) + l2_phi * sum(phi**2) + l2_gamma * sum(gamma**2))

    best = minimize(objective, np.zeros(2 * M + n), method="BFGS", options={"gtol": 1e-9, "maxiter": 10_000})
    theta, gamma = best.x[:M], best.x[2 * M :]
    return [sum(weights[x] * sigmoid(theta[m] + gamma[x]) for x in range(n)) / sum(weights) for m in range(M)]


def test_lc_with_instruction_term_matches_a_brute_force_fit():
    # Three models on six instructions; instruction 2 is hard for everyone, lengths vary.
    y = np.array(
        [
            [1, 1, 0, 1, 0.5, 1],
            [0, 1, 0, 0, 0, 1],
            [1, 1, 0, 1, 1, 1],
        ],
        float,
    )
    d = np.array(
        [
            [120, -30, 10, 80, 0, 200],
            [-50, 40, -100, -20, -60, 10],
            [30, 0, 60, -10, 90, 150],
        ],
        float,
    )
    weights = np.array([1, 2, 1, 0, 1, 1], float)  # a bootstrap draw: item 1 twice, item 3 not at all
    fit = fit_length_controlled(y, d, weights, sigma=75.0)
    expected = _brute_force_lc(y, d, 75.0, weights, 1e-3, 0.1, 1.0)
    assert fit.lc[0] == pytest.approx(expected, abs=1e-5)
    # The hard instruction gets a low difficulty term; the unused one shrinks to zero.
    assert fit.gamma[0, 2] < fit.gamma[0, 0]
    assert fit.gamma[0, 3] == pytest.approx(0.0, abs=1e-9)


def test_batched_fits_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    y = (rng.random((3, 15)) < 0.5).astype(float)
    d = rng.normal(0, 80, size=(3, 15))
    w = bootstrap_weights(15, 5, seed=1)
    batched = fit_length_controlled(y, d, w, sigma=80.0).lc
    single = np.vstack([fit_length_controlled(y, d, w[k], sigma=80.0).lc for k in range(5)])
    assert batched == pytest.approx(single, abs=1e-9)


def test_bootstrap_weights_equal_duplicated_rows_without_instruction_term():
    y = np.array([[1, 0, 1, 0, 1]], float)
    d = np.array([[50.0, -20.0, 10.0, -40.0, 5.0]])
    w = np.array([2.0, 0.0, 1.0, 1.0, 1.0])
    weighted = fit_length_controlled(y, d, w, instruction_term=False, sigma=30.0)
    idx = [0, 0, 2, 3, 4]
    expanded = fit_length_controlled(y[:, idx], d[:, idx], instruction_term=False, sigma=30.0)
    assert weighted.lc[0, 0] == pytest.approx(expanded.lc[0, 0], abs=1e-9)


def test_a_model_that_always_loses_gets_a_finite_near_zero_lc():
    y = np.zeros((1, 12))
    fit = fit_length_controlled(y, np.linspace(-50, 50, 12)[None])
    assert 0 < fit.lc[0, 0] < 0.01 and np.isfinite(fit.theta).all()


def test_bad_tables_are_rejected():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        fit_length_controlled(np.array([[2.0]]), np.array([[0.0]]))
    with pytest.raises(ValueError, match="shape"):
        fit_length_controlled(np.array([[1.0, 0.0]]), np.array([[0.0]]))
    with pytest.raises(ValueError, match="l2_gamma"):
        fit_length_controlled(np.array([[1.0]]), np.array([[0.0]]), l2_gamma=0)


# ---------------------------------------------------------------- Arena-Hard


def test_arena_hard_by_hand():
    # Question 1: game 1 model "much better" (3 wins of 3 battles), game 2 "better" (1 of 1).
    # Question 2: a tie (0.5 of 1) and a loss (0 of 1).
    # Question 3: the baseline much better (0 of 3) and an unusable game (skipped).
    # Pooled: (3 + 1 + 0.5 + 0 + 0) / (3 + 1 + 1 + 1 + 3) = 4.5 / 9 = 50 %.
    games = [["much_better", "better"], ["tie", "worse"], ["much_worse", None]]
    table = [arena_battles(g) for g in games]
    assert table == [(4.0, 4.0), (0.5, 2.0), (0.0, 3.0)]
    wins = np.array([[w for w, _ in table]])
    battles = np.array([[b for _, b in table]])
    assert arena_scores(wins, battles)[0, 0] == pytest.approx(0.5)
    # Not the mean of per-question shares (1, 0.25, 0) / 3 = 41.7 %: strong verdicts weigh more.
    assert np.mean(wins / battles) == pytest.approx(5 / 12)


def test_arena_battles_rejects_unknown_verdicts():
    with pytest.raises(ValueError, match="unknown verdict"):
        arena_battles(["A>>B"])


def test_arena_interval_matches_a_plain_loop_over_the_same_resamples():
    wins = np.array([4.0, 0.5, 0.0, 2.0, 1.0, 3.0])
    battles = np.array([4.0, 2.0, 3.0, 2.0, 2.0, 6.0])
    low, high = arena_interval(wins, battles, resamples=400, seed=7)
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 6, size=(400, 6))
    values = sorted(wins[row].sum() / battles[row].sum() for row in idx)
    assert low == pytest.approx(np.quantile(values, 0.025))
    assert high == pytest.approx(np.quantile(values, 0.975))
    assert low <= wins.sum() / battles.sum() <= high


def test_arena_interval_is_none_without_games():
    assert arena_interval(np.array([]), np.array([])) is None

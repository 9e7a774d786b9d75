"""Win-rate arithmetic of the two judged benchmarks (AGORABENCH.md section 4), on judgment tables.

AlpacaEval 2.0: each item has one judgment of the model's answer against the reference answer, outcome
1 (model preferred), 0.5 (tie) or 0. The raw win rate is the mean outcome. The length-controlled (LC) win
rate fits a logistic model of the outcome on the length difference and the instruction, then predicts
with the length difference set to zero:

    logit P(model m wins on item x) = theta_m + phi_m * tanh(dlen_mx / sigma) + gamma_x
    LC_m = mean over x of sigmoid(theta_m + gamma_x)

``dlen`` is the model's answer length minus the reference's (characters), ``sigma`` its standard deviation
over the table. ``gamma_x`` is the instruction's difficulty, shared by all models judged on the same items
(AlpacaEval takes it from its leaderboard's models; we estimate it from the models of one case: the
student, the base and the reference). Penalties (ours, documented): ridge ``l2_gamma`` on gamma (a standard
normal prior: three judgments per item cannot pin it down alone), a small ``l2_phi`` on the length slope
and a tiny ``l2_theta`` so a model that loses every judgment gets a finite, near-zero LC rather than a
diverging fit.

Arena-Hard: each item is judged twice, once per answer order, on a five-level scale. Strong verdicts
count as three battles, the others as one; a tie is half a win for each side. Against a single baseline
the Bradley-Terry win rate is then the pooled ratio (wins + ties / 2) / battles over all usable games.

Every metric takes item weights (k, n): bootstrap counts, one row per resample (all ones for the point
estimate), so the same function gives the point value and the bootstrap replicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

L2_THETA = 1e-3
L2_PHI = 0.1
L2_GAMMA = 1.0
_MAX_ITER = 100
_TOL = 1e-10
STRONG_WEIGHT = 3.0  # Arena-Hard: a "much better" verdict counts as three battles


def _as_weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    if weights is None:
        return np.ones((1, n))
    w = np.asarray(weights, dtype=float)
    if w.ndim == 1:
        w = w[None, :]
    if w.shape[1] != n:
        raise ValueError(f"weights cover {w.shape[1]} items, the table has {n}")
    return w


def raw_win_rates(outcomes: np.ndarray, weights: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
    """(k, M) weighted mean outcome per model; ``outcomes`` is (M, n) in [0, 1]."""
    y = np.atleast_2d(np.asarray(outcomes, dtype=float))
    m = np.ones_like(y) if mask is None else np.asarray(mask, dtype=float)
    w = _as_weights(weights, y.shape[1])
    num = np.einsum("kn,mn->km", w, m * np.nan_to_num(y))
    den = np.einsum("kn,mn->km", w, m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


@dataclass
class LengthControlledFit:
    lc: np.ndarray  # (k, M) win rates at zero length difference
    raw: np.ndarray  # (k, M)
    theta: np.ndarray  # (k, M)
    phi: np.ndarray  # (k, M)
    gamma: np.ndarray | None  # (k, n), None without the instruction term
    sigma: float
    iterations: int


def length_scale(length_diff: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Standard deviation of the length differences (1 when they are all equal: tanh(0) = 0 anyway)."""
    d = np.asarray(length_diff, dtype=float)
    values = d[np.asarray(mask, dtype=bool)] if mask is not None else d.ravel()
    sd = float(np.std(values)) if values.size else 0.0
    return sd if sd > 0 else 1.0


def _loss(eta: np.ndarray, y: np.ndarray, cw: np.ndarray, params: list[tuple[np.ndarray, float]]) -> np.ndarray:
    # -y log p - (1-y) log(1-p) = log(1 + e^eta) - y eta, stable for any eta.
    data = np.einsum("kmn->k", cw * (np.logaddexp(0.0, eta) - y * eta))
    for values, lam in params:
        data = data + 0.5 * lam * (values * values).reshape(values.shape[0], -1).sum(axis=1)
    return data


def fit_length_controlled(
    outcomes: np.ndarray,
    length_diff: np.ndarray,
    weights: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    *,
    instruction_term: bool = True,
    l2_theta: float = L2_THETA,
    l2_phi: float = L2_PHI,
    l2_gamma: float = L2_GAMMA,
    sigma: float | None = None,
) -> LengthControlledFit:
    """Penalised maximum-likelihood fit of the LC model, for k weightings at once (batched Newton).

    ``outcomes`` and ``length_diff`` are (M, n): M models judged on the same n items. ``mask`` (M, n)
    marks usable judgments. The gamma block of the Hessian is diagonal, so each Newton step solves only
    a 2M x 2M system (Schur complement): cost grows linearly with the number of items.
    """
    y = np.atleast_2d(np.asarray(outcomes, dtype=float))
    M, n = y.shape
    d = np.atleast_2d(np.asarray(length_diff, dtype=float))
    if d.shape != y.shape:
        raise ValueError(f"length_diff has shape {d.shape}, outcomes {y.shape}")
    msk = np.ones_like(y) if mask is None else np.asarray(mask, dtype=float)
    y = np.where(msk > 0, np.nan_to_num(y), 0.0)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("outcomes must lie in [0, 1]")
    w = _as_weights(weights, n)
    k = w.shape[0]
    if instruction_term and l2_gamma <= 0:
        raise ValueError("the instruction term needs l2_gamma > 0 (one judgment per model and item)")
    scale = length_scale(d, msk) if sigma is None else float(sigma)
    t = np.tanh(d / scale) * msk  # (M, n)
    cw = w[:, None, :] * msk[None, :, :]  # (k, M, n) observation weights
    yk = y[None, :, :]

    theta = np.zeros((k, M))
    phi = np.zeros((k, M))
    gamma = np.zeros((k, n)) if instruction_term else None
    eye = np.arange(M)

    def linear(th: np.ndarray, ph: np.ndarray, ga: np.ndarray | None) -> np.ndarray:
        eta = th[:, :, None] + ph[:, :, None] * t[None]
        return eta if ga is None else eta + ga[:, None, :]

    def objective(th, ph, ga):
        params = [(th, l2_theta), (ph, l2_phi)] + ([(ga, l2_gamma)] if ga is not None else [])
        return _loss(linear(th, ph, ga), yk, cw, params)

    current = objective(theta, phi, gamma)
    iterations = 0
    for iterations in range(1, _MAX_ITER + 1):
        p = 1.0 / (1.0 + np.exp(-linear(theta, phi, gamma)))
        r = cw * (p - yk)  # (k, M, n)
        h = cw * p * (1.0 - p)
        g_theta = r.sum(axis=2) + l2_theta * theta
        g_phi = (r * t).sum(axis=2) + l2_phi * phi
        # A: block-diagonal 2x2 per model, laid out as [theta_1..theta_M, phi_1..phi_M].
        A = np.zeros((k, 2 * M, 2 * M))
        A[:, eye, eye] = h.sum(axis=2) + l2_theta
        A[:, M + eye, M + eye] = (h * t * t).sum(axis=2) + l2_phi
        A[:, eye, M + eye] = A[:, M + eye, eye] = (h * t).sum(axis=2)
        g_a = np.concatenate([g_theta, g_phi], axis=1)
        if gamma is not None:
            g_gamma = r.sum(axis=1) + l2_gamma * gamma  # (k, n)
            D = h.sum(axis=1) + l2_gamma  # diagonal of the gamma block
            B = np.concatenate([h, h * t], axis=1)  # (k, 2M, n): couplings of theta/phi with gamma
            S = A - np.einsum("kin,kjn->kij", B / D[:, None, :], B)
            rhs = g_a - np.einsum("kin,kn->ki", B, g_gamma / D)
        else:
            S, rhs = A, g_a
        S = S + 1e-12 * np.eye(2 * M)[None]
        step_a = np.linalg.solve(S, rhs[..., None])[..., 0]
        step_gamma = None
        if gamma is not None:
            step_gamma = (g_gamma - np.einsum("kin,ki->kn", B, step_a)) / D
        # Backtracking per weighting: halve the step where the objective would rise.
        size = np.ones(k)
        for _ in range(30):
            th = theta - size[:, None] * step_a[:, :M]
            ph = phi - size[:, None] * step_a[:, M:]
            ga = None if gamma is None else gamma - size[:, None] * step_gamma
            trial = objective(th, ph, ga)
            worse = trial > current + 1e-12 * np.maximum(1.0, np.abs(current))
            if not worse.any():
                break
            size = np.where(worse, size / 2, size)
        theta, phi, gamma, current = th, ph, ga, np.minimum(trial, current)
        biggest = np.abs(size[:, None] * step_a).max()
        if step_gamma is not None and step_gamma.size:
            biggest = max(biggest, float(np.abs(size[:, None] * step_gamma).max()))
        if biggest < _TOL:
            break

    zero_len = theta[:, :, None] + (gamma[:, None, :] if gamma is not None else 0.0)  # (k, M, n or 1)
    pred = 1.0 / (1.0 + np.exp(-zero_len))
    pred = np.broadcast_to(pred, (k, M, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        lc = (cw * pred).sum(axis=2) / cw.sum(axis=2)
    raw = raw_win_rates(y, w, msk)
    return LengthControlledFit(lc, raw, theta, phi, gamma, scale, iterations)


# ---------------------------------------------------------------- Arena-Hard


def arena_battles(model_verdicts: list[str | None]) -> tuple[float, float]:
    """(wins, battles) of the model from its games' verdicts, each written from the model's side:
    "much_better", "better", "tie", "worse", "much_worse", or None for an unusable game (skipped)."""
    table = {
        "much_better": (STRONG_WEIGHT, STRONG_WEIGHT),
        "better": (1.0, 1.0),
        "tie": (0.5, 1.0),
        "worse": (0.0, 1.0),
        "much_worse": (0.0, STRONG_WEIGHT),
    }
    wins = battles = 0.0
    for verdict in model_verdicts:
        if verdict is None:
            continue
        if verdict not in table:
            raise ValueError(f"unknown verdict {verdict!r}; expected one of {', '.join(table)} or None")
        w, b = table[verdict]
        wins += w
        battles += b
    return wins, battles


def arena_scores(wins: np.ndarray, battles: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(k, M) pooled win rates: sum of weighted wins over sum of weighted battles; ``wins`` is (M, n)."""
    wi = np.atleast_2d(np.asarray(wins, dtype=float))
    ba = np.atleast_2d(np.asarray(battles, dtype=float))
    w = _as_weights(weights, wi.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("kn,mn->km", w, wi) / np.einsum("kn,mn->km", w, ba)


def bootstrap_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) counts of each item in a resample of n items drawn with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    counts = np.zeros((resamples, n))
    np.add.at(counts, (np.repeat(np.arange(resamples), n), idx.ravel()), 1.0)
    return counts


def arena_interval(
    wins: np.ndarray, battles: np.ndarray, *, resamples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of one model's Arena-Hard score, resampling questions (both games of a
    question stay together). None when there is nothing to resample."""
    wi = np.asarray(wins, dtype=float).ravel()
    ba = np.asarray(battles, dtype=float).ravel()
    if wi.size == 0 or resamples < 1 or ba.sum() <= 0:
        return None
    values = arena_scores(wi[None], ba[None], bootstrap_weights(wi.size, resamples, seed))[:, 0]
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)

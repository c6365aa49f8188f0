"""Where does the asymptotic regime start? Automatic choice of the tail threshold.

The paper picks the threshold by eye, "rather too deep than too shallow". tailstop chooses it
with ordered goodness-of-fit tests and the ForwardStop rule (G'Sell et al. 2016), the
procedure Bader, Yan & Zhang (2018) proposed for the same problem in extreme-value analysis
(choosing the threshold of a generalised Pareto tail):

1. candidate tail sizes ``k_1 > k_2 > ... > k_m`` (a geometric grid from all finite scores
   down to ``MIN_TAIL``), each with threshold ``theta_j`` = the ``(k_j + 1)``-th best score;
2. for each, the censored spacing fit with everything at or below ``theta_j`` censored, and
   the Anderson-Darling statistic of the tail's conditional probability-integral transforms
   ``u_i = 1 - S(y_i) / S(theta_j)`` (uniform if the tail is a noisy quadratic);
3. p-values from the null distribution of that statistic *with the parameters estimated*,
   tabulated by simulation from the fitted family (``examples/benchmarks/make_ad_table.py``);
4. ForwardStop: with ``p_1..p_m`` ordered from the shallowest threshold to the deepest, reject
   the first ``k^ = max{j : -(1/j) sum_{i<=j} log(1 - p_i) <= alpha}`` hypotheses and use the
   next threshold. This controls the false discovery rate of rejected thresholds at
   ``alpha``, so the chosen tail is the largest one the data do not contradict.

Why it is sound: the hypotheses are nested (if the tail above ``theta_j`` is a noisy quadratic,
so is every tail above it), which is the setting ForwardStop is designed for; the test
statistic is computed on the tail only, where the law is claimed; and since the rule tends to
stop at the first clearly bad thresholds, it errs towards deeper tails, as the paper advises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_TAIL", "RegimeChoice", "anderson_darling", "candidate_tail_sizes", "forward_stop"]

MIN_TAIL = 10
GRID_RATIO = 1.3


def candidate_tail_sizes(n: int, min_tail: int = MIN_TAIL, ratio: float = GRID_RATIO) -> np.ndarray:
    """Tail sizes from ``n`` down to ``min_tail``, geometrically spaced, largest first."""
    if n <= min_tail:
        return np.array([n])
    count = int(np.ceil(np.log(n / min_tail) / np.log(ratio))) + 1
    sizes = np.unique(np.round(np.geomspace(min_tail, n, count)).astype(int))
    return sizes[::-1]


def anderson_darling(u: np.ndarray) -> float:
    """Anderson-Darling statistic of probabilities ``u`` against the uniform law.

    ``A^2 = -k - (1/k) sum_i (2i - 1) [log u_(i) + log(1 - u_(k+1-i))]``
    (Anderson & Darling 1954), with ``u`` clipped away from 0 and 1.
    """
    u = np.sort(np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12))
    k = u.size
    i = np.arange(1, k + 1)
    return float(-k - np.sum((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))) / k)


def forward_stop(p_values: np.ndarray, alpha: float) -> int:
    """Number of leading hypotheses ForwardStop rejects (G'Sell, Wager, Chouldechova &
    Tibshirani 2016): ``max{j : -(1/j) sum_{i<=j} log(1 - p_i) <= alpha}``, 0 if none."""
    p = np.clip(np.asarray(p_values, dtype=float), 0.0, 1.0 - 1e-16)
    running = -np.cumsum(np.log1p(-p)) / np.arange(1, p.size + 1)
    accepted = np.nonzero(running <= alpha)[0]
    return int(accepted[-1] + 1) if accepted.size else 0


@dataclass(frozen=True)
class RegimeChoice:
    """The chosen tail and the evidence for it."""

    tail_size: int
    threshold: float
    candidates: tuple[int, ...]
    p_values: tuple[float, ...]
    rejected: int


# Tail sizes at which the null distribution of the statistic is tabulated (_ad_table.py);
# beyond the last one the statistic's asymptotic null distribution is used unchanged.
TABLE_TAIL_SIZES = (10, 13, 17, 22, 28, 36, 47, 61, 80, 105, 140, 190, 260, 360, 500)


def fit_tail(
    ys: np.ndarray, tail_size: int, *, c_max: int = 10, b_max: float = np.inf, warm_start=None
):
    """Censored fit of the concave noisy quadratic to the ``tail_size`` best of ``ys``.

    ``ys`` are finite scores in the maximise orientation, plus ``-inf`` for failed trials
    (censored with the rest). Returns ``(distribution, threshold)``.
    """
    from tailstop.distributions import NoisyQuadraticDistribution

    ordered = np.sort(ys)
    n = ordered.size
    if tail_size < n and np.isfinite(ordered[n - tail_size - 1]):
        threshold = float(ordered[n - tail_size - 1])
    elif np.isfinite(ordered[0]):
        threshold = -np.inf
    else:  # every finite score kept, failed trials (-inf) censored below them
        finite = ordered[np.isfinite(ordered)]
        threshold = float(finite[0] - 1e-6 * max(np.ptp(finite), abs(finite[0]), 1e-300))
    constraints = {"convex": False, "c": (1, int(c_max))}
    if np.isfinite(b_max):
        constraints["b"] = (-np.inf, float(b_max))
    dist = NoisyQuadraticDistribution.fit(
        ys, limits=(threshold, np.inf), constraints=constraints, warm_start=warm_start
    )
    return dist, threshold


def tail_pit(dist, tail: np.ndarray, threshold: float) -> np.ndarray:
    """Conditional probability-integral transforms ``1 - S(y) / S(theta)`` of the tail."""
    above = dist.sf(threshold) if np.isfinite(threshold) else 1.0
    return 1.0 - dist.sf(tail) / above


def tail_statistic(ys: np.ndarray, tail_size: int, *, c_max: int = 10) -> float:
    """Anderson-Darling statistic of the fitted tail of size ``tail_size`` (for the table)."""
    dist, threshold = fit_tail(ys, tail_size, c_max=c_max)
    tail = ys[ys > threshold]
    return anderson_darling(tail_pit(dist, tail, threshold))


def p_value(statistic: float, tail_size: int) -> float:
    """Upper-tail p-value of the tail statistic under the tabulated null distribution.

    Interpolated between tabulated tail sizes on a log scale; the statistic's quantiles
    are interpolated linearly in probability (101 levels from the simulated replicates).
    """
    from tailstop import _ad_table

    sizes = np.log(np.asarray(_ad_table.TAIL_SIZES, dtype=float))
    table = np.asarray(_ad_table.QUANTILES)
    x = np.clip(np.log(tail_size), sizes[0], sizes[-1])
    j = int(np.clip(np.searchsorted(sizes, x) - 1, 0, sizes.size - 2))
    w = (x - sizes[j]) / (sizes[j + 1] - sizes[j])
    quantiles = (1 - w) * table[j] + w * table[j + 1]
    levels = np.linspace(0.0, 1.0, quantiles.size)
    if statistic >= quantiles[-1]:
        return float(1.0 / (_ad_table.REPLICATES + 1))
    return float(1.0 - np.interp(statistic, quantiles, levels))


def choose_regime(
    ys: np.ndarray, n_finite: int, *, c_max: int, b_max: float, alpha: float = 0.1, warm_start=None
):
    """Choose the tail by ordered Anderson-Darling tests and ForwardStop (module docstring).

    Returns ``(RegimeChoice, fitted distribution, threshold)``.
    """
    sizes = candidate_tail_sizes(n_finite)
    fits, p_values = [], []
    warm = warm_start
    for k in sizes:
        dist, threshold = fit_tail(ys, int(k), c_max=c_max, b_max=b_max, warm_start=warm)
        tail = ys[ys > threshold]
        statistic = anderson_darling(tail_pit(dist, tail, threshold))
        fits.append((dist, threshold))
        p_values.append(p_value(statistic, tail.size))
        warm = dist
    rejected = forward_stop(np.asarray(p_values), alpha)
    chosen = min(rejected, len(sizes) - 1)
    dist, threshold = fits[chosen]
    choice = RegimeChoice(
        tail_size=int(sizes[chosen]),
        threshold=threshold,
        candidates=tuple(int(k) for k in sizes),
        p_values=tuple(p_values),
        rejected=rejected,
    )
    return choice, dist, threshold

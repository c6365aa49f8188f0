"""What more random search will bring, under a fitted score distribution.

All functions take the score distribution ``F`` of one random-search trial in the *maximise*
orientation (tailstop folds minimisation into maximisation by negating scores) and the best
score seen so far, ``y*``. With ``T_k`` the best of ``k`` more i.i.d. trials
(``P(T_k <= t) = F(t)^k``):

* expected gain: ``E[max(y*, T_k)] - y* = int_{y*}^{inf} (1 - F(t)^k) dt``;
* chance of gaining more than ``delta``: ``1 - F(y* + delta)^k``;
* trials for that with probability ``p``: ``log(1 - p) / log F(y* + delta)``.

A metric with a known best value ``M`` (accuracy 1, a loss of 0: the ``bounds`` of
:func:`tailstop.analyze`) cannot score above it, whatever the fitted law's noise allows: a
trial scores ``min(Y, M)``. Each function takes it as ``ceiling``: the gain is then
``int_{y*}^{M} (1 - F(t)^k) dt`` (``E[max(y*, min(T_k, M))] - y*``), and no number of trials
gains ``delta`` once ``y* + delta >= M``.

These are the law's own forecasts. For a law fitted to the same trials ``y*`` is the best of,
:class:`tailstop.TailEstimate` takes the chance of any gain from the ranks instead,
``k / (n + k)`` for ``n`` trials so far (``observed=`` below; its expected gain scales the
law's by ``(k / (n + k)) / (1 - F(y*)^k)``): the fit places ``y*`` near its ``n / (n + 1)``
quantile whatever its true one, and the law's own chance of any gain runs high. Its chances
average over its plausible fits (a sequence of laws below).

Only ``F`` above ``y*`` matters, which is inside the fitted tail whenever ``y*`` is above the
regime threshold. ``1 - F^k`` is computed as ``-expm1(k log1p(-S))`` from the survival function
``S = 1 - F``, so it stays accurate for large ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from tailstop._data import real_array, real_number
from tailstop.errors import InvalidParameterError

__all__ = ["expected_gain", "prob_improvement", "trials_to_gain"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(20)
# Quantile levels of T_k used as panel breaks: the integrand 1 - F^k drops from 1 to 0
# across these, however large k is.
_LEVELS = np.array([1e-9, 1e-3, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98, 0.999, 1 - 1e-9])
_BREAK_GRID = 257


class ScoreDistribution(Protocol):
    """What the forecasts need of a fitted distribution (maximise orientation)."""

    def sf(self, y): ...

    def ppf(self, q): ...


def _upper_end(dist) -> float:
    """A point above which the survival function is below ~1e-20."""
    return float(dist.b + 9.5 * getattr(dist, "o", 0.0))


def _log_cdf(dist, t):
    return np.log1p(-np.clip(dist.sf(t), 0.0, 1.0))


def expected_gain(
    dist: ScoreDistribution, current_best: float, ks, *, ceiling: float = np.inf
) -> np.ndarray:
    """Expected improvement of the best score after ``k`` more trials.

    ``int_{y*}^{U} (1 - F(t)^k) dt`` with ``U`` the smaller of the ``ceiling`` and the point
    beyond which ``F = 1`` to double precision, by Gauss-Legendre on panels cut at quantiles
    of ``T_k``. Zero when ``k = 0`` or ``y* >= U``.

    Examples
    --------
    >>> from tailstop import QuadraticDistribution
    >>> uniform = QuadraticDistribution(0.0, 1.0, 2)   # c = 2: Uniform(0, 1)
    >>> # int_0.9^1 (1 - t^k) dt = 0.1 - (1 - 0.9^(k+1)) / (k+1)
    >>> round(float(expected_gain(uniform, 0.9, 1)), 6)
    0.005
    >>> # a metric that cannot exceed 0.95: int_0.9^0.95 (1 - t) dt
    >>> round(float(expected_gain(uniform, 0.9, 1, ceiling=0.95)), 6)
    0.00375
    """
    ks = real_array(ks, "ks")
    flat = np.atleast_1d(ks).ravel()
    upper = min(_upper_end(dist), float(ceiling))
    y0 = real_number(current_best, "current_best")
    if upper <= y0:
        return np.zeros(ks.shape)
    breaks = _quantile_breaks(dist, y0, upper, flat)
    edges = np.concatenate(
        [np.full((flat.size, 1), y0), breaks, np.full((flat.size, 1), upper)], axis=1
    )
    left, right = edges[:, :-1], edges[:, 1:]
    half = 0.5 * (right - left)
    t = (0.5 * (left + right))[..., None] + half[..., None] * _NODES
    log_f = _log_cdf(dist, t)
    integrand = -np.expm1(flat[:, None, None] * log_f)
    gain = np.sum(half * np.sum(_WEIGHTS * integrand, axis=-1), axis=-1)
    gain = np.where(flat > 0, gain, 0.0)
    return gain.reshape(ks.shape) if ks.ndim else gain[0]


def _quantile_breaks(dist, y0: float, upper: float, ks: np.ndarray) -> np.ndarray:
    """Approximate quantiles of ``T_k`` at ``_LEVELS``, clipped to ``[y0, upper]``, sorted.

    Only panel breaks: the integrand is smooth between them, so they need not be exact.
    ``log S`` on a grid of ``[y0, upper]`` (one evaluation of the law for every ``k``) is
    interpolated at ``log(1 - level^(1/k))``, the survival level of each quantile.
    """
    # uniform, plus geometric towards the noiseless end b (where S ~ (b - t)^(c/2)) and
    # towards the upper end (the Gaussian tail of the noise)
    span = np.geomspace(1.0, 1e-14, _BREAK_GRID // 4)
    ends = [upper - (upper - y0) * span]
    b = float(getattr(dist, "b", upper))
    if y0 < b < upper:
        ends += [b - (b - y0) * span, b + (upper - b) * (1.0 - span)]
    grid = np.unique(np.concatenate([np.linspace(y0, upper, _BREAK_GRID // 2), *ends]))
    with np.errstate(divide="ignore"):
        log_sf = np.log(np.clip(dist.sf(grid), 0.0, 1.0))
    keep = np.isfinite(log_sf)
    if keep.sum() < 2:
        return np.full((ks.size, _LEVELS.size), y0)
    x, t = log_sf[keep][::-1], grid[keep][::-1]  # log S decreases along the grid
    with np.errstate(divide="ignore"):
        target = np.log(-np.expm1(np.log(_LEVELS)[None, :] / np.maximum(ks, 1e-300)[:, None]))
    return np.sort(np.interp(target, x, t, left=upper, right=y0), axis=1)


def prob_improvement(
    dist: ScoreDistribution | Sequence[ScoreDistribution],
    current_best: float,
    delta,
    ks,
    *,
    ceiling: float = np.inf,
    observed: int | None = None,
) -> np.ndarray:
    """Chance that ``k`` more trials beat ``current_best`` by more than ``delta``.

    The law's own chance is ``1 - F(y* + delta)^k``, zero where ``y* + delta >= ceiling``.
    With ``observed``, the number ``n`` of finished trials ``y*`` is the best of, the chance is

        ``k / (n + k) * (1 - F(y* + delta)^k) / (1 - F(y*)^k)``:

    the chance of any gain from the ranks alone (the best of ``n + k`` exchangeable trials is
    one of the ``k`` new ones with chance ``k / (n + k)``, whatever the law), times the law's
    chance that a gain exceeds ``delta``. A law fitted to the same trials places ``y*`` near
    its ``n / (n + 1)`` quantile whatever its true quantile is (``Beta(n, 1)``-distributed),
    and ``1 - F(y*)^k`` is convex in ``F(y*)``: the law's own chance of any gain is too high
    on average (``1 - e^(-k/n)`` against ``k / (n + k)``; 0.98 against 0.80 for ``n = 32``,
    ``k = 128``). The product is exact on average for ``delta = 0``. Tied scores make a
    strict gain less likely than ``k / (n + k)``.

    ``dist`` may be a sequence of laws: the chance is then the mean of theirs, the chance
    under an equal mixture of them (what :meth:`tailstop.TailEstimate.prob_improvement` does
    with its plausible fits).
    """
    if _is_sequence(dist):
        return np.mean(
            [prob_improvement(d, current_best, delta, ks, ceiling=ceiling, observed=observed)
             for d in _laws(dist)],
            axis=0,
        )[()]
    target = real_number(current_best, "current_best") + real_array(delta, "delta")
    ks = real_array(ks, "ks")
    log_f = np.where(target < ceiling, _log_cdf(dist, target), -0.0)
    chance = -np.expm1(ks * log_f)  # (+0.0 where F = 1)
    if observed is None:
        return chance
    _check_observed(observed)
    anything = -np.expm1(ks * _log_cdf(dist, float(current_best)))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(anything > 0, chance / anything, 0.0)
    return ks / (float(observed) + ks) * np.minimum(share, 1.0)


def _is_sequence(dist) -> bool:
    return isinstance(dist, Sequence)


def _laws(dists) -> list:
    if len(dists) == 0:
        raise InvalidParameterError("an empty sequence of distributions has no chance to give")
    return list(dists)


def trials_to_gain(
    dist: ScoreDistribution | Sequence[ScoreDistribution],
    current_best: float,
    delta,
    probability: float = 0.5,
    *,
    ceiling: float = np.inf,
    observed: int | None = None,
) -> np.ndarray:
    """Trials needed to beat ``current_best`` by more than ``delta`` with ``probability``.

    The ``k`` at which :func:`prob_improvement` (with the same ``dist`` and ``observed``)
    reaches ``probability``: ``log(1 - p) / log F(y* + delta)`` for one law's own chance;
    with ``observed`` or a sequence of laws, found by bisection in ``log k`` (the chance
    increases with ``k``), and with ``observed`` at least ``n p / (1 - p)``. Infinite when
    the chance never reaches ``probability`` (no mass above ``y* + delta``, or
    ``y* + delta >= ceiling``; for a mixture, too few of its laws with mass there), zero
    when ``probability`` is 0.
    """
    dists = _laws(dist) if _is_sequence(dist) else [dist]
    target = real_number(current_best, "current_best") + real_array(delta, "delta")
    probability = real_number(probability, "probability")
    if observed is not None:
        _check_observed(observed)  # (before the early return below: bad input is bad at p = 0)
    # -0.0 (log F where F = 1): log(1 - p) / -0.0 is +inf
    log_f = np.array([np.where(target < ceiling, _log_cdf(d, target), -0.0) for d in dists])
    if probability == 0:  # (0 / 0 where the law puts no mass above y* + delta)
        return np.zeros_like(log_f[0])[()]
    if observed is None and len(dists) == 1:
        with np.errstate(divide="ignore"):
            return np.log1p(-float(probability)) / log_f[0]
    log_b = np.array([float(_log_cdf(d, float(current_best))) for d in dists])
    return _trials_for(log_f, log_b, None if observed is None else float(observed),
                       float(probability))


def _check_observed(observed) -> None:
    if isinstance(observed, bool) or not isinstance(observed, (int, np.integer)) or observed < 1:
        raise InvalidParameterError(
            f"observed must be the number of trials so far, an int >= 1, got {observed!r}"
        )


def _trials_for(log_a: np.ndarray, log_b: np.ndarray, n: float | None,
                probability: float) -> np.ndarray:
    """The ``k`` at which the mean over laws ``i`` of ``k / (n + k) (1 - a_i^k) / (1 - b_i^k)``
    (``a_i = F_i(y* + delta)``, ``b_i = F_i(y*)``, given as logs: ``log_a`` of shape ``(laws,
    *delta's shape)``, ``log_b`` of shape ``(laws,)``) reaches ``probability``; with ``n``
    None, the mean of the laws' own ``1 - a_i^k``. By bisection in ``log k``: each term
    increases with ``k`` (``u / (e^u - 1)`` decreases) from 0 to 1 when ``a_i < 1``. The
    search starts where no term can have reached ``probability`` yet: ``n p / (1 - p)`` (the
    ranks' chance of any gain), or the smallest of the laws' own answers."""
    shape = log_a.shape[1:]
    flat = log_a.reshape(log_a.shape[0], -1)
    b = log_b[:, None]

    def chance(k):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if n is None:
                return np.mean(-np.expm1(k * flat), axis=0)
            share = np.where(b < 0, np.expm1(k * flat) / np.expm1(k * b), 0.0)
        return k / (n + k) * np.mean(np.minimum(share, 1.0), axis=0)

    finite = np.any(flat < 0, axis=0)
    if n is None:
        with np.errstate(divide="ignore"):  # (a law with no mass there: never, +inf)
            own = np.where(flat < 0, np.log1p(-probability) / np.minimum(flat, -1e-300), np.inf)
        start = np.where(finite, np.min(own, axis=0), 1.0)
    else:
        start = np.full(finite.shape, n * probability / (1.0 - probability))
    low = np.maximum(start, 1e-300)
    high = 2.0 * low
    for _ in range(200):  # double until the chance is reached (or give up: infinite)
        short = finite & (chance(high) < probability)
        if not short.any():
            break
        low = np.where(short, high, low)
        high = np.where(short, 2.0 * high, high)
    reached = finite & (chance(high) >= probability)
    for _ in range(60):
        middle = np.sqrt(low * high)
        below = chance(middle) < probability
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return np.where(reached, high, np.inf).reshape(shape)[()]

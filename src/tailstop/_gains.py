"""Expected-gain bounds for the stopping rules, memoised per estimate.

A forecast ``G(h) = int_y^inf (1 - F(t)^h) dt`` over the plausible fits the intervals span
costs ~0.1 s, and a live search asks for a new horizon ``h`` at every
trial. :func:`gain_interval` keeps each estimate's answers (weakly, so an estimate and its
cache go together); :func:`gain_bracket` bounds a new horizon from them without a forecast;
:func:`chance_high` is the largest chance over the plausible fits of gaining more than
epsilon: each fit's own ``1 - F(y + epsilon)^h``, which runs higher than
``TailEstimate.prob_improvement`` (that takes the chance of any gain from the ranks), so a
rule that reads it errs towards continuing.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tailstop.estimate import TailEstimate

__all__ = ["cached_gain", "chance_high", "gain_bracket", "gain_interval"]

# Upper bounds G_high(h) already computed, per estimate (forecasts cost ~0.1 s each).
_GAIN_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GAIN_LOCK = threading.Lock()


def gain_interval(estimate: TailEstimate, horizon: int) -> tuple[float, float, float]:
    """``estimate.expected_gain(horizon)`` as plain floats, memoised per estimate.

    Parameters
    ----------
    estimate : TailEstimate
        The fit whose forecast is wanted (the cache holds it weakly).
    horizon : int
        Trials ahead; ``0`` or less gives ``(0.0, 0.0, 0.0)``.

    Returns
    -------
    (estimate, low, high) : tuple of float
        The expected gain of the best score over ``horizon`` more trials, with its
        confidence interval; the rules compare ``high``.

    Examples
    --------
    >>> from tailstop import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> value, low, high = gain_interval(estimate, 100)
    >>> bool(0 <= low <= value <= high), high == float(estimate.expected_gain(100).high)
    (True, True)
    >>> gain_interval(estimate, 100) == (value, low, high), gain_interval(estimate, 0)
    (True, (0.0, 0.0, 0.0))
    """
    horizon = int(horizon)
    if horizon <= 0:
        return 0.0, 0.0, 0.0
    with _GAIN_LOCK:
        cached = _GAIN_CACHE.get(estimate, {}).get(horizon)
    if cached is not None:
        return cached
    gain = estimate.expected_gain(horizon)
    value = (float(gain.estimate), float(gain.low), float(gain.high))
    with _GAIN_LOCK:
        _GAIN_CACHE.setdefault(estimate, {})[horizon] = value
    return value


def cached_gain(estimate: TailEstimate, horizon: int) -> tuple[float, float, float] | None:
    """:func:`gain_interval`'s answer if it is already memoised, else None (no forecast)."""
    with _GAIN_LOCK:
        return _GAIN_CACHE.get(estimate, {}).get(int(horizon))


def gain_bracket(estimate: TailEstimate, horizon: int) -> tuple[float, float]:
    """Bounds on ``G_high(horizon)`` from the horizons already computed for ``estimate``.

    Each fit's gain ``G(h) = int (1 - F(t)^h) dt`` is increasing and concave in ``h`` with
    ``G(0) = 0`` (``F^h = exp(h log F)`` is convex in ``h``), so from ``G(h')``:
    ``(h/h') G(h') <= G(h) <= G(h')`` when ``h <= h'`` and ``G(h') <= G(h) <= (h/h') G(h')``
    when ``h >= h'``; both carry over to the maximum over fits.
    """
    with _GAIN_LOCK:
        known = dict(_GAIN_CACHE.get(estimate, {}))
    low, high = 0.0, math.inf
    for other, (_, _, g) in known.items():
        ratio = horizon / other
        if ratio <= 1:
            low, high = max(low, ratio * g), min(high, g)
        else:
            low, high = max(low, g), min(high, ratio * g)
    return low, high


def chance_high(estimate: TailEstimate, epsilon: float, horizon: int) -> float:
    """Largest chance, over the plausible fits, that ``horizon`` trials gain more than epsilon:
    ``max 1 - F(y + epsilon)^h`` (maximise orientation)."""
    from tailstop import forecast

    best = float(np.max(estimate._clean.values))
    return float(
        max(
            forecast.prob_improvement(d, best, epsilon, horizon, ceiling=estimate._ceiling)
            for d in estimate._fits
        )
    )

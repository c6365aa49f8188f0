"""Censored maximum-product-of-spacings fits of the (noisy) quadratic distribution.

The estimator, the handling of ties and censoring and the search box are opda 0.8.0's
(``opda.parametric``, ``fit``): grouped buckets with the ``n + 1`` pseudo-observation,
Ekström's scaling (see :mod:`tailstop._spacing`), ``a`` and ``b`` within a data-adaptive box
a few data ranges wide, ``o`` up to a fraction of the range, integer ``c`` in 1..10 and
both values of ``convex`` unless constrained.  opda searches the box with differential
evolution (4-40 s per fit); tailstop finds the same optimum or a better one, deterministically,
in milliseconds:

1. **Screen** (no CDF kernel call): for every allowed ``(convex, c)``, noise ratios
   ``s = o / (b - a)`` from the noiseless limit to the moment-matched normal and, for each,
   the ``(a, b)`` that put the extreme retained order statistics (or the censoring limits) at
   plotting positions from the Beta laws of their ranks (opda's initialisation idea, with
   more spread).  They are scored on a 24-bucket coarsening of the objective with the
   standard CDF interpolated in a table built once per process
   (:class:`~tailstop._spacing.StandardCdfTable`).
2. **Refine** the best start of each noise class of each ``(convex, c)`` that is within
   ``_SCREEN_MARGIN`` of the best start, on a 48-bucket coarsening (the same for both
   forms, so that their losses compare), by a batched trust-region Newton method
   (:class:`~tailstop._newton.BatchedNewton`: all starts step together, one kernel call
   per ``c`` per step) in the nearly decoupled coordinates (best score, log width, log
   noise); searches that can no longer end near the best are dropped.
3. **Polish** the best candidate of each ``(convex, c)`` within ``_POLISH_MARGIN`` of the
   best on the full objective and keep the best.  With at most 64 buckets the objective is
   used as it is from step 2 on.

The margins are empirical: on the benchmark's data sets the winner's start was never more
than 0.022 above the best start, and the loss reached was never worse than opda's (also on
random truths: c in {1, 2, 3, 5, 8}, noise ratios 0 to 2, n from 8 to 200, censoring of
either or both tails, free ``convex``).

A warm start (the previous fit of a live search) refines the previous solution instead
(:mod:`tailstop._localsearch`). The search itself is in :mod:`tailstop._globalsearch`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np

from tailstop._fitproblem import _setup, _validate_data
from tailstop._globalsearch import FitResult, _search
from tailstop._localsearch import _warm_search
from tailstop._spacing import SpacingObjective
from tailstop.errors import InvalidParameterError

__all__ = ["FitResult", "fit_noisy_quadratic", "fit_parameters", "fit_quadratic", "spacing_loss"]


def _check_warm_start(warm) -> None:
    """A warm start is a previous fit: a distribution or a :class:`FitResult` (finite
    ``a < b``, an integer ``c``, a bool ``convex``)."""
    try:
        a, b, c = float(warm.a), float(warm.b), float(warm.c)
        convex = warm.convex
    except (AttributeError, TypeError, ValueError, OverflowError):
        raise InvalidParameterError(
            "warm_start must be a previous fit (a distribution or a FitResult), got "
            f"{type(warm).__name__}"
        ) from None
    if not (np.isfinite(a) and np.isfinite(b) and a <= b and c.is_integer()) or not isinstance(
        convex, (bool, np.bool_)
    ):
        raise InvalidParameterError(f"warm_start is not a valid fit: {warm!r}")


def _fit(ys, limits, constraints, noisy: bool, warm_start=None, quick=False) -> FitResult:
    problem = _setup(ys, limits, constraints, noisy)
    if warm_start is not None:
        _check_warm_start(warm_start)
    if quick:
        problem = dataclasses.replace(problem, quick=True)
    result = _search(problem) if warm_start is None else _warm_search(problem, warm_start)
    if result.c == 2 and len(problem.convexs) > 1:
        warnings.warn(
            "the fit found c = 2, where the convex and concave forms coincide, so convex "
            "is unidentifiable; fix it with constraints (convex=False when maximising).",
            RuntimeWarning,
            stacklevel=4,
        )
    return result


# ---------------------------------------------------------------------------------------
# Public API


def fit_parameters(
    ys,
    limits=(-np.inf, np.inf),
    constraints: Mapping | None = None,
    *,
    noisy: bool = True,
    warm_start=None,
    quick: bool = False,
) -> FitResult:
    """The censored-MPS estimate as a :class:`FitResult` (parameters and the loss at them).

    Same arguments and errors as :func:`fit_noisy_quadratic` (``noisy=True``) or
    :func:`fit_quadratic` (``noisy=False``); ``warm_start`` may be a distribution or a
    :class:`FitResult`. ``quick``: prune the searches with margins scaled to the uncensored
    share of the data (``_Problem.margin_scale``), for a heavily censored fit among many
    whose result feeds a test statistic rather than an estimate: ~40% less time on the
    threshold candidates of ``analyze``, at the risk of missing an optimum that a search
    reaches only from far behind.
    """
    return _fit(ys, limits, constraints, noisy, warm_start, quick)


def fit_noisy_quadratic(
    ys,
    limits=(-np.inf, np.inf),
    constraints: Mapping | None = None,
    *,
    generator: np.random.Generator | None = None,
    warm_start=None,
):
    """Fit a :class:`~tailstop.distributions.NoisyQuadraticDistribution` by censored MPS.

    Minimises the spacing loss of :func:`spacing_loss` over ``a, b, o`` (continuous, within
    opda's data-adaptive box and the constraints), ``c`` (integers) and ``convex``.

    Parameters
    ----------
    ys : 1-D array of floats
        The scores, at least 3.  NaN is rejected; +-inf only where ``limits`` censor it.
    limits : (lower, upper)
        The left-open interval ``(lower, upper]`` of uncensored observations: those
        ``<= lower`` or ``> upper`` count only as being beyond the limit.  Maximising, pass
        ``(threshold, inf)``; minimising, ``(-inf, threshold)``.
    constraints : mapping, optional
        Keys ``a``, ``b``, ``c``, ``o``: a number fixes the parameter, a pair ``(lo, hi)``
        bounds it (``c``: integers in 1..10); ``convex``: a bool or a list of bools (by
        default both are fitted and the better wins; fix it by the direction of the search).
    generator : numpy Generator, optional
        Accepted for opda compatibility; the search is deterministic and does not use it.
    warm_start : NoisyQuadraticDistribution or FitResult, optional
        A previous fit (e.g. before the last trials of a live search): the search starts
        from it and falls back to the global search when the data moved the optimum.

    Returns
    -------
    NoisyQuadraticDistribution

    Raises
    ------
    NotEnoughTrials
        Fewer than 3 observations.
    InvalidDataError
        NaN, uncensored +-inf, no uncensored observation, ``ys`` not 1-D, bad ``limits``.
    ConstraintError
        Unknown keys, malformed or infeasible constraints.
    FitError
        No parameters with a finite loss.
    """
    from tailstop.distributions import NoisyQuadraticDistribution

    r = _fit(ys, limits, constraints, True, warm_start)
    fitted = NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=r.convex)
    fitted._fit_screen = r.screen  # for its use as a warm start (see _globalsearch.ScreenMemo)
    fitted._fit_curvature = r.curvature  # ... and its Hessian (see _globalsearch.FitResult)
    return fitted


def fit_quadratic(
    ys,
    limits=(-np.inf, np.inf),
    constraints: Mapping | None = None,
    *,
    generator: np.random.Generator | None = None,
    warm_start=None,
):
    """Fit a :class:`~tailstop.distributions.QuadraticDistribution` (noiseless) by censored MPS.

    As :func:`fit_noisy_quadratic` with ``o = 0``: ``a`` stays at or below the least and
    ``b`` at or above the greatest retained observation (or censoring limit), and the outer
    break points are the lowest allowed ``a`` and the highest allowed ``b`` (as in opda).
    Constraint keys: ``a``, ``b``, ``c``, ``convex``.
    """
    from tailstop.distributions import QuadraticDistribution

    r = _fit(ys, limits, constraints, False, warm_start)
    fitted = QuadraticDistribution(r.a, r.b, r.c, convex=r.convex)
    fitted._fit_screen = r.screen
    return fitted


def spacing_loss(
    ys,
    limits,
    a: float,
    b: float,
    c: int,
    o: float = 0.0,
    convex: bool = False,
    *,
    support=(-np.inf, np.inf),
) -> float:
    """The censored spacing loss of ``NQ(a, b, c, o, convex)`` on ``ys`` (lower is better).

    ``L = -(1/(n+1)) sum_l k_l log((F(z_l) - F(z_{l-1})) (n+1) / k_l)`` over opda's buckets
    (see :mod:`tailstop._spacing`); minus L is the objective the fit maximises.  It scores
    any parameters, e.g. opda's fit against tailstop's.  ``support``: the outer break points;
    opda uses the lowest allowed ``a`` and the highest allowed ``b`` when ``o`` is fixed to
    0, which changes nothing unless an observation equals one of them.
    """
    array, lower, upper = _validate_data(ys, limits)
    objective = SpacingObjective(array, (lower, upper), support)
    return float(objective.loss(a, b, int(c), o, bool(convex))[0])

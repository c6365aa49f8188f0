"""Penalised fits (private): the parameters inside the confidence region where more trials
are expected to gain least, which bound the expected gain from below.

The expected gain of ``k`` more trials, ``g_k(theta) = int_y^inf (1 - F(t)^k) dt`` with ``y``
the current best, has its least value over the region ``{theta : D(theta) <= chi2_1}`` on the
region's boundary, in general not at a profile end of ``b`` (a lower ``b`` needs more noise,
which adds gain) nor of ``o`` (at the ``b`` that suits that noise). With ``h = g_k / g_k(^theta)``
(the gain relative to the estimate's), the minimiser of ``h`` over the region solves, for some
multiplier ``lambda >= 0`` (Lagrange),

    theta(lambda) = argmin  L(theta) + (lambda / (2 (n + 1))) h(theta),

and ``D(theta(lambda))`` grows with ``lambda`` (as ``lambda^2 Var(h^)`` near the estimate, more
slowly as the gain shrinks): a secant on the root deviance against ``log lambda`` finds the
multiplier with ``D = chi2_1`` in a few fits (:meth:`tailstop._gainends.GainEnds.least_gain_end`).
(``h = log g_k`` would be unbounded below where the gain vanishes, and the penalised path
then jumps to far-away parameters; ``g_k`` itself is bounded below by 0.)
The profile is taken for one horizon ``k`` (``analyze`` uses the number of trials so far); the
fit found is a member of the region for every other ``k``, near its least gain.
"""

from __future__ import annotations

import numpy as np

from tailstop import _moments
from tailstop._fitproblem import _coordinates, _setup
from tailstop.errors import FitError

_NODES: np.ndarray
_WEIGHTS: np.ndarray
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)
_NODES, _WEIGHTS = 0.5 * (_NODES + 1.0), 0.5 * _WEIGHTS  # on [0, 1]


def expected_gains(a, b, c, o, y: float, k: float) -> np.ndarray:
    """``E[max(Y_1..Y_k, y) - y]`` for the concave laws ``NQ(a_i, b_i, c, o_i)``, batched.

    ``int_y^inf (1 - F(t)^k) dt = w int_{-8s}^{m_y} (1 - (1 - G(m))^k) dm`` with ``w = b - a``,
    ``m_y = (b - y) / w``, ``s = o / w`` and ``G`` the standard CDF of the distance from the
    best score in widths (``G`` is below 1e-15 under ``-8s``): 24-point Gauss-Legendre on fixed
    nodes, smooth in the parameters (for a Newton search; within 1e-6 relative of
    :func:`tailstop.forecast.expected_gain`, which the forecasts use, in the tests).
    """
    a, b, o = (np.atleast_1d(np.asarray(v, float)) for v in (a, b, o))
    width = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        s = o / width
        hi = (b - y) / width
    lo = -8.0 * s
    span = np.maximum(hi - lo, 0.0)
    m = lo[:, None] + span[:, None] * _NODES
    column = np.asarray(c)[:, None] if np.ndim(c) else c  # one c per law, or one for all
    G = _moments.std_cdf(m, column, np.broadcast_to(s[:, None], m.shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = -np.expm1(k * np.log1p(-np.clip(G, 0.0, 1.0)))
        gain = width * span * (inner @ _WEIGHTS)
    return np.where(np.isfinite(gain), gain, np.inf)


class _Penalised:
    """The spacing objective plus ``weight * gain_k`` (concave form only)."""

    def __init__(self, objective, weight: float, y: float, k: float):
        self.objective, self.weight, self.y, self.k = objective, float(weight), float(y), k

    def loss(self, a, b, c, o, convex: bool) -> np.ndarray:
        return self.objective.loss(a, b, c, o, convex) + self.penalty(a, b, c, o)

    def penalty(self, a, b, c, o) -> np.ndarray:
        """``weight * gain_k`` (the lock step adds it to the spacing losses it batches)."""
        return self.weight * expected_gains(a, b, c, o, self.y, self.k)


class PenalisedSearch:
    """Penalised fits of one tail (concave, under ``constraints``), set up once for the
    several multipliers a least-gain search tries."""

    def __init__(self, ys, limits, constraints):
        constraints = dict(constraints or {})
        constraints["convex"] = False
        self.problem = _setup(ys, limits, constraints, True)
        self.coords = _coordinates(self.problem)[False]
        if self.coords.dimension == 0:
            raise FitError("nothing to fit: every parameter is fixed.")

    def fit(self, warm, weight: float, y: float, k: float, ftol=None, neighbours: bool = True):
        """Newton descents from ``warm`` at its ``c`` and (``neighbours``) the neighbouring
        ones on the spacing loss plus ``weight * gain_k`` (:func:`expected_gains`); the least
        penalised one as a :class:`tailstop.fitting.FitResult` whose ``loss`` is the plain
        spacing loss."""
        return PenalisedFit(self, warm, weight, y, k, neighbours).alone(ftol)


class PenalisedFit:
    """One fit of a :class:`PenalisedSearch` (the arguments of :meth:`PenalisedSearch.fit`)
    as a request that the lock step makes beside other fits
    (:func:`tailstop._lockstep.fit_all`): its starts, its objective and its result."""

    def __init__(self, search: PenalisedSearch, warm, weight: float, y: float, k: float,
                 neighbours: bool = True):
        self.search, self.warm, self.weight = search, warm, float(weight)
        self.y, self.k, self.neighbours = float(y), k, neighbours

    def alone(self, ftol=None):
        """The fit made on its own (:meth:`PenalisedSearch.fit`)."""
        from tailstop._globalsearch import _Batch

        batch = _Batch({False: self.search.coords}, {False: self.objective()}, self.starts(),
                       True, ftol=ftol)
        # the neighbouring c descend only while their Newton model can still reach the best
        batch.run(max_iter=30, prune=True, margins=(np.inf,))
        return self.result(batch.results())

    def objective(self) -> _Penalised:
        return _Penalised(self.search.problem.objective, self.weight, self.y, self.k)

    def starts(self) -> list:
        """``(convex, c, x0)`` of the descents: from ``warm`` at its c and the neighbours'."""
        from tailstop._localsearch import _start_point

        problem, coords = self.search.problem, self.search.coords
        x0 = _start_point(problem, coords, self.warm)
        near = [c for c in problem.cs if abs(c - int(self.warm.c)) <= int(self.neighbours)]
        return [(False, c, x0) for c in near]

    def result(self, found: list):
        """The least penalised of the descents ``found`` (``(loss, convex, c, x, hessian)``)
        as a :class:`tailstop.fitting.FitResult` with the plain spacing loss."""
        from tailstop._globalsearch import FitResult, _in_box

        problem, coords = self.search.problem, self.search.coords
        if not found:
            raise FitError("the penalised fit found no parameters with a finite loss.")
        _, _, c, x, _ = min(found, key=lambda r: r[0])
        a, b, o = _in_box(problem, coords, x)
        loss = float(problem.objective.loss(a, b, c, o, False)[0])
        if not np.isfinite(loss):
            raise FitError("the penalised fit ended at parameters with a non-finite loss.")
        return FitResult(a, b, c, o, False, loss)

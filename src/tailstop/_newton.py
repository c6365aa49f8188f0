"""Batched trust-region Newton minimisation (private): the local searches of the fit.

Every start of a fit steps together, with one loss (hence CDF kernel) call per step for all
of them; see :class:`BatchedNewton`.
"""

from __future__ import annotations

import itertools

import numpy as np


def _trust_region_step(evals, evecs, g_eig, radius):
    """Minimiser of g.s + s.H.s / 2 over |s| <= radius, for each row (Moré & Sorensen 1983).

    ``H = evecs diag(evals) evecs^T`` (eigenvalues ascending), ``g_eig = evecs^T g``.  The
    step is ``-(H + mu I)^-1 g`` with ``mu = 0`` if H is positive definite and the Newton
    step fits, else the ``mu > max(0, -lambda_min)`` putting it on the boundary (Newton's
    method on the secular equation); in the "hard case" (g orthogonal to a
    negative-curvature direction) the remaining length goes along that direction.
    """
    lam_min = evals[:, 0]

    def length(mu):
        scaled = g_eig / (evals + mu[:, None])
        return np.sqrt((scaled * scaled).sum(axis=1))

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        newton = (lam_min > 0) & (length(np.zeros_like(lam_min)) <= radius)
        scale = np.abs(evals).max(axis=1) + np.sqrt((g_eig * g_eig).sum(axis=1)) / radius
        lo = np.maximum(-lam_min, 0.0) * (1 + 1e-12) + 1e-14 * (scale + 1e-300)
        # even the smallest admissible mu gives a short step, and the curvature is negative:
        # the rest of the length goes along it. (With none, i.e. a flat direction the
        # gradient does not point along, the model is least at the shortest step, mu = lo:
        # a step along that direction would gain nothing and, where it fails, keep failing
        # at the region's full length while the region shrinks a quarter at a time.)
        hard = (length(lo) < radius) & (lam_min < -1e-10 * np.abs(evals).max(axis=1))
        # Newton's method on 1/|s(mu)| - 1/radius, nearly linear in mu, increases mu
        # monotonically from lo to the root (Moré & Sorensen 1983).
        hi = lo.copy()
        g2 = g_eig**2
        boundary = ~newton & ~hard  # the rows whose mu solves the secular equation
        for _ in range(12 if boundary.any() else 0):
            shifted = evals + hi[:, None]
            norm2 = (g2 / shifted**2).sum(axis=1)
            slope = (g2 / shifted**3).sum(axis=1)
            update = norm2 / slope * (np.sqrt(norm2) - radius) / radius
            moving = boundary & np.isfinite(update) & (update > 1e-13 * np.abs(hi))
            if not moving.any():
                break
            hi = np.where(moving, hi + update, hi)
        mu = np.where(newton, 0.0, np.where(hard, lo, hi))
        coefficients = -g_eig / (evals + mu[:, None])
    coefficients = np.where(np.isfinite(coefficients), coefficients, 0.0)
    rest = np.sqrt(np.maximum(radius**2 - (coefficients * coefficients).sum(axis=1), 0.0))
    coefficients[:, 0] += np.where(hard & ~newton, rest, 0.0)
    return np.matmul(evecs, coefficients[:, :, None])[:, :, 0]


class BatchedNewton:
    """Trust-region Newton minimisation from many starts at once, one loss call per step.

    scipy's minimisers take one start at a time, while the spacing loss costs about the same
    for one parameter set as for a hundred (the CDF kernel is vectorised), so the local
    searches of the fit run in lock step: :meth:`points` gives the finite-difference stencils
    of every active start, the caller evaluates them in one call, :meth:`update` takes the
    values.  Each step solves the trust-region subproblem exactly in the Hessian's eigenbasis
    (so negative or vanishing curvature sends the step to the region's edge instead of
    stalling), clipped to the box; a step that does not lower the loss is retried within a
    smaller region, and a stencil that meets an infinite loss is shrunk.  Derivatives are
    central differences with second-order accurate mixed terms (stencil of
    ``1 + 2d + d(d-1)`` points): the valleys of the loss are narrow, and first-order mixed
    terms leave Newton crawling along them.

    ``hessian``: optional (K, d, d) Hessians from a cheaper approximation of the same loss
    (a coarsened objective); only their correlations are kept and the diagonals come from a
    ``1 + 2d`` point stencil.  ``predicted``: the model's decrease within the largest trust
    region, which the caller uses to drop searches that cannot end best.
    """

    MAX_STEP = 2.0  # largest trust radius (2-norm, in search coordinates)

    def __init__(self, X0, lower, upper, *, step=1e-4, xtol=1e-9, ftol=1e-11, hessian=None):
        self.x = np.array(X0, dtype=float)
        P, d = self.x.shape
        self.lower = np.broadcast_to(np.asarray(lower, float), (P, d))
        self.upper = np.broadcast_to(np.asarray(upper, float), (P, d))
        self.xtol, self.ftol = xtol, ftol
        self._diag = np.arange(d)
        self._stencil(mixed=hessian is None)
        self.correlation = None if hessian is None else self._correlation(hessian)
        self.h = np.full(P, step)
        self.f = np.full(P, np.inf)
        self.grad = np.zeros((P, d))
        self.hess = np.zeros((P, d, d))
        self.trial = self.x.copy()
        self.predicted = np.full(P, np.inf)  # the model's decrease within MAX_STEP
        self._step_model = np.full(P, np.inf)  # the model's decrease from x to trial
        self.radius = np.full(P, 0.5)
        self.active = np.ones(P, dtype=bool)
        self.started = np.zeros(P, dtype=bool)
        self.again = np.zeros(P, dtype=bool)  # re-evaluate the stencil at x (it was shrunk)

    def _stencil(self, mixed: bool) -> None:
        """The stencil's offsets: the centre, +-e_i, and with ``mixed`` +-(e_i + e_j)."""
        d = self.dimension
        eye = np.eye(d)
        self.pairs = list(itertools.combinations(range(d), 2)) if mixed else []
        self._pair_index = tuple(np.array(k, dtype=int) for k in zip(*self.pairs, strict=True))
        pair = [eye[i] + eye[j] for i, j in self.pairs]
        self.offsets = np.vstack([np.zeros(d), eye, -eye, *pair, *(-p for p in pair)])

    def measure_mixed(self) -> None:
        """From the next step on, measure the Hessian's mixed terms (the full stencil)
        instead of taking them from the given Hessians' correlations."""
        if self.correlation is not None:
            self.correlation = None
            self._stencil(mixed=True)

    @staticmethod
    def _correlation(hessian: np.ndarray) -> np.ndarray:
        root = np.sqrt(np.maximum(np.abs(np.diagonal(hessian, axis1=1, axis2=2)), 1e-300))
        return np.clip(hessian / root[:, :, None] / root[:, None, :], -1.0, 1.0)

    @property
    def dimension(self) -> int:
        return self.x.shape[1]

    def points(self):
        """(rows, stencil points of shape (rows, S, d)) for the active starts."""
        rows = np.flatnonzero(self.active)
        return rows, self.trial[rows, None, :] + self.h[rows, None, None] * self.offsets

    def update(self, rows: np.ndarray, values: np.ndarray) -> None:
        """Take the losses at the stencils of ``rows`` (as given by :meth:`points`).

        Works on those rows only (every active row is evaluated; the others are unchanged):
        a step of a warm refit has a handful of rows, so the cost is the number of numpy
        calls, not their size."""
        d, S = self.dimension, len(self.offsets)
        stencil = values.reshape(rows.size, S)
        f0 = stencil[:, 0]
        if d == 0:  # nothing to move: the loss at the (fixed) point is the answer
            self.f[rows] = f0
            self.active[rows] = False
            return
        f_old, again, started = self.f[rows], self.again[rows], self.started[rows]
        better = (f0 < f_old) | (again & (f0 < np.inf))
        dead = ~started & ~better  # the start itself has an infinite loss
        # Trust region (2-norm): a quarter of a failed step, twice a step that did as well
        # as the model predicted, half one that did much worse.
        tried = started & ~again
        x_old, trial = self.x[rows], self.trial[rows]
        moved = trial - x_old
        taken = np.sqrt((moved * moved).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (f_old - f0) / self._step_model[rows]
        radius = self.radius[rows]
        radius = np.where(tried & ~better, 0.25 * taken, radius)
        radius = np.where(tried & better & (ratio > 0.75), np.maximum(radius, 2.0 * taken), radius)
        radius = np.where(tried & better & (ratio < 0.25), 0.5 * taken, radius)
        radius = np.minimum(np.maximum(radius, 1e-12), self.MAX_STEP)
        x_new = np.where(better[:, None], trial, x_old)
        f = np.where(better, f0, f_old)
        finite = np.isfinite(stencil).all(axis=1)
        shrink = better & ~finite  # a stencil point met an infinite loss: shrink, re-evaluate
        h = np.where(shrink, self.h[rows] / 10.0, self.h[rows])
        good = better & finite
        if good.any():
            grad, hess = self._derivatives(stencil[good], h[good], rows[good])
            self.grad[rows[good]], self.hess[rows[good]] = grad, hess
        self.x[rows], self.f[rows], self.radius[rows], self.h[rows] = x_new, f, radius, h
        self.again[:] = False
        self.again[rows] = shrink
        self.started[rows] = True
        active = self.active[rows] & ~dead & (h >= 1e-10)
        trial = np.where(shrink[:, None], x_new, trial)
        movers = active & np.isfinite(f) & ~shrink
        self.active[rows], self.trial[rows] = active, trial
        if not movers.any():
            return
        moving = rows[movers]
        evals, evecs = np.linalg.eigh(self.hess[moving])
        g = self.grad[moving]
        g_eig = np.matmul(g[:, None, :], evecs)[:, 0, :]
        xm, lower, upper = x_new[movers], self.lower[moving], self.upper[moving]
        radius_m = radius[movers]

        # Trust-region steps for the current radius and for the largest one (what the model
        # promises), solved together; the step taken is clipped to the box, and if the
        # clipping spoils it (an active bound), the clipped steepest-descent step replaces it.
        def model(step):
            along = np.matmul(step[:, None, :], evecs)[:, 0, :]
            return -(g * step).sum(axis=1) - 0.5 * (evals * along * along).sum(axis=1)

        # (a positive definite model whose Newton step fits the current region takes the
        # same step within the largest one: one solve serves both; near an optimum, the
        # usual case, the subproblem's solver is not needed at all)
        inside = evals[:, 0] > 0
        if inside.all():
            newton = -g_eig / evals
            inside = (newton * newton).sum(axis=1) <= radius_m * radius_m
        if inside.all():
            unclipped = np.matmul(evecs, newton[:, :, None])[:, :, 0]
            promise = model(unclipped)
        else:
            k = xm.shape[0]
            two = np.concatenate([radius_m, np.full(k, self.MAX_STEP)])
            evals2, evecs2, g_eig2 = (np.concatenate([x, x]) for x in (evals, evecs, g_eig))
            steps = _trust_region_step(evals2, evecs2, g_eig2, two)
            unclipped = steps[:k]
            promise = model(steps[k:])
        step = np.minimum(np.maximum(xm + unclipped, lower), upper) - xm
        step_model = model(step)
        spoiled = ~(step_model > 0)
        if spoiled.any():
            direction = (
                -g[spoiled] / np.maximum(np.linalg.norm(g[spoiled], axis=1), 1e-300)[:, None]
            )
            descent = xm[spoiled] + radius_m[spoiled, None] * direction
            step[spoiled] = np.clip(descent, lower[spoiled], upper[spoiled]) - xm[spoiled]
            step_model = model(step)
        self._step_model[moving] = step_model
        # Convergence is judged on what the model promises within the largest radius (a
        # short step says nothing about how far the minimum is), or on a failed step.
        self.predicted[moving] = promise
        failed = tried[movers] & ~better[movers]
        done = (promise < self.ftol) | (radius_m < self.xtol)
        done |= failed & (step_model < self.ftol)
        # A failed step shorter than the stencil's spacing: the model, built from differences
        # at that spacing, cannot resolve a better point (at a kink of the loss, e.g. the
        # box's edge, it would otherwise shrink the region tenfold more before giving up).
        done |= failed & (taken[movers] < h[movers])
        done |= np.sqrt((step * step).sum(axis=1)) < self.xtol
        self.active[moving[done]] = False
        self.trial[moving] = xm + step

    def _derivatives(self, stencil: np.ndarray, h: np.ndarray, rows: np.ndarray):
        """Gradient and Hessian from central differences on the stencils."""
        d = self.dimension
        hh = h[:, None]
        fp, fm, fc = stencil[:, 1 : 1 + d], stencil[:, 1 + d : 1 + 2 * d], stencil[:, :1]
        grad = (fp - fm) / (2 * hh)
        diag = (fp - 2 * fc + fm) / hh**2
        if self.correlation is not None:
            root = np.sqrt(np.abs(diag))
            H = self.correlation[rows] * root[:, :, None] * root[:, None, :]
        else:
            H = np.empty((diag.shape[0], d, d))
            if self.pairs:
                i, j = self._pair_index
                n_pairs = len(self.pairs)
                plus = stencil[:, 1 + 2 * d : 1 + 2 * d + n_pairs]
                minus = stencil[:, 1 + 2 * d + n_pairs :]
                off = (plus + minus - fp[:, i] - fm[:, i] - fp[:, j] - fm[:, j] + 2 * fc) / (
                    2 * hh**2
                )
                H[:, i, j] = off
                H[:, j, i] = off
        H[:, self._diag, self._diag] = diag
        return grad, H

    def deactivate(self, rows) -> None:
        self.active[rows] = False

    def settle(self, rows, values) -> None:
        """Rows whose start is known to be optimal, with their losses there: no search."""
        self.f[rows] = values
        self.started[rows] = True
        self.active[rows] = False

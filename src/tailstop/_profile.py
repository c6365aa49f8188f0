"""Profile spacing deviances (private): the intervals of :func:`tailstop.analyze`.

``D(v) = 2 (n + 1) (L(v) - L^)`` with ``L`` the Ekström-scaled spacing loss minimised over the
other parameters with one parameter held at ``v``: the spacing analogue of the likelihood-ratio
statistic, asymptotically chi-square with one degree of freedom in regular cases (Cheng & Amin
1983; Ekström 2008). ``{v : D(v) <= chi2_1(confidence)}`` is the profile interval of that
parameter. Every constrained fit made on the way is kept with its deviance: those inside the
region are plausible parameter vectors, over which forecasts take their range.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tailstop.errors import ConstraintError, FitError

MAX_FITS_PER_END = 30
RTOL = 0.03  # an end within 3% of the critical root deviance (6% in deviance) is found


class Profile:
    """Profiles of the best possible score ``b`` and the noise ``o`` (maximise orientation)."""

    def __init__(
        self,
        ys,
        threshold: float,
        best_fit,
        loss_hat: float,
        c_max: int,
        b_range: tuple[float, float] = (-np.inf, np.inf),
    ):
        self.ys, self.limits = ys, (threshold, np.inf)
        self.best_fit, self.loss_hat = best_fit, loss_hat
        self.c_max, self.b_range = c_max, b_range
        self.scale = 2.0 * (ys.size + 1)
        # deviances are wanted to ~1e-3 (the ends' tolerance is RTOL = 3% of ~1.6 in root
        # deviance): the loss to 1e-3 / scale, not to the fit's default 1e-9
        self.ftol = 1e-3 / self.scale
        self.fits: list[tuple[Any, float]] = []
        self.kept: list[tuple[Any, float]] = []  # the ends: where forecasts take their range

    def deviance_of(self, dist) -> float:
        from tailstop.fitting import spacing_loss

        loss = spacing_loss(self.ys, self.limits, dist.a, dist.b, dist.c, dist.o, False)
        return self.scale * (loss - self.loss_hat)

    def fit(self, constraints: dict, warm=None):
        """The best fit under ``constraints`` (plus the search's own), kept with its deviance.

        Along a profile the fit is a local descent from the previous point: over ``c`` and its
        neighbours for ``b``, at the same ``c`` for ``o``.
        """
        from tailstop.distributions import NoisyQuadraticDistribution
        from tailstop.fitting import fit_local, fit_near
        from tailstop.regime import tail_constraints

        full = tail_constraints(self.c_max, self.b_range)
        full.update(constraints)
        try:
            # the profile of b minimises over c too (the neighbouring values of the previous
            # point); along the noise, c stays (other c are consistent_dimensions's job)
            search = fit_local if "o" in constraints else fit_near
            r = search(self.ys, self.limits, full, warm or self.best_fit, ftol=self.ftol)
            dist = NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False)
            deviance = self.scale * (r.loss - self.loss_hat)
        except ConstraintError:
            # the value leaves the fit's box (e.g. b below every allowed a): no parameters
            # there, so it is outside the region; the warm start stands in, never plausible
            dist, deviance = warm or self.best_fit, math.inf
        except FitError:  # nothing finite near the warm start: search everywhere
            try:
                dist = NoisyQuadraticDistribution.fit(
                    self.ys, limits=self.limits, constraints=full
                )
                deviance = self.deviance_of(dist)
            except FitError:
                # no finite loss anywhere under the constraint (e.g. a noise far too small for
                # the spread of the data): outside the region, never plausible
                dist, deviance = warm or self.best_fit, math.inf
        self.fits.append((dist, deviance))
        return dist, deviance

    def end(self, name: str, critical: float, direction: float, step: float, limit: float,
            xtol: float, guess: float | None = None) -> float:
        """:meth:`_end`, keeping the fit at the end found (the last one made)."""
        value = self._end(name, critical, direction, step, limit, xtol, guess)
        self.kept.append(self.fits[-1])
        return value

    def _end(self, name: str, critical: float, direction: float, step: float, limit: float,
             xtol: float, guess: float | None = None) -> float:
        """Where the profile deviance of ``name`` crosses ``critical``, searching from the fit.

        The signed root deviance ``r(v) = sign(v - v^) sqrt(D(v))`` is close to linear in
        ``v`` (exactly so when the profile is quadratic), so a secant on ``r`` finds the
        crossing in a few fits; a bracket is kept so the search cannot diverge. Returns
        ``limit`` when the deviance stays below ``critical`` up to it. ``guess``: where to
        look first (the end found before the latest trials, on an update).
        """
        v_hat = float(getattr(self.best_fit, name))
        target = math.sqrt(critical)
        inside_v, inside_r, inside_fit = v_hat, 0.0, self.best_fit
        outside_v = outside_r = None
        v1 = v_hat + direction * step
        if guess is not None and np.isfinite(guess) and (guess - v_hat) * direction > 0:
            v1 = float(guess)
        for _ in range(MAX_FITS_PER_END):
            if (v1 - limit) * direction >= 0:
                v1 = float(limit)
            dist, deviance = self.fit({name: float(v1)}, warm=inside_fit)
            r1 = math.sqrt(max(deviance, 0.0))
            if abs(r1 - target) <= RTOL * target:
                return float(v1)
            if r1 < target:
                if v1 == limit:
                    return float(limit)
                inside_v, inside_r, inside_fit = v1, r1, dist
            else:
                outside_v, outside_r = v1, r1
            if outside_v is not None and abs(outside_v - inside_v) <= xtol:
                break
            if outside_v is None:
                # secant through (v^, 0) or the last inside point, at most x4 further out
                slope = (r1 - inside_r) / (v1 - inside_v) if v1 != inside_v else 0.0
                far = inside_v + 4.0 * (v1 - v_hat)
                if slope * direction > 0:
                    guess = inside_v + (target - inside_r) / slope
                    v1 = min(guess, far) if direction > 0 else max(guess, far)
                else:
                    v1 = far
                v1 = v1 + 0.05 * (v1 - inside_v)  # aim a little past the crossing
            else:
                guess = inside_v + (target - inside_r) * (outside_v - inside_v) / (
                    outside_r - inside_r
                )
                lo, hi = sorted((inside_v, outside_v))
                width = hi - lo
                v1 = float(np.clip(guess, lo + 0.05 * width, hi - 0.05 * width))
        if outside_v is None:
            return float(v1)
        # r interpolated linearly inside the bracket; fitted there too, so the end has
        # its own parameters for the forecasts' ranges
        end = float(
            inside_v + (target - inside_r) * (outside_v - inside_v) / (outside_r - inside_r)
        )
        self.fit({name: end}, warm=inside_fit)
        return end

    def plausible(self, critical: float) -> list:
        """The kept fits (profile ends, other c) inside the confidence region: deviance at
        most ``critical``, up to what an end may overshoot it by (``RTOL`` in root deviance:
        an end is accepted anywhere within it, so all accepted ends are kept)."""
        limit = critical * (1.0 + RTOL) ** 2 * (1.0 + 1e-9)
        return [dist for dist, deviance in self.kept if deviance <= limit]

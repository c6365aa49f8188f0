"""The fits inside a profile's region where more trials gain least (private): the lower
ends of the forecasts' ranges, the methods :class:`tailstop._profile.Profile` takes from
:class:`GainEnds`.

Where the noise cannot be told from zero, the least gain is at the noiseless law whose support
ends closest above the best score (:meth:`GainEnds.noiseless_end`); elsewhere it is the
Lagrangian penalised fit of :mod:`tailstop._leastgain` whose deviance is the critical value
(:meth:`GainEnds.least_gain_end`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tailstop.errors import ConstraintError, FitError

BRACKET_LOG_WIDTH = 0.02  # a least-gain bracket within 2% in the multiplier is closed
MAX_UPDATE_FITS = 3  # least-gain fits on an update (from the end before the latest trials)
NOISELESS_RESOLUTION = 1e-6  # a noiseless end this much closer to the best score is at it


class GainEnds:
    """Searches of a :class:`tailstop._profile.Profile` (``self``) for the region's fits where
    more trials gain least; they use its fits, tolerances and :meth:`still_at_end`."""

    # set by tailstop._profile.Profile
    ys: np.ndarray
    limits: tuple[float, float]
    best_fit: Any
    loss_hat: float
    scale: float
    ftol: float
    fits: list[tuple[Any, float]]
    kept: list[tuple[Any, float]]

    if TYPE_CHECKING:  # defined by tailstop._profile.Profile

        def constraints(self) -> dict: ...

        def still_at_end(
            self, fit: Any, critical: float, before: float | None = None
        ) -> tuple[Any, float] | None: ...

        def fit(
            self, constraints: dict, warm: Any = None, *, screen: bool | str = True
        ) -> tuple[Any, float]: ...

    def noiseless_end(self, critical: float, start, start_deviance: float, floor: float,
                      guess: float | None = None, guess_fit=None) -> float | None:
        """The lowest ``b`` of the noiseless fits inside the region, or None when there are
        none (``start``: the noiseless fit, ``b`` free, with its deviance ``start_deviance``;
        ``floor``: the best observation, which a noiseless ``b`` must exceed).

        When the seed noise cannot be told from zero, the confidence region reaches the
        boundary ``o = 0`` and there stretches down in ``b`` towards the best observation,
        where one more trial is least likely to improve: the corner that bounds the expected
        gain from below, which neither the profile of ``b`` (its low end needs noise) nor that
        of ``o`` (at the fitted ``b``) reaches. The deviance grows like ``-2 log(b - floor)``
        there: the search runs on ``u = log(b - floor)``, its steps aimed by the form of a
        noiseless end's deviance (:func:`_noiseless_aim`). The fit at the end is kept.
        """
        from tailstop._profile import MAX_FITS_PER_END, RTOL

        target = math.sqrt(critical)
        r0 = math.sqrt(max(start_deviance, 0.0))
        if not (np.isfinite(start_deviance) and r0 <= (1 + RTOL) * target):
            return None
        b0 = float(start.b)
        if not b0 > floor:
            return None
        if r0 >= (1 - RTOL) * target:
            self.kept.append((start, start_deviance))
            return b0
        u0 = math.log(b0 - floor)
        inside = (u0, r0, start)
        outside = None
        previous_width, refitted = math.inf, set()
        again = None
        if guess is not None and floor < guess < b0:
            u1 = math.log(guess - floor)
            if guess_fit is not None and float(guess_fit.b) == guess:
                again = guess_fit
                shortcut = self.still_at_end(guess_fit, critical)
                if shortcut is not None:
                    self.kept.append(shortcut)
                    return guess
        else:
            aim0 = _noiseless_aim(u0, start_deviance, None, None, critical)
            assert aim0 is not None  # start_deviance < critical here, so the aim exists
            u1 = aim0
        end = (start, start_deviance)
        for _ in range(MAX_FITS_PER_END):
            b1 = floor + math.exp(u1)
            if not b1 - floor > NOISELESS_RESOLUTION * (b0 - floor):
                # the region reaches the best observation (its laws gain next to nothing
                # more): the last fit inside is the end, rather than steps towards b = floor
                break
            constraints = {"b": b1, "o": 0.0}
            if again is not None:
                dist, deviance = self.fit(constraints, warm=again, screen="guarded")
                again = None
            else:
                dist, deviance = self.fit(constraints, warm=inside[2])
            r1 = math.sqrt(max(deviance, 0.0)) if np.isfinite(deviance) else math.inf
            if abs(r1 - target) <= RTOL * target:
                end = (dist, deviance)
                break
            if r1 < target:
                inside = (u1, r1, dist)
                end = (dist, deviance)
            else:
                outside = (u1, r1, int(dist.c))
            if (outside is not None and r1 < target and int(dist.c) != outside[2]
                    and outside[0] not in refitted):
                # the outside point was fitted from another c (a descent reaches only the
                # neighbouring ones): refit it once from this c before trusting the wall
                refitted.add(outside[0])
                u1, outside = outside[0], None
                continue
            aim = _noiseless_aim(u0, start_deviance, u1, deviance, critical)
            if outside is None:
                # at least a quarter e-fold closer, or a model that undershoots crawls
                u1 = inside[0] - 1.0 if aim is None else min(aim, inside[0] - 0.25)
            else:
                width = inside[0] - outside[0]
                if width <= 0.02:
                    break
                if aim is None or width > 0.5 * previous_width:
                    aim = 0.5 * (inside[0] + outside[0])  # bisect: the model did not shrink it
                previous_width = width
                u1 = float(np.clip(aim, outside[0] + 0.05 * width, inside[0] - 0.05 * width))
        self.kept.append(end)
        return float(end[0].b)

    def least_gain_end(self, critical: float, current_best: float, horizon: float,
                       guess: float | None = None, guess_fit=None,
                       guess_deviance: float | None = None) -> float | None:
        """The fit on the region's boundary where ``horizon`` more trials are expected to gain
        least over ``current_best`` (see :mod:`tailstop._leastgain`), kept among the ends;
        returns the Lagrange multiplier that reached it (``guess``, ``guess_fit``: the
        multiplier and fit before the latest trials, on an update), or None when no penalised
        fit came inside or the estimate's own gain is nil. The search of
        :meth:`least_gain_steps`, its fits made one by one."""
        steps = self.least_gain_steps(critical, current_best, horizon, guess, guess_fit,
                                      guess_deviance)
        answer = None
        while True:
            try:
                request = steps.send(answer)
            except StopIteration as done:
                found = done.value
                break
            try:
                answer = request.alone(self.ftol)
            except (ConstraintError, FitError) as exc:
                answer = exc
        if found is None:
            return None
        weight, end = found
        self.kept.append(end)
        return weight

    def least_gain_steps(self, critical: float, current_best: float, horizon: float,
                         guess: float | None = None, guess_fit=None,
                         guess_deviance: float | None = None):
        """The search of :meth:`least_gain_end` as a generator: it yields its penalised fits
        (:class:`tailstop._leastgain.PenalisedFit`, to be made with the profile's tolerance),
        takes each one's :class:`~tailstop.fitting.FitResult` or the error it raised, and
        returns ``(multiplier, (fit, deviance))`` of the end (not yet kept) or None.

        The root deviance grows about as a power of the multiplier: the secant runs on
        ``(log lambda, log r)``, inside a bracket once it has one, bisecting where it stalls on
        one side. Where the penalised fit changes basin the deviance can jump across the
        critical value: a bracket narrower than ``BRACKET_LOG_WIDTH`` closes on its inside
        point. An update (``guess`` given) makes at most ``MAX_UPDATE_FITS`` fits.
        """
        from tailstop._leastgain import PenalisedFit, PenalisedSearch, expected_gains
        from tailstop._profile import MAX_FITS_PER_END, RTOL
        from tailstop.distributions import NoisyQuadraticDistribution

        fit = self.best_fit
        gain = float(expected_gains(fit.a, fit.b, int(fit.c), fit.o, current_best, horizon)[0])
        if not (np.isfinite(gain) and gain > 0):
            return None
        target = math.log(math.sqrt(critical))
        try:
            search = PenalisedSearch(self.ys, self.limits, self.constraints())
        except (ConstraintError, FitError):
            return None
        inside = outside = None  # (log lambda, log r, fit)
        weight, warm = 4.0, fit
        if guess is not None and np.isfinite(guess) and guess > 0:
            weight = float(guess)
            if guess_fit is not None:
                warm = guess_fit
                shortcut = self.still_at_end(guess_fit, critical, guess_deviance)
                if shortcut is not None:
                    return weight, shortcut
        end = previous = None
        # An update starts at the end before the latest trials, which moves little with one
        # more trial: a few fits, and the last one inside the region stands for the end.
        budget = MAX_FITS_PER_END // 3 if guess is None else MAX_UPDATE_FITS
        for _ in range(budget):
            r = yield PenalisedFit(
                search, warm, weight / (self.scale * gain), current_best, horizon,
                # an update starts from the same fit before the latest trials: its c
                neighbours=warm is not guess_fit,
            )
            if isinstance(r, (ConstraintError, FitError)):
                break
            dist = NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False)
            deviance = self.scale * (r.loss - self.loss_hat)
            self.fits.append((dist, deviance))
            if not np.isfinite(deviance):
                break
            point = (math.log(weight), 0.5 * math.log(max(deviance, 1e-12)), dist)
            if abs(point[1] - target) <= math.log1p(RTOL):
                end = (weight, dist, deviance)
                break
            if point[1] < target:
                inside, end = point, (weight, dist, deviance)
            else:
                outside = point
            if inside is not None and outside is not None:
                u0, v0, u1, v1 = inside[0], inside[1], outside[0], outside[1]
                width = u1 - u0
                if width < BRACKET_LOG_WIDTH:
                    # the deviance jumps across the critical value (the penalised fit changes
                    # basin): the last multiplier inside is the end
                    break
                kept_side = previous is not None and (previous[1] < target) == (point[1] < target)
                aim = u0 + (target - v0) * (u1 - u0) / (v1 - v0)
                if kept_side or not u0 + 0.05 * width <= aim <= u1 - 0.05 * width:
                    # the secant stalls on one side: the deviance jumps between two basins of
                    # the penalised fit. Aim next to where their penalised losses cross (from
                    # the tangents at the bracket's fits), on the side still missing; else bisect
                    crossing = _basin_crossing(inside, outside, gain, current_best, horizon)
                    side = -1.0 if point[1] >= target else 1.0
                    aim = u0 + 0.5 * width
                    if crossing is not None:
                        near = crossing + side * 0.4 * BRACKET_LOG_WIDTH
                        if u0 < near < u1:
                            aim = near
                u = float(aim)
            elif inside is not None and previous is not None and previous[0] != inside[0]:
                slope = (inside[1] - previous[1]) / (inside[0] - previous[0])
                u = inside[0] + min(max((target - inside[1]) / max(slope, 0.2), 0.0), 2.0) + 0.05
            else:  # r about proportional to the multiplier
                u = point[0] + float(np.clip(target - point[1], -2.0, 2.0)) * (
                    1.05 if point[1] < target else 1.0
                )
            previous = point
            weight, warm = math.exp(u), (inside[2] if inside is not None else fit)
        if end is None:
            return None
        return end[0], end[1:]


def _basin_crossing(inside, outside, gain: float, current_best: float, horizon: float):
    """``log lambda`` where the penalised losses of the bracket's two fits cross, or None.

    A fit at multiplier ``lambda`` minimises ``L + lambda h / (2 (n + 1))``, ``h = g / gain``
    (``g`` the expected gain of ``horizon`` trials, ``gain`` the estimate's); in deviance
    units a basin's penalised loss is about ``D_i + lambda h_i`` near its fit (a tangent in
    ``lambda``), so the penalised optimum leaves the inside basin for the outside one near
    ``lambda = (D_out - D_in) / (h_in - h_out)``.
    """
    from tailstop._leastgain import expected_gains

    (_, log_r_in, fit_in), (_, log_r_out, fit_out) = inside, outside
    gains = [
        float(expected_gains(f.a, f.b, int(f.c), f.o, current_best, horizon)[0]) / gain
        for f in (fit_in, fit_out)
    ]
    rise = math.exp(2.0 * log_r_out) - math.exp(2.0 * log_r_in)
    drop = gains[0] - gains[1]
    if not (np.isfinite(rise) and rise > 0 and np.isfinite(drop) and drop > 0):
        return None
    return math.log(rise / drop)


def _noiseless_aim(u0: float, d0: float, u1, d1, critical: float) -> float | None:
    """Where the noiseless profile ``D(u) = d0 + 2 k (x - 1 - log x)``, ``x = exp(u - u0)``,
    reaches ``critical`` below ``u0``, with ``k`` from the point ``(u1, d1)`` (``k = 1``
    without one: the last spacing's own term, ``-log`` of its share, alone). That form is the
    deviance of the spacing next to a noiseless end of support as the end moves down to the
    best observation; the profile's other terms scale ``k``. None when the point does not fix
    a positive ``k``."""
    k = 1.0
    if u1 is not None:
        x1 = math.exp(u1 - u0)
        shape = x1 - 1.0 - math.log(x1)
        if not (np.isfinite(d1) and shape > 1e-12 and d1 > d0 and u1 < u0):
            return None
        k = (d1 - d0) / (2.0 * shape)
    goal = (critical - d0) / (2.0 * k)  # x - 1 - log x = goal, x < 1
    if not goal > 0:
        return None
    v = -(1.0 + goal)  # log x; Newton on exp(v) - v - 1 - goal, decreasing and convex in v
    for _ in range(30):
        step = (math.exp(v) - v - 1.0 - goal) / (math.exp(v) - 1.0)
        v -= step
        if abs(step) < 1e-12:
            break
    return u0 + v

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
from typing import TYPE_CHECKING, Any

import numpy as np

from tailstop._gainends import GainEnds
from tailstop.errors import ConstraintError, FitError

if TYPE_CHECKING:
    from tailstop._globalsearch import FitResult
    from tailstop._spacing import SpacingObjective

MAX_FITS_PER_END = 30
MAX_RESTARTS = 3  # resumptions of an end's search from a better fit (another c, or past a wall)
RTOL = 0.03  # an end within 3% of the critical root deviance (6% in deviance) is found


class Profile(GainEnds):
    """Profiles of the best possible score ``b`` and the noise ``o`` (maximise orientation)."""

    def __init__(
        self,
        ys,
        threshold: float,
        best_fit,
        loss_hat: float,
        c_max: int,
        b_range: tuple[float, float] = (-np.inf, np.inf),
        noise: float | None = None,
    ):
        self.ys, self.limits = ys, (threshold, np.inf)
        self.best_fit, self.loss_hat = best_fit, loss_hat
        self.c_max, self.b_range = c_max, b_range
        self.noise = noise  # a known seed noise fixes o in every fit (no profile of o)
        # the c the profiles range over: every c, until the effective dimension's profile
        # shows which c can reach inside the region (restrict_dimensions)
        self.c_range = (1, int(c_max))
        self.scale = 2.0 * (ys.size + 1)
        # deviances are wanted to ~1e-3 (the ends' tolerance is RTOL = 3% of ~1.6 in root
        # deviance): the loss to 1e-3 / scale, not to the fit's default 1e-9
        self.ftol = 1e-3 / self.scale
        self.fits: list[tuple[Any, float]] = []
        self.kept: list[tuple[Any, float]] = []  # the ends: where forecasts take their range
        # the loss of these data, built on first use
        self._objective: SpacingObjective | None = None
        self._deviances: dict = {}  # deviance_of's, by parameters
        # an update whose new trials all fell below the threshold (the tail's data unchanged,
        # only the censored count grew) may keep ends that still hold (still_at_end)
        self.reuse_ends = False
        self.noise_floor = False  # the profile of the noise reached 0 (see _end_search)

    def restrict_dimensions(self, deviances: dict, critical: float) -> None:
        """Range the profiles over only the ``c`` whose own best fit lies inside the region
        (``deviances``: ``{c: profile deviance}`` of the effective dimension, contiguous
        around the estimate's ``c``; inside to the tolerance an end is accepted with).

        Exact, not a shortcut: the profile deviance of ``b`` (or of the gain) is the least
        over ``c`` of each ``c``'s own, which is at least that ``c``'s deviance, so a ``c``
        outside the region never sets an end, never fits better at one (:meth:`_farther`)
        and holds no parameters of the least-gain search's region."""
        limit = critical * (1.0 + RTOL) ** 2
        lo = hi = int(self.best_fit.c)
        while deviances.get(lo - 1, math.inf) <= limit:
            lo -= 1
        while deviances.get(hi + 1, math.inf) <= limit:
            hi += 1
        self.c_range = (lo, hi)

    def constraints(self) -> dict:
        """The fit constraints of the tail, ``c`` within :attr:`c_range`."""
        from tailstop.regime import tail_constraints

        full = tail_constraints(self.c_max, self.b_range, self.noise)
        full["c"] = self.c_range
        return full

    def deviance_of(self, dist) -> float:
        """The deviance of the parameters ``dist`` (not refitted): an upper bound of the
        profile deviance at any of their values, one evaluation of the loss (remembered: an
        update's start of an end asks for it twice when the end no longer holds)."""
        from tailstop._spacing import SpacingObjective

        key = (float(dist.a), float(dist.b), int(dist.c), float(dist.o))
        if key not in self._deviances:
            if self._objective is None:
                self._objective = SpacingObjective(self.ys, self.limits, (-np.inf, np.inf))
            loss = float(self._objective.loss(*key, False)[0])
            self._deviances[key] = (
                self.scale * (loss - self.loss_hat) if np.isfinite(loss) else math.inf
            )
        return self._deviances[key]

    def still_at_end(self, fit, critical: float, before: float | None = None):
        """An update's shortcut: ``(fit, deviance)`` when ``fit``, an end found before the
        latest trials, still lies at the region's boundary on these data, to the tolerance
        every end is found to (``RTOL`` in root deviance), with no refit; else None. Only
        when ``reuse_ends`` (the latest trials all fell below the threshold: one trial in a
        small tail can move every fit by more than a unit of deviance). The fit is kept
        among the fits (and so among the plausible laws).

        ``before``: the deviance the end had then, when it was accepted inside the region
        short of the boundary (a least-gain search whose deviance jumps across the critical
        value); it stands while its root deviance stays within ``RTOL`` of that one's.
        """
        if not self.reuse_ends:
            return None
        deviance = self.deviance_of(fit)
        r, target = math.sqrt(max(deviance, 0.0)), math.sqrt(critical)
        at_boundary = abs(r - target) <= RTOL * target
        if before is not None and np.isfinite(before) and not at_boundary:
            at_boundary = r <= (1 + RTOL) * target and (
                abs(r - math.sqrt(max(before, 0.0))) <= RTOL * target
            )
        if not at_boundary:
            return None
        self.fits.append((fit, deviance))
        return fit, deviance

    def fit(self, constraints: dict, warm=None, *, screen: bool | str = True):
        """The best fit under ``constraints`` (plus the search's own), kept with its deviance.

        Along a profile the fit is a local descent from the previous point: over ``c`` and its
        neighbours for ``b``, at the same ``c`` for ``o``. ``screen=False``: ``warm`` is the
        constrained fit at a value next to this one, so the descent starts from it alone, with
        no screening starts; ``screen="guarded"``: ``warm`` is the same constrained fit before
        the latest trials, so only the screening starts that look better than it join
        (:func:`tailstop._localsearch.fit_near`).
        """
        from tailstop._localsearch import fit_local, fit_near

        full = self.constraints()
        full.update(constraints)
        start = warm or self.best_fit
        r: FitResult | ConstraintError | FitError
        try:
            # the profile of b minimises over c too (the neighbouring values of the previous
            # point); along the noise, c stays (other c are consistent_dimensions's job)
            if set(constraints) == {"o"}:  # a step along the noise alone keeps its c
                r = fit_local(self.ys, self.limits, full, start, ftol=self.ftol)
            else:
                r = fit_near(self.ys, self.limits, full, start, ftol=self.ftol, screen=screen)
        except (ConstraintError, FitError) as exc:
            r = exc
        return self._kept_fit(r, full, start)

    def _kept_fit(self, r, full: dict, start):
        """``(fit, deviance)`` of a fit's result ``r`` (or the error it raised), kept."""
        from tailstop.distributions import NoisyQuadraticDistribution

        if isinstance(r, ConstraintError):
            # the value leaves the fit's box (e.g. b below every allowed a): no parameters
            # there, so it is outside the region; the warm start stands in, never plausible
            dist, deviance = start, math.inf
        elif isinstance(r, FitError):  # nothing finite near the warm start: search everywhere
            try:
                dist = NoisyQuadraticDistribution.fit(
                    self.ys, limits=self.limits, constraints=full
                )
                deviance = self.deviance_of(dist)
            except FitError:
                # no finite loss anywhere under the constraint (e.g. a noise far too small for
                # the spread of the data): outside the region, never plausible
                dist, deviance = start, math.inf
        else:
            dist = NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False)
            deviance = self.scale * (r.loss - self.loss_hat)
        self.fits.append((dist, deviance))
        return dist, deviance

    def descend_each(self, warms: dict) -> dict:
        """``{c: (fit, deviance)}``: for each ``c`` of ``warms`` (``{c: fit}``, the fits at
        those ``c`` before the latest trials) the descent from its fit, all in lock step (the
        same fits as :meth:`fit` with ``{"c": c}`` and ``screen=False``, one by one). A descent
        that fails is refitted on its own by :meth:`fit`. Kept among the fits."""
        from tailstop._localsearch import descend_each
        from tailstop.distributions import NoisyQuadraticDistribution

        cs = sorted(warms)
        full = self.constraints()
        try:
            found = descend_each(self.ys, self.limits, full, [warms[c] for c in cs], self.ftol)
        except (ConstraintError, FitError):
            found = [None] * len(cs)
        out = {}
        for c, r in zip(cs, found, strict=True):
            if r is None:
                out[c] = self.fit({"c": c}, warm=warms[c], screen=False)
                continue
            dist = NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False)
            out[c] = (dist, self.scale * (r.loss - self.loss_hat))
            self.fits.append(out[c])
        return out

    def start(self, name: str, critical: float, direction: float, step: float, limit: float,
              guess: float | None = None, guess_fit=None) -> tuple:
        """How :meth:`_end` begins: ``(value, (fit, deviance))`` when an update's previous end
        stands without a fit; else ``("fit", v1, again)``: the first fit is at ``v1``, from
        ``again`` (the previous end's fit, or None: from the estimate). The first fits of
        several ends are independent, so they are made together (:meth:`ends`)."""
        v_hat = float(getattr(self.best_fit, name))
        v1 = v_hat + direction * step
        again = None
        if guess is not None and np.isfinite(guess) and (guess - v_hat) * direction > 0:
            v1 = float(guess)
            if guess_fit is not None and float(getattr(guess_fit, name)) == v1 and (
                name != "o" or int(guess_fit.c) == int(self.best_fit.c)
            ):
                again = guess_fit
        if again is not None:
            # An update: the end before the latest trials, evaluated on these data, is often
            # still at the boundary (or, at the limit, still inside): then it stands, unfitted
            if v1 == limit:
                end = (again, self.deviance_of(again))
                if end[1] < critical:
                    self.fits.append(end)
                    return v1, end
            end = self.still_at_end(again, critical)
            if end is not None:
                return v1, end
            v1 = self._moved_end(name, again, v1, v_hat, math.sqrt(critical))
        return "fit", v1, again

    def end(self, name: str, critical: float, direction: float, step: float, limit: float,
            xtol: float, guess: float | None = None, guess_fit=None) -> float:
        """:meth:`_end`, keeping the fit at the end found."""
        value, end = self._end(name, critical, direction, step, limit, xtol, guess, guess_fit)
        self.kept.append(end)
        return value

    def ends(self, searches: dict) -> dict:
        """``{key: (value, (fit, deviance))}``: the :meth:`end` of each of ``searches``
        (``{key: arguments of end}``), all searched together
        (:func:`tailstop._lockstep.profile_ends`)."""
        from tailstop._lockstep import profile_ends

        return profile_ends([(self, searches)])[0]

    def _end(self, *args):
        from tailstop._lockstep import run_searches

        return run_searches({None: (self, self._end_steps(*args))})[None]

    def _end_search(self, name: str, critical: float, direction: float, *args):
        """:meth:`_end_steps`, noting when the noise's lower end is 0 (``noise_floor``: the
        least-gain search beside it then stops, its result unused)."""
        found = yield from self._end_steps(name, critical, direction, *args)
        if (name, direction) == ("o", -1.0) and found[0] == 0.0:
            self.noise_floor = True
        return found

    def _end_steps(self, name: str, critical: float, direction: float, step: float,
                   limit: float, xtol: float, guess: float | None = None, guess_fit=None):
        """Where the profile deviance of ``name`` crosses ``critical``, searching from the fit,
        and the ``(fit, deviance)`` there.

        The signed root deviance ``r(v) = sign(v - v^) sqrt(D(v))`` is close to linear in
        ``v`` (exactly so when the profile is quadratic), so a secant on ``r`` finds the
        crossing in a few fits; a bracket is kept so the search cannot diverge. Returns
        ``limit`` when the deviance stays below ``critical`` up to it. ``guess``: where to
        look first (the end found before the latest trials, on an update), and ``guess_fit``
        the constrained fit there then: the first fit starts from it alone.

        The steps descend from the previous point over its ``c`` and the neighbouring ones,
        but along ``b`` the constrained optimum can move through several ``c`` at once (a
        higher end of the support fits with a higher ``c``), and a descent stays in the basin
        of the noise it starts from. The upper end of ``b`` is therefore checked by a search
        over the higher ``c``; when one of them fits better and lies inside the region, the
        search resumes outwards from it. (Lower ends need no check: along them ``c`` falls
        towards 1, which the steps reach; on the real searches and on draws from the law a
        check over all other ``c`` found a better fit at 5 of 89 upper ends and 0 of 84
        lower ones.)

        A generator: it yields its requests, ``("fit", constraints, warm, screen)`` for
        :meth:`fit` and ``("farther", value, end)`` for :meth:`_farther`, and takes their
        answers (see :func:`tailstop._lockstep.run_searches`).
        """
        start = self.start(name, critical, direction, step, limit, guess, guess_fit)
        if len(start) == 2:  # found without a fit
            return start
        v1, again = start[1:]
        v_hat = float(getattr(self.best_fit, name))
        inside = (v_hat, 0.0, self.best_fit)
        target = math.sqrt(critical)
        checked = again  # the end's fit before the latest trials, checked then
        for _ in range(MAX_RESTARTS):
            value, repeated, outside, end = yield from self._search(
                name, critical, direction, limit, xtol, v1, inside, again
            )
            again = None
            # an end confirmed by, or found next to, the fit it had before the latest trials
            # (checked then), at the same c, keeps that check
            if value == limit or repeated:
                return value, end
            if checked is not None and int(end[0].c) == int(checked.c) and (
                abs(value - v1) <= 0.5 * abs(v1 - v_hat)
            ):
                return value, end
            checked = None
            r = math.sqrt(max(end[1], 0.0))
            if r >= (1 - RTOL) * target:  # at the crossing: check the farther c
                farther = (
                    (yield ("farther", value, end)) if (name, direction) == ("b", 1.0) else None
                )
                if farther is None:
                    return value, end
                end, r = farther, math.sqrt(max(farther[1], 0.0))
                if r >= (1 - RTOL) * target:
                    return value, end
            elif outside is not None:
                # interpolated next to the bracket's outside point and well inside: a wall
                # in the profile, or that point's fit missed the optimum the end's fit has
                # (another c); refit it from there (and check the farther c) to tell
                probe = yield ("fit", {name: outside}, end[0], True)
                if (name, direction) == ("b", 1.0) and probe[1] > critical:
                    probe = (yield ("farther", outside, probe)) or probe
                r_out = math.sqrt(max(probe[1], 0.0))
                if r_out > (1 + RTOL) * target:
                    return value, end  # a wall: the crossing is within xtol of the end
                if r_out >= (1 - RTOL) * target or outside == limit:
                    return outside, probe
                value, end, r = outside, probe, r_out
            else:
                return value, end  # the search ran out of fits inside the region
            # inside the region after all: resume outwards from there (the root deviance
            # about linear in v from the estimate on)
            inside = (value, r, end[0])
            reach = (value - v_hat) * min(4.0, target / max(r, 1e-3) * 1.05)
            v1 = v_hat + max(reach, direction * step, key=abs)
        return value, end

    def _moved_end(self, name: str, fit, v_old: float, v_hat: float, target: float) -> float:
        """Where to fit first on an update: the previous end ``v_old``, unless the root
        deviance ``r`` of its fit ``fit`` on these data (not refitted: an upper bound, and
        close to the refitted one, which one trial moves by O(1 / n) units of deviance) puts
        the end elsewhere: then, with ``r`` linear in ``v`` from the estimate ``v_hat``, at
        ``v_hat + (v_old - v_hat) target / r`` (a move of at most a quarter of the
        half-width; farther, the secant search is left to find it). An end that still
        holds (``r`` within ``RTOL`` of ``target``) is fitted where it was."""
        r = math.sqrt(max(self.deviance_of(fit), 0.0))
        if not (np.isfinite(r) and r > 0.0) or abs(r - target) <= RTOL * target:
            return v_old
        moved = v_hat + (v_old - v_hat) * target / r
        return moved if abs(moved - v_old) <= 0.25 * abs(v_old - v_hat) else v_old

    def _farther(self, value: float, end):
        """The fit at ``b = value`` over the values of ``c`` above the end's, if it is better
        than the end's own fit, with its deviance (kept among the fits); else None. (The
        next c is included: a local descent reaches only the basin of the noise it starts
        from.)"""
        from tailstop._localsearch import fit_if_better
        from tailstop.distributions import NoisyQuadraticDistribution

        dist, deviance = end
        if not np.isfinite(deviance):
            return None
        others = list(range(int(dist.c) + 1, self.c_range[1] + 1))
        if not others:
            return None
        full = self.constraints()
        full["b"] = float(value)
        try:
            r = fit_if_better(self.ys, self.limits, full, dist, others)
        except (ConstraintError, FitError):
            return None
        if r is None:
            return None
        other = NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False)
        other_deviance = self.scale * (r.loss - self.loss_hat)
        if not other_deviance < deviance - 1e-3:
            return None
        self.fits.append((other, other_deviance))
        return other, other_deviance

    def _search(self, name, critical, direction, limit, xtol, v1, inside, again):
        """The secant search of :meth:`_end` from the point ``inside = (v, r, fit)``, with
        the first fit at ``v1`` (started from ``again`` alone when given, and the next one
        from that fit). Returns the end; whether that first fit confirmed it; the bracket's
        outside point when the end was interpolated in a bracket (else None); and the end's
        ``(fit, deviance)``."""
        v_hat = float(getattr(self.best_fit, name))
        target = math.sqrt(critical)
        inside_v, inside_r, inside_fit = inside
        outside_v = outside_r = None
        path = [(v_hat, self.best_fit), (inside_v, inside_fit)]  # fits along this profile
        first = again is not None  # the first fit starts from the previous end's fit
        for _ in range(MAX_FITS_PER_END):
            if (v1 - limit) * direction >= 0:
                v1 = float(limit)
            repeated = again is not None and float(getattr(again, name)) == v1
            if first:
                first = False
                # from the previous end's fit (here, or next to here when the end moved), with
                # the screening starts of its c and the neighbouring ones (the new trials may
                # favour another basin)
                dist, deviance = yield ("fit", {name: float(v1)}, again, True)
                # the next fit is next to it: from it alone, inside the region or not
                again = dist
            elif again is not None:
                dist, deviance = yield ("fit", {name: float(v1)}, again, False)
                again = None
            else:
                dist, deviance = yield ("fit", {name: float(v1)},
                                        predicted(float(v1), inside_fit, path, name), True)
            if np.isfinite(deviance):
                path.append((float(v1), dist))
            r1 = math.sqrt(max(deviance, 0.0))
            if abs(r1 - target) <= RTOL * target:
                return float(v1), repeated, None, (dist, deviance)
            previous_v, previous_r = inside_v, inside_r
            if r1 < target:
                if v1 == limit:
                    return float(limit), False, None, (dist, deviance)
                inside_v, inside_r, inside_fit = v1, r1, dist
            else:
                outside_v, outside_r = v1, r1
            if outside_v is not None and abs(outside_v - inside_v) <= xtol:
                break
            if outside_v is None:
                # secant through the previous inside point (at first the estimate, r = 0),
                # at most 4 times as far from the estimate
                slope = (r1 - previous_r) / (v1 - previous_v) if v1 != previous_v else 0.0
                far = v1 + 4.0 * (v1 - v_hat)
                if slope * direction > 0:
                    aim = v1 + (target - r1) / slope
                    v1 = min(aim, far) if direction > 0 else max(aim, far)
                else:
                    v1 = far
                v1 = v1 + 0.05 * (v1 - inside_v)  # aim a little past the crossing
            else:
                # regula falsi on r inside the bracket; where r is far from linear (a wall
                # beyond a flat stretch) it crawls from the inside, so when the last step
                # moved the inside end by less than a quarter of the bracket, bisect
                width = abs(outside_v - inside_v)
                crawling = r1 < target and abs(v1 - previous_v) < 0.25 * (
                    width + abs(v1 - previous_v)
                )
                if crawling:
                    v1 = 0.5 * (inside_v + outside_v)
                else:
                    aim = inside_v + (target - inside_r) * (outside_v - inside_v) / (
                        outside_r - inside_r
                    )
                    lo, hi = sorted((inside_v, outside_v))
                    v1 = float(np.clip(aim, lo + 0.05 * width, hi - 0.05 * width))
        if outside_v is None:
            return float(inside_v), False, None, (inside_fit, inside_r**2)
        # r interpolated linearly inside the bracket; fitted there too, so the end has
        # its own parameters for the forecasts' ranges
        end = float(
            inside_v + (target - inside_r) * (outside_v - inside_v) / (outside_r - inside_r)
        )
        return end, False, outside_v, (
            yield ("fit", {name: end}, predicted(end, inside_fit, path, name), True)
        )

    def plausible(self, critical: float) -> list:
        """The kept fits (profile ends, other c) inside the confidence region: deviance at
        most ``critical``, up to what an end may overshoot it by (``RTOL`` in root deviance:
        an end is accepted anywhere within it, so all accepted ends are kept)."""
        limit = critical * (1.0 + RTOL) ** 2 * (1.0 + 1e-9)
        return [dist for dist, deviance in self.kept if deviance <= limit]


def predicted(value: float, warm, path: list, name: str | None = None):
    """A start for the next fit along a path of fits (a profile of ``name``, or the
    least-gain search's multipliers, ``name`` None): ``warm`` (a fit on the path) moved by
    the secant through the two fits of ``path`` (``[(value, fit)]``) at ``warm``'s ``c``
    nearest ``value``, the parameters (the best end, the width and the noise in logs; ``name``
    held at ``value``) linear in the path's variable, as along a smooth valley of the loss.
    ``warm`` itself where there is no such pair, where ``value`` lies beyond twice their
    spacing from the nearer one, or where a noise or a width (``b - a``, 0 for a law that
    is a normal) is 0."""
    from tailstop.distributions import NoisyQuadraticDistribution

    c = int(warm.c)
    near = sorted(((v, f) for v, f in path
                   if int(f.c) == c and f.o > 0 and f.b > f.a and v != value),
                  key=lambda item: abs(item[0] - value))
    if len(near) < 2 or not warm.o > 0:
        return warm
    (v1, f1), (v2, f2) = near[:2]
    if v1 == v2 or abs(value - v1) > 2.0 * abs(v1 - v2):
        return warm
    t = (value - v1) / (v1 - v2)

    def line(x1: float, x2: float) -> float:
        return x1 + t * (x1 - x2)

    b = value if name == "b" else line(f1.b, f2.b)
    o = value if name == "o" else math.exp(line(math.log(f1.o), math.log(f2.o)))
    width = math.exp(line(math.log(f1.b - f1.a), math.log(f2.b - f2.a)))
    if not (np.isfinite(b) and np.isfinite(o) and np.isfinite(width) and width > 0):
        return warm
    return NoisyQuadraticDistribution(b - width, b, c, o, convex=False)

"""``analyze``: the tail of a search, its best possible score and what more trials will bring."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from tailstop import forecast
from tailstop._data import CleanScores, real_array, real_number, shown
from tailstop._intervals import least_best_fits
from tailstop._reuse import (
    _State,
)
from tailstop.errors import InvalidParameterError

__all__ = ["MIN_TRIALS", "EffectiveDimension", "Interval", "TailEstimate", "analyze"]

MIN_TRIALS = 10  # finite scores analyze needs: a tail of at least regime.MIN_TAIL points
MAX_DIMENSION = 10
SLOW_DIMENSION = 5  # from here on random search converges too slowly for the law to hold early
DEGENERATE_SPREAD = 1e-12  # scores spread less than this, relative to their size, are tied


class Interval(NamedTuple):
    """A point estimate with a confidence interval ``[low, high]``.

    A named tuple: unpack it or read its fields. The fields are arrays when the quantity is
    (e.g. :meth:`TailEstimate.tuning_curve` at several trial counts).

    Parameters
    ----------
    estimate : float or ndarray
        The point estimate.
    low, high : float or ndarray
        The ends of the confidence interval (at the estimate's ``confidence``).

    Examples
    --------
    >>> best = Interval(estimate=0.82, low=0.80, high=0.84)
    >>> value, low, high = best
    >>> value, round(best.high - best.low, 2)
    (0.82, 0.04)
    """

    estimate: Any
    low: Any
    high: Any


def _span_text(values) -> str:
    """``"1-7"`` for a run of three or more consecutive integers, else ``"1, 2"``."""
    values = sorted(int(v) for v in values)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}-{values[-1]}"
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True)
class EffectiveDimension:
    """The fitted effective number of hyperparameters and every value the data allow.

    Parameters
    ----------
    estimate : int
        The effective dimension ``c`` of the chosen fit.
    consistent : tuple of int
        Every ``c`` the confidence region contains (``estimate`` among them), over the same
        tails as the best possible's interval: the chosen tail's profile over ``c``, and the
        ``c`` of the plausible fits of its stability partner and of the deeper tails of many
        trials (with every ``c`` between).

    Examples
    --------
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> dimension = estimate.effective_dimension
    >>> dimension.estimate in dimension.consistent  # the true dimension is 2
    True
    >>> problem.effective_dimension in dimension.consistent
    True
    """

    estimate: int
    consistent: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class TailEstimate:
    """Everything ``analyze`` learned about a search (in the user's orientation).

    Gains are positive numbers in the direction of improvement, whether the search
    maximises or minimises.

    Attributes
    ----------
    direction : str
        ``"maximize"`` or ``"minimize"``.
    confidence : float
        Level of every interval.
    n_trials, n_failed, n_censored : int
        Trials given, failed ones among them, and finite scores below the threshold (counted
        but not fitted).
    current_best : float
        Best score so far.
    best_possible : Interval
        Best expected score the fitted law allows (its upper end when maximising). The
        interval is the chosen tail's profile interval, widened by the gap between its
        stability partner's estimate and its own (the threshold's choice) and over the deeper
        tails of many trials (docs/how-it-works.md).
    effective_dimension : EffectiveDimension
    noise : float
        Fitted standard deviation of the seed noise (the given one when ``noise_known``).
    threshold : float
        Start of the tail: the law is fitted to the scores beyond it.
    tail_fraction : float
        Share of the trials beyond the threshold.
    fits_well : bool
        Whether the noisy quadratic describes the tail; ``fit_reason`` says why or why not.
    distribution : NoisyQuadraticDistribution
        The fitted law, in the user's orientation.
    noise_known : bool
        Whether the seed noise was given to :func:`analyze` (and held fixed in every fit).

    Examples
    --------
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> print(estimate)
    tailstop estimate (maximize, 200 trials, 0 failed)
      current best        0.815008
      best possible       ...
      law fits            yes: the noisy quadratic describes the tail
    >>> bp = estimate.best_possible  # the truth is problem.best = 0.822
    >>> bool(bp.low <= problem.best <= bp.high)
    True
    >>> gain = estimate.remaining_gain
    >>> bool(gain.estimate == bp.estimate - estimate.current_best and gain.low <= gain.high)
    True
    >>> curve = estimate.tuning_curve([10, 100, 1000])  # median best after n trials
    >>> bool(np.all(np.diff(curve.estimate) > 0) and np.all(curve.low <= curve.high))
    True
    >>> bool(0 < estimate.prob_improvement(0.001, 100) < 1)
    True
    >>> sorted(estimate.to_dict()["expected_gain"])
    ['1', '10', '100']
    """

    direction: str
    confidence: float
    n_trials: int
    n_failed: int
    n_censored: int
    current_best: float
    best_possible: Interval
    effective_dimension: EffectiveDimension
    noise: float
    threshold: float
    tail_fraction: float
    fits_well: bool
    fit_reason: str
    distribution: Any = field(repr=False)
    _clean: CleanScores = field(repr=False)
    _fits: tuple = field(repr=False)
    _state: _State = field(repr=False)
    noise_known: bool = False
    # with a known noise: the same data's estimate with the noise fitted, whose fits the
    # intervals span too (see _with_free_region)
    _free: TailEstimate | None = field(default=None, repr=False)

    @property
    def scores(self) -> np.ndarray:
        """Every trial's score in the order given, in the user's orientation; NaN = failed."""
        scores = self._clean.scores
        assert scores is not None  # clean_scores keeps them
        return scores

    @property
    def resolution(self) -> float | None:
        """The metric's step given to :func:`analyze` (the fitted scores were rounded to its
        multiples), or None."""
        return self._clean.resolution

    @property
    def noise_interval(self) -> Interval:
        """The seed noise ``o`` with its profile-likelihood interval at ``confidence``.

        The ends are where the profile deviance of ``o`` (over the other parameters of the
        chosen tail's fit, at its ``c``) crosses the chi-square critical value with one degree
        of freedom, as for :attr:`best_possible`, widened to the noise of every fit the
        forecasts range over (other ``c``, the ends of the best possible's interval, the other
        tails): all of them lie in the confidence region. The low end is 0 when a noiseless
        law fits the tail within that deviance; early in a search it often is, while the point
        estimate can be many times the true noise (the noise and the tail's curvature are hard
        to tell apart in a few trials). A given noise is its own interval; so is a degenerate
        tail's 0.
        """
        noise = float(self.noise)
        if self.noise_known:
            return Interval(noise, noise, noise)
        ends = self._state.ends
        # no search below a noiseless fit, and none at all on a degenerate tail
        low = float(ends.get(("o", -1.0), 0.0))
        high = float(ends.get(("o", +1.0), noise))
        others = [float(fit.o) for fit in self._fits]
        return Interval(noise, min(low, noise, *others), max(high, noise, *others))

    # -- forecasts ------------------------------------------------------------------------
    @property
    def remaining_gain(self) -> Interval:
        """Best possible minus the current best (in the direction of improvement)."""
        b, lo, hi = (self._to_gain(v) for v in self.best_possible)
        return Interval(b, min(lo, hi), max(lo, hi))

    def _to_gain(self, value: float) -> float:
        sign = 1.0 if self.direction == "maximize" else -1.0
        return sign * (value - self.current_best)

    def expected_gain(self, k) -> Interval:
        """Expected improvement of the best score after ``k`` more random-search trials.

        The interval is the range over the plausible fits ``F`` of the law's own gain
        ``G_F(k) = int_y^U (1 - F(t)^k) dt``, ``y`` the current best; ``U`` is the metric's
        best value when ``bounds`` give one (accuracy 1): no trial scores above it, so a
        best already there has nothing left to gain, whatever the fitted noise allows. The
        stopping rules read its upper end.

        When the law does not describe the tail (``fits_well`` False) the lower end is 0, the
        nonparametric bound: the simultaneous band of the scores' distribution allows no mass
        above the current best, and the law's own lower end, the only other, then has no
        footing (measured, ``examples/benchmarks/bench_analyze.py``: on such estimates the
        law's range missed the true gain from below in 17-26% of synthetic searches of
        100-300 trials). The estimate and the upper end stay the law's.

        The estimate takes the chance of any gain from the ranks, as :meth:`prob_improvement`
        does: ``G_F(k) * (k / (n + k)) / (1 - F(y)^k)`` for the best fit ``F`` (``n``
        trials with a finite score), kept within the interval. The gain is the integral of
        the chance of gaining more than ``delta`` over ``delta``; the law's own chance of any
        gain runs high (a fit places the best near its ``n / (n + 1)`` quantile), and so did
        its gain (``examples/benchmarks/bench_forecast.py``: errors 2-26% lower).
        """
        k = _check_trials(k)
        y0 = self._clean.values.max()
        values = [
            np.asarray(forecast.expected_gain(d, y0, k, ceiling=self._ceiling))[()]  # 0-d: scalar
            for d in self._fits
        ]
        low, high = np.min(values, axis=0), np.max(values, axis=0)
        ks = np.asarray(k, dtype=float)
        anything = forecast.prob_improvement(self._fits[0], y0, 0.0, ks, ceiling=self._ceiling)
        n = float(self._clean.values.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(anything > 0, ks / (n + ks) / anything, 1.0)
        estimate = np.clip(values[0] * scale, low, high)
        if not self.fits_well:
            low = np.zeros_like(low)[()]  # (a scalar for a scalar k)
        return Interval(estimate[()] if isinstance(estimate, np.ndarray) else estimate, low, high)

    @property
    def _ceiling(self) -> float:
        """The metric's best possible value (its known bound, in the fit's maximise
        orientation), which no trial can beat: the forecasts stop there."""
        return float(self._clean.bounds[1]) if self._clean.bounds is not None else np.inf

    @cached_property  # (read by the rules at every decision, on an estimate that never changes)
    def _at_ceiling(self) -> bool:
        """The current best is the metric's best possible value: nothing can improve it."""
        return bool(self._clean.values.max() >= self._ceiling)

    def prob_improvement(self, delta: float, k) -> np.ndarray:
        """Chance that ``k`` more trials improve the best by more than ``delta`` (an array,
        0-d for a scalar ``delta`` and ``k``).

        The mean over the fit and the plausible fits ``F`` (those the intervals span) of
        ``k / (n + k) * (1 - F(y* + delta)^k) / (1 - F(y*)^k)``, ``n`` the trials with a
        finite score: the chance of any gain from the ranks alone (exact on average, whatever
        the law), times a law's chance that a gain exceeds ``delta``
        (:func:`tailstop.forecast.prob_improvement`). The law's own ``1 - F(y* + delta)^k``
        runs too high: a fit places the best near its ``n / (n + 1)`` quantile. The mean over
        the plausible fits carries the parameters' uncertainty into the chance: from the fit
        alone, gains it all but ruled out (a chance below 0.05) came 12% of the time on
        real and synthetic searches, and 3% with the mean
        (``examples/benchmarks/bench_prob_calibration.py``). Its integral over ``delta`` is
        the mean of the fits' gains, inside :meth:`expected_gain`'s interval; that method's
        estimate is the fit's own.
        """
        ks, deltas = _check_trials(k), _check_delta(delta)
        try:
            np.broadcast_shapes(deltas.shape, ks.shape)
        except ValueError:
            raise InvalidParameterError(
                f"delta and k must broadcast together, got shapes {deltas.shape} and {ks.shape}"
            ) from None
        return forecast.prob_improvement(
            list(self._fits), self._clean.values.max(), deltas, ks, ceiling=self._ceiling,
            observed=self._clean.values.size,
        )

    def trials_to_gain(self, delta: float, probability: float = 0.5) -> np.ndarray:
        """Trials needed to improve the best by ``delta`` with ``probability`` (an array of
        whole numbers as floats, 0-d for a scalar ``delta``): the least ``k`` at which
        :meth:`prob_improvement` reaches ``probability`` (infinite where it never does), at
        least ``n p / (1 - p)`` (``n`` trials so far: as many again for an even chance of any
        gain)."""
        probability = real_number(probability, "probability")
        if not 0 <= probability < 1:
            raise InvalidParameterError(f"probability must be in [0, 1), got {probability}")
        needed = forecast.trials_to_gain(
            list(self._fits), self._clean.values.max(), _check_delta(delta), probability,
            ceiling=self._ceiling, observed=self._clean.values.size,
        )
        # (the bisection ends a hair above the root on real k: a whole-number root stays one)
        return np.ceil(needed * (1.0 - 1e-9))

    def tuning_curve(self, ns, q: float = 0.5) -> Interval:
        """The ``q``-quantile tuning curve (best score after ``n`` trials) with its band.

        Semi-parametric: where the best of ``n`` trials lies in the fitted tail (its quantile
        level ``q^(1/n)`` above the share of trials below the threshold) the fitted law gives
        it, with the range over the plausible fits as the band, so the curve extrapolates
        beyond the data; below the threshold, where the law is not claimed, it is the
        empirical curve of the observed trials with its simultaneous (LD) band. The plausible
        fits include, for the lower end, the laws inside the region whose expected best of
        ``m`` and ``4 m`` trials is least (``m`` the finite trials so far), found on the
        first call (a few Lagrangian fits, about 0.1-0.3 s) and kept. In the tail the curve
        is at least the threshold and its low end at least the empirical band's (or the
        threshold): a law that misfits the tail (one outlier in it) could place a level above
        the share below the threshold far below the data. When the law does not describe the
        tail (``fits_well`` False) the low end is also at most the empirical band's (a
        simultaneous bound on the scores' distribution): the law's band alone missed the true curve
        from below in 8-34% of such synthetic searches of 100-300 trials.
        """
        from tailstop.nonparametric import confidence_bands

        ns = real_array(ns, "ns")
        if np.any(~np.isfinite(ns)) or np.any(ns <= 0):
            raise InvalidParameterError("ns must be finite and positive")
        q = real_number(q, "q")
        if not 0 < q < 1:
            raise InvalidParameterError(f"q must be in (0, 1), got {q}")
        level = q ** (1.0 / ns)
        # a trial scores at most the metric's bound, whatever the noise of the law allows
        curves = [
            np.minimum(d.ppf(level), self._ceiling)
            for d in (*self._fits, *self._least_best_fits())
        ]
        top = self._clean.bounds[1] if self._clean.bounds is not None else np.inf
        ys = _fit_ys(self._clean)
        lower_cdf, point, upper_cdf = confidence_bands(ys, self.confidence, b=max(top, ys.max()))
        empirical_low = upper_cdf.quantile_tuning_curve(ns, q)
        # The best of n trials in the tail (its level above the share below the threshold)
        # lies above the threshold, wherever a law that misfits the tail (one outlier in it)
        # puts that level; and the band's low end is no lower than the empirical band's.
        floor = float(self._clean.from_user(self.threshold))
        est = np.maximum(curves[0], floor)
        hi = np.maximum(np.max(curves, axis=0), floor)
        lo = np.maximum(np.min(curves, axis=0), np.minimum(floor, empirical_low))
        if not self.fits_well:  # the law has no footing: the empirical band's low end holds
            lo = np.minimum(lo, empirical_low)
        below = level <= 1.0 - self.tail_fraction
        if np.any(below):
            est = np.where(below, point.quantile_tuning_curve(ns, q), est)
            lo = np.where(below, empirical_low, lo)
            hi = np.where(below, lower_cdf.quantile_tuning_curve(ns, q), hi)
        est, lo, hi = (self._clean.to_user(v) for v in (est, lo, hi))
        if self.direction == "minimize":
            lo, hi = hi, lo
        return Interval(est, lo, hi)

    def _least_best_fits(self) -> tuple:
        """The fits inside the region whose expected best of ``n`` and of ``4 n`` trials is
        least (``n`` the finite trials so far), for the tuning curve's lower end: computed on
        first use and kept (a Lagrangian fit per horizon, :mod:`tailstop._leastgain`, with
        the gain measured from the threshold). Empty when there is nothing to profile."""
        from tailstop.distributions import NoisyQuadraticDistribution

        cache, dist = self._state.curve_fits, self._state.fit
        if "fits" not in cache:
            bounds = self._clean.bounds
            cache["fits"] = () if not isinstance(dist, NoisyQuadraticDistribution) else (
                least_best_fits(  # (not when all scores are tied: nothing was fitted)
                    _fit_ys(self._clean),
                    dist,
                    float(self._clean.from_user(self.threshold)),
                    self._state.c_max,
                    bounds if bounds is not None else (-np.inf, np.inf),
                    float(stats.chi2.ppf(self.confidence, 1)),
                    self._state.noise,
                )
            )
        if self._free is not None:
            return (*cache["fits"], *self._free._least_best_fits())
        return cache["fits"]

    # -- reporting ------------------------------------------------------------------------
    def to_dict(self, gains=(1, 10, 100)) -> dict:
        """Plain-JSON summary (strict JSON: a non-finite number, such as the threshold of
        a search whose every finite score is in the tail, is ``None``). ``gains``: the
        numbers of further trials whose :meth:`expected_gain` it holds, under
        ``"expected_gain"`` keyed by the number as a string."""
        from tailstop._report import json_safe

        ks = _check_trials(gains).ravel()
        if np.any(ks != np.round(ks)) or np.any(ks > 2.0**62):
            raise InvalidParameterError(
                f"gains must be whole numbers of trials (at most 2**62), got {shown(gains)}"
            )
        gains = {str(k): _plain(self.expected_gain(k)) for k in sorted(set(ks.astype(int)))}
        return json_safe({
            "direction": self.direction,
            "confidence": self.confidence,
            "n_trials": self.n_trials,
            "n_failed": self.n_failed,
            "n_censored": self.n_censored,
            "current_best": float(self.current_best),
            "best_possible": _plain(self.best_possible),
            "remaining_gain": _plain(self.remaining_gain),
            "effective_dimension": {
                "estimate": self.effective_dimension.estimate,
                "consistent": list(self.effective_dimension.consistent),
            },
            "noise": float(self.noise),
            "noise_interval": _plain(self.noise_interval),
            "noise_known": bool(self.noise_known),
            "resolution": self.resolution,
            "threshold": float(self.threshold),
            "tail_fraction": float(self.tail_fraction),
            "expected_gain": gains,
            "fits_well": bool(self.fits_well),
            "fit_reason": self.fit_reason,
        })

    def _noise_text(self) -> str:
        if self.noise_known:
            return f"{self.noise:.3g}  (given)"
        _, low, high = self.noise_interval
        return f"{self.noise:.3g}  [{low:.3g}, {high:.3g}]"

    def __str__(self) -> str:
        bp, gain10 = self.best_possible, self.expected_gain(10)
        dims = _span_text(self.effective_dimension.consistent)
        lines = [
            f"tailstop estimate ({self.direction}, {self.n_trials} trials, {self.n_failed} failed)",
            f"  current best        {self.current_best:.6g}",
            f"  best possible       {bp.estimate:.6g}  [{bp.low:.6g}, {bp.high:.6g}] "
            f"at {self.confidence:.0%}",
            f"  effective dimension {self.effective_dimension.estimate}  (consistent: {dims})",
            f"  seed noise          {self._noise_text()}",
            f"  expected gain, 10   {gain10.estimate:.3g}  [{gain10.low:.3g}, {gain10.high:.3g}]"
            + (f"  ({NO_LOWER_BOUND})" if not self.fits_well and gain10.high > 0 else ""),
            f"  tail                {self.tail_fraction:.0%} of trials "
            + (f"{'above' if self.direction == 'maximize' else 'below'} {self.threshold:.6g}"
               if np.isfinite(self.threshold) else "(every finite score)"),
            f"  law fits            {'yes' if self.fits_well else 'no'}: {self.fit_reason}",
        ]
        return "\n".join(lines)


# why the expected gain's low end is 0 where the law does not fit (printed estimate, report)
NO_LOWER_BOUND = "low end 0: without the law, nothing bounds it from below"


def _plain(interval: Interval) -> dict:
    return {name: float(v) for name, v in interval._asdict().items()}


def _check_noise(noise) -> float | None:
    """A known seed noise: a finite number >= 0, or None."""
    if noise is None:
        return None
    value = real_number(noise, "noise")
    if not (math.isfinite(value) and value >= 0):
        raise InvalidParameterError(f"noise must be finite and >= 0, got {noise!r}")
    return value


def _check_delta(delta) -> np.ndarray:
    array = real_array(delta, "delta")
    if np.any(~np.isfinite(array)) or np.any(array < 0):
        raise InvalidParameterError(f"delta must be finite and >= 0, got {delta!r}")
    return array


def _check_trials(k) -> np.ndarray:
    array = real_array(k, "k (the number of trials)")
    if np.any(~np.isfinite(array)) or np.any(array < 0):
        raise InvalidParameterError(
            f"k (the number of trials) must be finite and >= 0, got {shown(k)}"
        )
    return array


def _fit_ys(clean: CleanScores) -> np.ndarray:
    """Finite scores plus ``-inf`` for failed trials: censored below any threshold."""
    return np.concatenate([clean.values, np.full(clean.n_failed, -np.inf)])


# analyze() lives in its own module (the pipeline; this one holds what it returns); re-exported
# here, where users look for it.
from tailstop._analyze import analyze  # noqa: E402

"""``analyze``: the tail of a search, its best possible score and what more trials will bring."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from tailstop import forecast, regime
from tailstop._data import CleanScores, clean_scores
from tailstop._intervals import build_region, least_best_fits
from tailstop._reuse import (
    FULL_RESELECT_GROWTH,
    _extends,
    _kept_tail_size,
    _State,
    _tail_unchanged,
)
from tailstop.errors import FitError, InvalidParameterError, NotEnoughTrials, TailstopError

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
        Best expected score the fitted law allows (its upper end when maximising).
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

        ``int_y^U (1 - F(t)^k) dt`` for each plausible fit ``F`` (the interval is their
        range), ``y`` the current best; ``U`` is the metric's best value when ``bounds`` give
        one (accuracy 1): no trial scores above it, so a best already there has nothing left
        to gain, whatever the fitted noise allows.
        """
        k = _check_trials(k)
        y0 = self._clean.values.max()
        values = [forecast.expected_gain(d, y0, k, ceiling=self._ceiling) for d in self._fits]
        return Interval(values[0], np.minimum.reduce(values), np.maximum.reduce(values))

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
        0-d for a scalar ``delta`` and ``k``)."""
        k = _check_trials(k)
        delta = _check_delta(delta)
        return forecast.prob_improvement(
            self._fits[0], self._clean.values.max(), delta, k, ceiling=self._ceiling
        )

    def trials_to_gain(self, delta: float, probability: float = 0.5) -> np.ndarray:
        """Trials needed to improve the best by ``delta`` with ``probability`` (an array, 0-d
        for a scalar ``delta``)."""
        if not 0 <= probability < 1:
            raise InvalidParameterError(f"probability must be in [0, 1), got {probability}")
        delta = _check_delta(delta)
        return forecast.trials_to_gain(
            self._fits[0], self._clean.values.max(), delta, probability, ceiling=self._ceiling
        )

    def tuning_curve(self, ns, q: float = 0.5) -> Interval:
        """The ``q``-quantile tuning curve (best score after ``n`` trials) with its band.

        Semi-parametric: where the best of ``n`` trials lies in the fitted tail (its quantile
        level ``q^(1/n)`` above the share of trials below the threshold) the fitted law gives
        it, with the range over the plausible fits as the band, so the curve extrapolates
        beyond the data; below the threshold, where the law is not claimed, it is the
        empirical curve of the observed trials with its simultaneous (LD) band. The plausible
        fits include, for the lower end, the laws inside the region whose expected best of
        ``m`` and ``4 m`` trials is least (``m`` the finite trials so far), found on the
        first call (a few Lagrangian fits, about 0.1-0.3 s) and kept.
        """
        from tailstop.nonparametric import confidence_bands

        ns = np.asarray(ns, dtype=float)
        if np.any(~np.isfinite(ns)) or np.any(ns <= 0):
            raise InvalidParameterError("ns must be finite and positive")
        if not 0 < q < 1:
            raise InvalidParameterError(f"q must be in (0, 1), got {q}")
        level = q ** (1.0 / ns)
        # a trial scores at most the metric's bound, whatever the noise of the law allows
        curves = [
            np.minimum(d.ppf(level), self._ceiling)
            for d in (*self._fits, *self._least_best_fits())
        ]
        est = curves[0]
        lo, hi = np.minimum.reduce(curves), np.maximum.reduce(curves)
        below = level <= 1.0 - self.tail_fraction
        if np.any(below):
            top = self._clean.bounds[1] if self._clean.bounds is not None else np.inf
            ys = _fit_ys(self._clean)
            top = max(top, float(ys.max()))
            lower_cdf, point, upper_cdf = confidence_bands(ys, self.confidence, b=top)
            est = np.where(below, point.quantile_tuning_curve(ns, q), est)
            lo = np.where(below, upper_cdf.quantile_tuning_curve(ns, q), lo)
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
    def to_dict(self) -> dict:
        """Plain-JSON summary."""
        gains = {str(k): _plain(self.expected_gain(k)) for k in (1, 10, 100)}
        return {
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
            "noise_known": bool(self.noise_known),
            "threshold": float(self.threshold),
            "tail_fraction": float(self.tail_fraction),
            "expected_gain": gains,
            "fits_well": bool(self.fits_well),
            "fit_reason": self.fit_reason,
        }

    def __str__(self) -> str:
        bp, gain10 = self.best_possible, self.expected_gain(10)
        dims = _span_text(self.effective_dimension.consistent)
        lines = [
            f"tailstop estimate ({self.direction}, {self.n_trials} trials, {self.n_failed} failed)",
            f"  current best        {self.current_best:.6g}",
            f"  best possible       {bp.estimate:.6g}  [{bp.low:.6g}, {bp.high:.6g}] "
            f"at {self.confidence:.0%}",
            f"  effective dimension {self.effective_dimension.estimate}  (consistent: {dims})",
            f"  seed noise          {self.noise:.3g}{'  (given)' if self.noise_known else ''}",
            f"  expected gain, 10   {gain10.estimate:.3g}  [{gain10.low:.3g}, {gain10.high:.3g}]",
            f"  tail                {self.tail_fraction:.0%} of trials "
            f"{'above' if self.direction == 'maximize' else 'below'} {self.threshold:.6g}",
            f"  law fits            {'yes' if self.fits_well else 'no'}: {self.fit_reason}",
        ]
        return "\n".join(lines)


def _plain(interval: Interval) -> dict:
    return {name: float(v) for name, v in interval._asdict().items()}


def _check_noise(noise) -> float | None:
    """A known seed noise: a finite number >= 0, or None."""
    if noise is None:
        return None
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"noise must be a number >= 0 or None, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise InvalidParameterError(f"noise must be finite and >= 0, got {noise!r}")
    return float(noise)


def _check_delta(delta):
    array = np.asarray(delta, dtype=float)
    if np.any(~np.isfinite(array)) or np.any(array < 0):
        raise InvalidParameterError(f"delta must be finite and >= 0, got {delta!r}")
    return array


def _check_trials(k):
    array = np.asarray(k, dtype=float)
    if np.any(~np.isfinite(array)) or np.any(array < 0):
        raise InvalidParameterError(f"the number of trials must be finite and >= 0, got {k!r}")
    return array


def _fit_ys(clean: CleanScores) -> np.ndarray:
    """Finite scores plus ``-inf`` for failed trials: censored below any threshold."""
    return np.concatenate([clean.values, np.full(clean.n_failed, -np.inf)])


def analyze(
    scores,
    direction: str,
    *,
    confidence: float = 0.9,
    max_dimension: int | None = None,
    bounds: tuple[float, float] | None = None,
    noise: float | None = None,
    previous: TailEstimate | None = None,
) -> TailEstimate:
    """Fit the noisy quadratic law to the tail of a random search and forecast it.

    Parameters
    ----------
    scores : sequence of float or None
        One score per finished trial, in the order they finished. ``None``, NaN and +-inf
        are failed trials: they count as trials that scored below the tail (they used a
        trial and can never be the best) but their values are never fitted. A diverged trial
        reported as a finite worst score (accuracy 0, say) is an ordinary score below the
        threshold: censored, counted, harmless.
    direction : {"maximize", "minimize"}
    confidence : float
        Level of every interval.
    max_dimension : int, optional
        Cap on the effective dimension (e.g. the number of hyperparameters searched);
        default 10.
    bounds : (low, high), optional
        Known range of the metric (e.g. ``(0, 1)`` for accuracy, ``(0, None)`` for a loss,
        ``None`` leaving a side open): the best possible score
        and its interval stay within it, and no forecast goes beyond it (a current best at
        the bound has nothing left to gain); a score outside raises ``InvalidDataError``.
    noise : float, optional
        The seed noise's standard deviation, when known: measured by re-running one
        configuration with several seeds (their scores' sample std), or 0 for a deterministic
        objective. The point estimates (best possible, effective dimension, every forecast's
        estimate) then come from fits that hold it fixed instead of estimating it, which is
        where small searches err most: from 64 trials the fitted noise runs about twice the
        truth, and the forecast gains with it. The tail is the one chosen with the noise
        fitted (its tests hold their level so; choosing with the noise held made the
        forecasts worse). The intervals span both fits, as without ``noise`` (fits that hold
        it alone give intervals that cover too rarely when the tail is not exactly the law),
        so they keep their coverage and do not carry the given value's own error.
    previous : TailEstimate, optional
        The estimate before the latest trials: reused as a warm start, and until the search
        has grown by 10% also for its threshold (kept at its value) and for the effective
        dimensions it found far outside the confidence region (deviance above
        ``2 critical + 4``), which are not refitted; when the latest trials all fell below
        the threshold, interval ends and effective dimensions that still hold on the new data
        (one evaluation of the loss each) are kept without a refit. Ignored unless it is an
        estimate of some of these trials (the same direction, and its scores among these, in
        any order).

    Returns
    -------
    TailEstimate

    Examples
    --------
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> bp = estimate.best_possible
    >>> bool(bp.low <= bp.estimate <= bp.high), estimate.n_trials
    (True, 200)
    >>> gain = estimate.expected_gain(100)
    >>> bool(0 <= gain.low <= gain.estimate <= gain.high)
    True
    """
    if not 0.5 <= confidence < 1:
        raise InvalidParameterError(f"confidence must be in [0.5, 1), got {confidence}")
    c_max = MAX_DIMENSION if max_dimension is None else int(max_dimension)
    if max_dimension is not None and not (1 <= c_max <= MAX_DIMENSION and c_max == max_dimension):
        raise InvalidParameterError(
            f"max_dimension must be an integer in [1, {MAX_DIMENSION}], got {max_dimension!r}"
        )
    if previous is not None and not isinstance(previous, TailEstimate):
        raise InvalidParameterError(
            "previous must be a TailEstimate from an earlier analyze, got "
            f"{type(previous).__name__}"
        )
    noise = _check_noise(noise)
    if noise is None:
        if previous is not None and previous._free is not None:
            previous = previous._free  # its fits with the noise fitted
        return _estimate(scores, direction, confidence, c_max, bounds, None, previous)
    free_previous = None
    if previous is not None:
        free_previous = previous._free or (previous if previous._state.noise is None else None)
    free = _estimate(scores, direction, confidence, c_max, bounds, None, free_previous)
    fixed = _estimate(scores, direction, confidence, c_max, bounds, noise, previous,
                      choice=free._state.regime)
    return _with_free_region(fixed, free)


def _with_free_region(fixed: TailEstimate, free: TailEstimate) -> TailEstimate:
    """The estimate of fits that hold a known noise fixed, ``fixed``, with its intervals
    widened to span ``free``'s (the same data, the noise fitted): the best possible's
    interval, the consistent effective dimensions, and the plausible fits every forecast's
    interval ranges over. Holding the noise fixed in the intervals too left the best
    possible's 90% interval covering the truth in only 0.72-0.76 of 200 synthetic searches
    of 100-1,000 trials, whose tails are not exactly the law (the fitted noise absorbs some of
    the misfit); the point estimates, which the fixed noise makes better, stay ``fixed``'s.
    """
    bp, other = fixed.best_possible, free.best_possible
    low, high = min(bp.low, other.low), max(bp.high, other.high)
    dimensions = (*fixed.effective_dimension.consistent, *free.effective_dimension.consistent)
    consistent = tuple(range(min(dimensions), max(dimensions) + 1))
    return dataclasses.replace(
        fixed,
        best_possible=Interval(bp.estimate, low, high),
        effective_dimension=EffectiveDimension(fixed.effective_dimension.estimate, consistent),
        _fits=(*fixed._fits, *free._fits),
        _free=free,
    )


def _estimate(scores, direction: str, confidence: float, c_max: int, bounds,
              noise: float | None, previous: TailEstimate | None,
              choice: regime.RegimeChoice | None = None) -> TailEstimate:
    """:func:`analyze` with the noise fitted (``noise`` None) or held at ``noise``, every
    interval from those fits alone. ``choice``: the tail a cold call fits (the one chosen
    with the noise fitted), instead of choosing one."""
    if previous is not None and previous._state.noise != noise:
        previous = None  # fitted under another noise: nothing to reuse
    clean = clean_scores(scores, direction, bounds)
    if previous is not None and previous._clean.offset != clean.offset:
        # an update works in its previous estimate's coordinates (see clean_scores)
        kept = clean_scores(scores, direction, bounds, offset=previous._clean.offset)
        clean, previous = (kept, previous) if _extends(previous, kept) else (clean, None)
    elif previous is not None and not _extends(previous, clean):
        previous = None  # not an estimate of (some of) these trials: nothing to reuse
    n_finite = clean.values.size
    if n_finite < MIN_TRIALS:
        raise NotEnoughTrials(
            f"analyze needs at least {MIN_TRIALS} finished trials with finite scores; "
            f"got {n_finite} (and {clean.n_failed} failed)"
        )
    # the best possible expected score lies within the metric's known range
    b_range = clean.bounds if clean.bounds is not None else (-np.inf, np.inf)
    magnitude = np.max(np.abs(clean.to_user(clean.values)))
    if np.ptp(clean.values) <= DEGENERATE_SPREAD * magnitude:
        return _degenerate(clean, confidence, c_max, noise)  # equal to (nearly) float precision
    ys = _fit_ys(clean)

    # the state an update reuses (None: a cold call, or one that chooses the tail afresh)
    reused = (
        previous._state
        if previous is not None
        and n_finite < previous._state.selected_at * FULL_RESELECT_GROWTH
        else None
    )
    if reused is not None:
        state = reused
        # the threshold is kept (the trials above it form the tail), so new trials below it
        # leave the tail's data as they were
        tail_size = _kept_tail_size(ys, state, 0, state.tail_fraction, n_finite)
        dist, threshold = regime.fit_tail(
            ys,
            tail_size,
            c_max=c_max,
            b_range=b_range,
            warm_start=state.fit,
            local=True,
            guides=state.dimension_fits,
            same_c=_tail_unchanged(ys, state, 0),
            noise=noise,
        )
        deeper = None
        if state.deeper_fraction is not None:
            deeper = regime.fit_tail(
                ys,
                _kept_tail_size(ys, state, 2, state.deeper_fraction, n_finite),
                c_max=c_max,
                b_range=b_range,
                warm_start=state.deeper_fit,
                local=True,
                same_c=_tail_unchanged(ys, state, 2),
                noise=noise,
            )
        choice, selected_at = state.regime, state.selected_at
        union = state.union  # the deeper tails' part of the region, as chosen then
    elif choice is not None and choice.candidates[0] == n_finite:
        dist, threshold, deeper = regime.fit_chosen(
            ys, choice, c_max=c_max, b_range=b_range, noise=noise
        )
        selected_at = n_finite
        union = None
    else:
        choice, dist, threshold, deeper = regime.choose_regime(
            ys, n_finite, c_max=c_max, b_range=b_range, noise=noise
        )
        selected_at = n_finite
        union = None
    n_tail = int(np.sum(clean.values > threshold))

    critical = float(stats.chi2.ppf(confidence, 1))
    try:
        region = build_region(
            ys, dist, threshold, deeper, choice, union, c_max=c_max, b_range=b_range,
            critical=critical, previous=reused, noise=noise,
        )
    except (TailstopError, ValueError, RuntimeError) as exc:  # pragma: no cover - reported
        raise FitError(f"could not profile the fit: {exc}") from exc
    dist, consistent = region.dist, region.consistent
    fits = (dist, *region.plausible)
    # the effective dimensions of the region the best possible's interval spans: the chosen
    # tail's consistent c and those of the other tails' plausible fits
    dimensions = {*consistent, *(int(fit.c) for fit in fits)}
    consistent = tuple(range(min(dimensions), max(dimensions) + 1))

    fits_well, reason = _judge(choice, n_tail, dist, ys, threshold, confidence, b_range[1])
    user = clean.to_user
    best_lo, best_hi = sorted((float(user(region.low)), float(user(region.high))))
    return TailEstimate(
        direction=clean.direction,
        confidence=confidence,
        n_trials=clean.n_trials,
        n_failed=clean.n_failed,
        n_censored=int(clean.n_trials - n_tail),
        current_best=clean.best,
        best_possible=Interval(float(user(dist.b)), best_lo, best_hi),
        effective_dimension=EffectiveDimension(int(dist.c), consistent),
        noise=float(dist.o),
        threshold=float(user(threshold)),
        tail_fraction=n_tail / clean.n_trials,
        fits_well=fits_well,
        fit_reason=reason,
        distribution=_user_distribution(dist, clean),
        _clean=clean,
        _fits=fits,
        _state=_State(
            n_tail / max(n_finite, 1),
            selected_at,
            dist,
            choice,
            region.ends,
            region.end_fits,
            region.end_deviances,
            None if deeper is None else float(np.sum(ys > deeper[1])) / n_finite,
            None if deeper is None else deeper[0],
            region.deviances,
            region.dimension_fits,
            c_max,
            tail=region.tails,
            union=region.union,
            noise=noise,
        ),
        noise_known=noise is not None,
    )


def _judge(choice, n_tail: int, dist, ys, threshold: float, confidence: float,
           ceiling: float = np.inf):
    """Does the fitted law describe the tail? ``(verdict, reason)``.

    No when the tail is one tied score (the spacing objective is then flat: every law fits
    it alike, so the fit's parameters are arbitrary); when the tail is too small to say; when
    every candidate threshold failed its tests;
    when the tail's conditional probability-integral transforms leave the exact simultaneous
    band of uniform order statistics (Learned-Miller & DeStefano, at ``confidence``); or when
    the effective dimension is so high that random search has not reached the regime yet.
    """
    from tailstop.bands import points_outside_ld_band

    c = int(dist.c)
    tail = ys[ys > threshold]
    if tail.size > 1 and np.all(tail == tail[0]):
        if tail[0] >= ceiling:
            return False, (
                f"the tail is one score tied {tail.size} times, the metric's best value: no "
                "law to fit, and nothing left to gain"
            )
        return False, (
            f"the tail is one score tied {tail.size} times, which every law fits alike (a "
            "ceiling or a coarse metric: declare the metric's bounds if it has a best value)"
        )
    if n_tail < regime.MIN_TAIL + 5:
        return False, f"only {n_tail} trials in the tail; the law needs about 15"
    if choice is not None and choice.rejected >= len(choice.candidates):
        return False, "every candidate tail fails the goodness-of-fit test"
    u = regime.tail_pit(dist, tail, threshold)
    if not np.all(np.isfinite(u)):
        return False, "the fitted law gives the tail no probabilities (no mass above the threshold)"
    # rounding can put a transform a hair outside [0, 1]
    outside = points_outside_ld_band(np.clip(u, 0.0, 1.0), confidence)
    if outside:
        return False, (
            f"the fitted tail leaves the {confidence:.0%} simultaneous band at {outside} of "
            f"{u.size} points"
        )
    if c >= SLOW_DIMENSION:
        return False, (
            f"effective dimension {c}: random search converges too slowly for the law to hold yet "
            "(or, in a small search, the tail reaches beyond the asymptotic regime)"
        )
    return True, "the noisy quadratic describes the tail"


def _user_distribution(dist, clean: CleanScores):
    """The fitted law in the user's orientation (convex form when minimising)."""
    if clean.direction == "maximize" and not clean.offset:
        return dist
    a, b = sorted(float(clean.to_user(end)) for end in (dist.a, dist.b))
    return type(dist)(a, b, dist.c, dist.o, convex=clean.direction == "minimize")


def _degenerate(clean: CleanScores, confidence: float, c_max: int,
                noise: float | None = None) -> TailEstimate:
    """All finite scores equal: nothing to fit; zero gain, and the law does not fit."""
    from tailstop.distributions import QuadraticDistribution

    value = float(clean.values.max())
    point = QuadraticDistribution(value, value, 1)
    user_value = clean.best
    return TailEstimate(
        direction=clean.direction,
        confidence=confidence,
        n_trials=clean.n_trials,
        n_failed=clean.n_failed,
        n_censored=0,
        current_best=user_value,
        best_possible=Interval(user_value, user_value, user_value),
        effective_dimension=EffectiveDimension(1, tuple(range(1, c_max + 1))),
        noise=0.0 if noise is None else noise,
        threshold=user_value,
        tail_fraction=clean.values.size / clean.n_trials,
        fits_well=False,
        fit_reason="all finite scores are equal: no tail to fit",
        distribution=QuadraticDistribution(
            user_value, user_value, 1, convex=clean.direction == "minimize"
        ),
        _clean=clean,
        _fits=(point,),
        _state=_State(1.0, clean.values.size, point, None, noise=noise),
        noise_known=noise is not None,
    )

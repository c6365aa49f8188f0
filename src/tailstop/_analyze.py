"""``analyze``: the pipeline from scores to a :class:`~tailstop.estimate.TailEstimate`.

Clean the scores, choose the tail (:mod:`tailstop.regime`), fit it and build the confidence
region (:mod:`tailstop._intervals`), judge whether the law fits, and, with a known seed noise,
compose the estimate of fits that hold it with the one whose fits estimate it. Public as
:func:`tailstop.analyze` and :func:`tailstop.estimate.analyze`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import stats

from tailstop import regime
from tailstop._data import MAX_MAGNITUDE, CleanScores, clean_scores, integer, real_number
from tailstop._intervals import _shifted, build_region
from tailstop._reuse import (
    FULL_RESELECT_GROWTH,
    _extends,
    _kept_tail_size,
    _State,
    _tail_unchanged,
)
from tailstop.errors import (
    FitError,
    InvalidDataError,
    InvalidParameterError,
    NotEnoughTrials,
    TailstopError,
)
from tailstop.estimate import (
    DEGENERATE_SPREAD,
    MAX_DIMENSION,
    MIN_TRIALS,
    SLOW_DIMENSION,
    EffectiveDimension,
    Interval,
    TailEstimate,
    _check_noise,
    _fit_ys,
)

__all__ = ["analyze"]


MIN_SPREAD = 1e-290  # ... and a spread below this underflows them


def analyze(
    scores,
    direction: str,
    *,
    confidence: float = 0.9,
    max_dimension: int | None = None,
    bounds: tuple[float, float] | None = None,
    noise: float | None = None,
    previous: TailEstimate | None = None,
    resolution: float | None = None,
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
        The seed noise's standard deviation, when known: measured by re-running several good
        configurations with a few new seeds each (:func:`tailstop.seed_noise` pools them), or 0
        for a deterministic objective. The point estimates (best possible, effective dimension,
        every forecast's estimate) then come from fits that hold it fixed instead of estimating
        it, which is where small searches err most: from 64 trials the fitted noise runs about
        twice the truth, and the forecast gains with it. The tail is the one chosen with the
        noise fitted (its tests hold their level so; choosing with the noise held made the
        forecasts worse). The intervals span both fits, as without ``noise`` (fits that hold it
        alone give intervals that cover too rarely when the tail is not exactly the law), so
        they keep their coverage and do not carry the given value's own error. Do not measure it
        on the best configuration alone: the best was selected partly for luck, which favours
        configurations whose scores vary more, and a noise too large promises gains too large.
    resolution : float, optional
        The step of a metric that counts something, e.g. ``1 / m`` for accuracy on ``m``
        validation examples (also when averaged over folds of nearly equal sizes). The
        fitted scores are rounded to the nearest multiple of it, so that scores that differ by
        less are the ties they are; the current best stays the score given. Without it,
        exactly tied scores are still grouped, but near-ties (fold averages a few 1e-5 apart)
        look to the law like lumps it cannot make, and the tail test rejects every large tail.
    previous : TailEstimate, optional
        The estimate before the latest trials: reused as a warm start, and until the search
        has grown by 10% also for its threshold (kept at its value) and for the effective
        dimensions it found far outside the confidence region (deviance above
        ``2 critical + 4``), which are not refitted; when the latest trials all fell below
        the threshold, interval ends and effective dimensions that still hold on the new data
        (one evaluation of the loss each) are kept without a refit. Once the search has
        grown by 10% the tail is chosen afresh, and the interval searches still start from
        the previous ends and fits (only as starting points). Ignored unless it is an
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
    confidence = real_number(confidence, "confidence")
    if not 0.5 <= confidence < 1:
        raise InvalidParameterError(f"confidence must be in [0.5, 1), got {confidence}")
    c_max = (
        MAX_DIMENSION if max_dimension is None
        else integer(max_dimension, "max_dimension", 1, MAX_DIMENSION)
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
        return _estimate(scores, direction, confidence, c_max, bounds, None, previous,
                         resolution=resolution)
    free_previous = None
    if previous is not None:
        free_previous = previous._free or (previous if previous._state.noise is None else None)
    free = _estimate(scores, direction, confidence, c_max, bounds, None, free_previous,
                     resolution=resolution)
    fixed = _estimate(scores, direction, confidence, c_max, bounds, noise, previous,
                      choice=free._state.regime, resolution=resolution)
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
              choice: regime.RegimeChoice | None = None,
              resolution: float | None = None) -> TailEstimate:
    """:func:`analyze` with the noise fitted (``noise`` None) or held at ``noise``, every
    interval from those fits alone. ``choice``: the tail a cold call fits (the one chosen
    with the noise fitted), instead of choosing one."""
    if previous is not None and previous._state.noise != noise:
        previous = None  # fitted under another noise: nothing to reuse
    clean = clean_scores(scores, direction, bounds, resolution=resolution)
    if previous is not None and previous._clean.offset != clean.offset:
        # an update works in its previous estimate's coordinates (see clean_scores)
        kept = clean_scores(scores, direction, bounds, offset=previous._clean.offset,
                            resolution=resolution)
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
    spread = np.ptp(clean.values)
    if spread <= DEGENERATE_SPREAD * magnitude:
        return _degenerate(clean, confidence, c_max, noise)  # equal to (nearly) float precision
    if magnitude > MAX_MAGNITUDE or spread < MIN_SPREAD:
        # measured: the fits and intervals are the same at every scale from 1e-300 to 1e306
        # (a fixed set of scores times the scale), and wrong or NaN beyond
        raise InvalidDataError(
            f"the scores reach {magnitude:.3g} and spread over {spread:.3g}: floating point "
            f"cannot fit scores beyond {MAX_MAGNITUDE:g} or spread over less than "
            f"{MIN_SPREAD:g}; rescale them (multiply or divide them by a power of ten)"
        )
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
            critical=critical, previous=reused if reused is not None else _guide(previous, c_max),
            noise=noise,
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
    step = apparent_step(clean.values) if not fits_well and clean.resolution is None else None
    if step is not None:
        reason += (
            f"; the best scores nearly tie in steps (of about {step:.2g}): if the metric counts "
            "something, give its step as resolution (1/m for accuracy on m examples)"
        )
    user = clean.to_user
    tail = ys[ys > threshold]
    # scores rounded to a grid: the best possible expected score lies half a step above
    # the fit's b (see rounding_shift)
    best = min(float(dist.b) + rounding_shift(clean.values, tail, clean.resolution),
               max(float(dist.b), b_range[1]))
    shift = best - float(dist.b)
    low, high = _widened_by_step(min(region.low + shift, b_range[1]),
                                 min(region.high + shift, b_range[1]),
                                 score_step(tail, clean.resolution), b_range)
    best_lo, best_hi = sorted((float(user(low)), float(user(high))))
    return TailEstimate(
        direction=clean.direction,
        confidence=confidence,
        n_trials=clean.n_trials,
        n_failed=clean.n_failed,
        n_censored=int(clean.n_trials - n_tail),
        current_best=clean.best,
        best_possible=Interval(float(user(best)), best_lo, best_hi),
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


def _guide(previous: TailEstimate | None, c_max: int) -> _State | None:
    """What a fresh choice of the tail takes from the estimate before it (of the same cap on
    the effective dimension): its profile ends and fits as the starting points of the new
    searches, nothing as a result (the tail is another: no end or effective dimension is
    kept without a refit). Measured on 97 fresh choices of four monitored searches, each made
    with and without it (``examples/benchmarks/check_guided_choice.py``): 16-31% faster; the
    best possible's interval ends move little at the median and both ways at most (up to a
    quarter of the width: from other starts the end searches' constrained fits can reach other
    local optima, as an update's do)."""
    if previous is None or previous._state.c_max != c_max:
        return None
    import dataclasses

    return dataclasses.replace(previous._state, dimension_deviances={}, tail=())


def _judge(choice, n_tail: int, dist, ys, threshold: float, confidence: float,
           ceiling: float = np.inf):
    """Does the fitted law describe the tail? ``(verdict, reason)``.

    No when the tail is one tied score (the spacing objective is then flat: every law fits
    it alike, so the fit's parameters are arbitrary); when the tail is too small to say, or
    holds so few distinct scores that the law's four parameters (a, b, c, o) can match their
    groups whatever the truth (``regime.TESTABLE_DISTINCT``); when
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
        trials = "trial" if n_tail == 1 else "trials"
        return False, f"only {n_tail} {trials} in the tail; the law needs about 15"
    distinct = regime.distinct_scores(tail)
    if distinct <= regime.TESTABLE_DISTINCT:
        return False, (
            f"the tail holds only {distinct} distinct scores, too few to test a law of four "
            "parameters (a coarse metric: every such law fits a few groups of ties)"
        )
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


GRID_TOLERANCE = 1e-6  # gaps within this many steps of a whole number of steps: a grid


def rounding_shift(values: np.ndarray, tail: np.ndarray, resolution: float | None) -> float:
    """How far the best possible expected score lies above the fit's ``b`` when the scores
    come rounded to a grid: half the grid's step (``resolution``, or the step read from
    ties), else 0.

    The fit reads a group of ``k`` tied scores ``y`` as ``k`` draws in the bucket ``(y', y]``
    up to the next lower score ``y'`` (the grouped spacings, :mod:`tailstop._spacing`), as if
    each were rounded *up* to ``y``; a metric that counts something (accuracy on ``m``
    examples, ``k / m`` an unbiased measure of the model's expected accuracy) rounds to the
    *nearest* step, ``(y - step / 2, y + step / 2]``. The spacing objective is equivariant
    under translation, so the fit to the scores moved up half a step is the fit moved up
    half a step: its ``b`` is the best possible *expected* score. Measured
    (``bench_stepped_scores.py``, 40 searches rounded to a tenth of the tail's width): the
    estimate's median error -0.80 / -0.62 steps at 300 / 1,000 trials, -0.30 / -0.12 moved
    (continuous scores: -0.11 / -0.07). The forecasts keep the fit as it is: moved with it,
    their gains over 300 more trials erred by +0.09 steps on average, against -0.02 unmoved
    (and +0.28 with the gains counted in whole steps of the moved law), so the law the fit
    reads the scores with is the one that predicts them.

    The step from ties: the smallest gap between the distinct finite scores (rounded as the
    fit rounds them), when the tail holds ties and its distinct scores lie on that grid
    (every gap a whole number of steps, to ``GRID_TOLERANCE``); exact ties off any grid (a
    deterministic objective's repeated configurations) are no rounding and move nothing.
    """
    if resolution is not None:
        return 0.5 * float(resolution)
    from tailstop._spacing import rounding_decimals

    if tail.size < 2 or values.size < 2:
        return 0.0
    tail_values = np.unique(np.round(tail, rounding_decimals(tail)))
    if tail_values.size == tail.size or tail_values.size < 2:
        return 0.0  # no ties in the tail: continuous scores
    distinct = np.unique(np.round(values, rounding_decimals(values)))
    step = float(np.min(np.diff(distinct)))
    if not step > 0:
        return 0.0
    multiples = np.diff(tail_values) / step
    if np.max(np.abs(multiples - np.round(multiples))) > GRID_TOLERANCE * np.max(multiples):
        return 0.0
    return 0.5 * step


def score_step(tail: np.ndarray, resolution: float | None) -> float:
    """The step the tail's scores come in: ``resolution`` when given, else, when some of them
    tie (rounded as the fit rounds them), the smallest gap between its distinct scores (the
    metric's step for scores on a grid, as :func:`tailstop.regime.tail_pit` takes it); else 0."""
    if resolution is not None:
        return float(resolution)
    from tailstop._spacing import rounding_decimals

    if tail.size < 2:
        return 0.0
    values = np.unique(np.round(tail, rounding_decimals(tail)))
    if values.size == tail.size or values.size < 2:
        return 0.0
    return float(np.min(np.diff(values)))


def _widened_by_step(low: float, high: float, step: float, b_range) -> tuple[float, float]:
    """The best possible's interval ``[low, high]`` widened by half the scores' ``step`` on
    each side, within ``b_range``. The fit reads a score on a grid as exact (its bucket
    reaches down to the next score), while the truth behind a score rounded to its step lies
    anywhere within half a step of it: on searches whose tail holds 10 distinct scores the fit
    of 1,000 trials sat 0.6 steps below the truth (median) and the interval missed it in 19
    of 40 (``bench_stepped_scores.py``), in 3 of 40 widened so (session 36); moved up half a
    step as well (:func:`rounding_shift`), in 1 of 40 (session 45)."""
    if not step > 0:
        return low, high
    return _shifted(*_shifted(low, high, -0.5 * step, b_range), 0.5 * step, b_range)


STEPPED_TOP = 100  # at most this many of the best scores (and a tenth, at least 20) ...
STEPPED_SHARE = 1 / 3  # ... must have more than this share of near-ties for apparent_step


def apparent_step(values: np.ndarray) -> float | None:
    """The step the best scores come in, blurred by near-ties that ``resolution`` would make
    ties, or None when they do not look so: of the gaps between the best tenth of them (at
    least 20, at most ``STEPPED_TOP``; sorted, rounded as the fit rounds them), the nonzero
    ones, more than ``STEPPED_SHARE`` below a tenth of their mean; the step is then the
    median of the others.

    A continuous law's gaps are nearly exponential: about a tenth of them are that small (a
    twentieth when the law piles up against its best possible, ``c = 1`` without noise).
    Averages over folds of unequal sizes of a metric that counts something differ within a
    step by a few 1e-5 (3-fold accuracy on 500 examples): most nonzero gaps are those. Exact
    ties (scores exactly on a grid) need no resolution and do not count. Only a hint for the
    report: the fit never depends on it.
    """
    from tailstop._spacing import rounding_decimals

    finite = np.sort(values[np.isfinite(values)])
    top = finite[-min(STEPPED_TOP, max(20, finite.size // 10)):]
    if top.size < 20:
        return None
    gaps = np.diff(np.round(top, rounding_decimals(top)))
    gaps = gaps[gaps > 0]
    if gaps.size < 5:
        return None
    near = gaps < 0.1 * np.mean(gaps)
    if not np.mean(near) > STEPPED_SHARE or near.all():
        return None
    return float(np.median(gaps[~near]))


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
        fit_reason=(
            "all finite scores are equal: no tail to fit" if clean.resolution is None else
            f"all finite scores round to one multiple of the resolution ({clean.resolution:g}): "
            "no tail to fit"
        ),
        distribution=QuadraticDistribution(
            user_value, user_value, 1, convex=clean.direction == "minimize"
        ),
        _clean=clean,
        _fits=(point,),
        _state=_State(1.0, clean.values.size, point, None, noise=noise),
        noise_known=noise is not None,
    )

"""Property-based tests (hypothesis) of the distributions, the fit and ``analyze``.

Every search is derandomised (the same examples on every run, so CI is reproducible) and keeps
few examples: a noisy-quadratic fit costs ~0.3 s and ``analyze`` 1-3 s on the CI machine.

The strategies keep scores at ordinary magnitudes (|score| <= 1e4, spreads >= 1e-3 of the
level): the extremes (|score| ~ 1e300, spreads ~ 1e-14 of the level or ~1e-300 absolute) are
pinned separately at the end: they used to escape as OverflowError and IndexError.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailstop import NoisyQuadraticDistribution, QuadraticDistribution
from tailstop.errors import (
    ConstraintError,
    FitError,
    InvalidDataError,
    NotEnoughTrials,
    TailstopError,
)
from tailstop.estimate import analyze


def quick(max_examples: int):
    return settings(
        max_examples=max_examples,
        deadline=None,  # timings on a shared 2-core machine are noise
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- distributions ------------------------------------------------------------------------------
@st.composite
def distributions(draw):
    a = draw(st.floats(-1e3, 1e3))
    width = draw(st.sampled_from([0.0, 1e-3, 0.1, 1.0, 7.5, 1e3]))
    c = draw(st.integers(1, 10))
    convex = draw(st.booleans())
    if draw(st.booleans()):
        return QuadraticDistribution(a, a + width, c, convex=convex)
    ratio = draw(st.sampled_from([0.0, 1e-4, 0.01, 0.3, 1.0, 10.0]))
    o = ratio * width if width > 0 else draw(st.sampled_from([0.0, 0.5]))
    return NoisyQuadraticDistribution(a, a + width, c, o, convex=convex)


def grid(dist, size: int = 101) -> np.ndarray:
    """Points across the support and a few noise widths beyond it."""
    spread = (dist.b - dist.a) + 4.0 * dist.o
    if spread == 0:
        return np.array([dist.a - 1.0, dist.a, dist.a + 1.0])
    return np.linspace(dist.a - spread, dist.b + spread, size)


@quick(40)
@given(distributions())
def test_cdf_is_a_monotone_probability_and_pdf_is_finite_and_non_negative(dist):
    ys = grid(dist)
    cdf, sf = np.asarray(dist.cdf(ys)), np.asarray(dist.sf(ys))
    assert np.all((cdf >= 0) & (cdf <= 1)) and np.all((sf >= 0) & (sf <= 1))
    assert np.all(np.diff(cdf) >= -1e-12)
    np.testing.assert_allclose(cdf + sf, 1.0, atol=1e-12)
    if dist.b > dist.a:
        interior = ys[(ys > dist.a) & (ys < dist.b)] if dist.o == 0 else ys
        pdf = np.asarray(dist.pdf(interior))
        assert np.all(np.isfinite(pdf)) and np.all(pdf >= 0)
        assert dist.cdf(-np.inf) == 0 and dist.cdf(np.inf) == 1


@quick(60)
@given(
    st.lists(st.integers(0, 40), min_size=2, max_size=60),
    st.sampled_from([1e-3, 0.01, 0.037]),
    st.sampled_from([None, -0.5, 0.2]),
)
def test_tail_transforms_are_sorted_probabilities_that_spread_ties_and_keep_the_rest(
    levels, step, threshold_level
):
    """``regime.tail_pit`` on scores on a grid (ties likely): sorted, in [0, 1], untied scores
    keep their transform, and each tied group's transforms sit evenly inside the cell below
    its score."""
    from tailstop import regime

    dist = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.05)
    tail = 0.25 + step * np.asarray(levels, dtype=float)
    threshold = -np.inf if threshold_level is None else float(threshold_level)
    tail = tail[tail > threshold]
    if tail.size < 2:
        return
    u = regime.tail_pit(dist, tail, threshold)
    above = dist.sf(threshold) if np.isfinite(threshold) else 1.0
    plain = 1.0 - dist.sf(np.sort(tail)) / above
    assert u.shape == tail.shape
    assert np.all(np.diff(u) >= -1e-15) and np.all((u >= -1e-12) & (u <= 1 + 1e-12))
    assert np.all(u <= plain + 1e-12)  # a tied score's transforms lie below its own
    values, counts = np.unique(np.sort(tail), return_counts=True)
    untied = np.repeat(counts == 1, counts)
    np.testing.assert_allclose(u[untied], plain[untied], rtol=1e-12, atol=1e-15)
    if values.size > 1:  # a tied group's cell reaches down by the grid's smallest gap only
        gap = np.min(np.diff(values))
        floor = np.maximum(np.repeat(values - gap, counts),
                           np.repeat(np.concatenate([[threshold], values[:-1]]), counts))
        lowest = 1.0 - dist.sf(floor) / above
        assert np.all(u[~untied] >= lowest[~untied] - 1e-12)


@quick(40)
@given(distributions(), st.lists(st.floats(1e-9, 1 - 1e-9), min_size=1, max_size=20))
def test_ppf_inverts_cdf_inside_the_support(dist, qs):
    qs = np.sort(np.asarray(qs))
    ys = np.asarray(dist.ppf(qs))
    assert np.all(np.isfinite(ys)) and np.all(np.diff(ys) >= 0)
    if dist.b == dist.a and dist.o == 0:
        assert np.all(ys == dist.a)
        return
    # q -> y -> q, up to the rounding of y itself (a few ulps of |y|, times the density)
    pdf = np.asarray(dist.pdf(ys), dtype=float)
    rounding = 8 * np.finfo(float).eps * (np.abs(ys) + abs(dist.a) + abs(dist.b)) * pdf
    ok = np.isfinite(rounding)  # an infinite density at an end of the support (c = 1)
    error = np.abs(np.asarray(dist.cdf(ys)) - qs)
    assert np.all(error[ok] <= 1e-7 * qs[ok] + 1e-10 + rounding[ok])
    # y -> q -> y inside the support, where the density is not vanishingly small
    scale = (dist.b - dist.a) + dist.o
    inner = ys[(qs > 1e-3) & (qs < 1 - 1e-3)]
    if inner.size:
        np.testing.assert_allclose(dist.ppf(dist.cdf(inner)), inner, rtol=0, atol=1e-6 * scale)


@quick(25)
@given(distributions(), st.floats(0.05, 0.95))
def test_tuning_curves_are_monotone_in_the_number_of_trials(dist, q):
    ns = np.array([1, 2, 3, 5, 10, 30, 100, 1000])
    for minimize in (False, True):
        sign = -1.0 if minimize else 1.0
        quantile = sign * np.asarray(dist.quantile_tuning_curve(ns, q, minimize=minimize))
        average = sign * np.asarray(dist.average_tuning_curve(ns, minimize=minimize))
        for curve in (quantile, average):
            assert np.all(np.isfinite(curve))
            tolerance = 1e-9 * (abs(dist.a) + abs(dist.b) + dist.o + 1.0)
            assert np.all(np.diff(curve) >= -tolerance)
        if dist.o == 0:  # the best of n draws stays inside the support
            assert np.all(sign * average <= dist.b + 1e-9 * (abs(dist.b) + 1))
            assert np.all(sign * average >= dist.a - 1e-9 * (abs(dist.a) + 1))


# -- the fit -------------------------------------------------------------------------------------
@st.composite
def samples(draw, min_size: int = 3, max_size: int = 40):
    """Scores drawn from a random noisy quadratic (seeded by hypothesis), maybe rounded."""
    c = draw(st.integers(1, 8))
    ratio = draw(st.sampled_from([0.0, 0.01, 0.1, 1.0]))
    level = draw(st.sampled_from([-500.0, -1.0, 0.0, 0.5, 80.0]))
    width = draw(st.sampled_from([1e-2, 1.0, 50.0]))
    truth = NoisyQuadraticDistribution(level, level + width, c, ratio * width)
    n = draw(st.integers(min_size, max_size))
    ys = truth.sample(n, generator=draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):  # scores reported to a few digits: ties
        ys = np.round(ys, draw(st.integers(1, 4)) - int(np.floor(np.log10(width))))
    return np.atleast_1d(ys)


@st.composite
def constraints(draw):
    """Constraints on c, o, convex, a and b (some infeasible for the sample)."""
    chosen = {}
    if draw(st.booleans()):
        low = draw(st.integers(1, 10))
        chosen["c"] = low if draw(st.booleans()) else (low, draw(st.integers(low, 10)))
    if draw(st.booleans()):
        chosen["o"] = (0.0, draw(st.sampled_from([0.0, 1e-3, 0.1, 10.0])))
    if draw(st.booleans()):
        chosen["convex"] = draw(st.booleans())
    return chosen


def satisfies(dist, limits: dict, ys: np.ndarray) -> None:
    assert all(np.isfinite(v) for v in (dist.a, dist.b, dist.o)) and dist.a <= dist.b
    assert 1 <= dist.c <= 10 and dist.o >= 0
    if "c" in limits:
        low, high = np.broadcast_to(limits["c"], 2)
        assert low <= dist.c <= high
    if "o" in limits:
        assert limits["o"][0] <= dist.o <= limits["o"][1] * (1 + 1e-12)
    if "convex" in limits:
        assert dist.convex == limits["convex"]
    for name in ("a", "b"):
        if name in limits:
            low, high = limits[name]
            assert low - 1e-9 * abs(low) <= getattr(dist, name) <= high + 1e-9 * abs(high)
    if dist.o == 0:  # a noiseless law must hold the (uncensored) data
        span = 1e-9 * (np.ptp(ys) + abs(ys).max())
        assert dist.a - span <= ys.min() and ys.max() <= dist.b + span


FIT_ERRORS = (NotEnoughTrials, InvalidDataError, ConstraintError, FitError)


@quick(15)
@given(samples(), constraints(), st.booleans(), st.booleans())
def test_the_fit_respects_its_constraints_or_raises_a_tailstop_error(
    ys, limits, noisy, bound_b
):
    cls = NoisyQuadraticDistribution if noisy else QuadraticDistribution
    if not noisy:
        limits.pop("o", None)
    if bound_b:  # the best score: at least the best observation, at most a range beyond it
        top = float(ys.max())
        limits["b"] = (top, top + max(float(np.ptp(ys)), 1e-3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # c = 2: convex unidentifiable
        try:
            dist = cls.fit(ys, constraints=limits)
        except FIT_ERRORS as exc:
            assert str(exc)  # a message that names the problem
            return
    assert isinstance(dist, cls)
    satisfies(dist, limits, ys)


@quick(15)
@given(samples(min_size=0, max_size=12), st.sampled_from(["max", "min"]))
def test_the_censored_fit_raises_only_tailstop_errors(ys, side):
    threshold = float(np.median(ys)) if ys.size else 0.0
    limits = (threshold, np.inf) if side == "max" else (-np.inf, threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            dist = NoisyQuadraticDistribution.fit(ys, limits)
        except FIT_ERRORS:
            return
    satisfies(dist, {}, ys[(ys > limits[0]) & (ys <= limits[1])] if dist.o == 0 else ys)


# -- analyze ---------------------------------------------------------------------------------------
@st.composite
def searches(draw):
    """A finished search: scores in finishing order, some failed (None, NaN or inf)."""
    ys = draw(samples(min_size=8, max_size=25)).tolist()
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(ys)))
        ys.insert(where, draw(st.sampled_from([None, math.nan, math.inf, -math.inf])))
    return ys


def contains(interval, rtol: float = 1e-9) -> bool:
    estimate, low, high = (np.asarray(v, dtype=float) for v in interval)
    slack = rtol * (np.abs(estimate) + 1.0)
    return bool(np.all(low <= estimate + slack) and np.all(estimate <= high + slack))


@quick(8)
@given(searches(), st.sampled_from(["maximize", "minimize"]), st.sampled_from([0.5, 0.9]))
def test_analyze_gives_finite_consistent_forecasts_or_a_tailstop_error(
    scores, direction, confidence
):
    if direction == "minimize":
        scores = [None if s is None else -s for s in scores]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            estimate = analyze(scores, direction, confidence=confidence)
        except TailstopError as exc:
            assert str(exc)
            return
    finite = [s for s in scores if s is not None and math.isfinite(s)]
    assert estimate.n_trials == len(scores) and estimate.n_failed == len(scores) - len(finite)
    assert estimate.current_best == (max(finite) if direction == "maximize" else min(finite))
    assert np.all(np.isfinite(estimate.best_possible)) and contains(estimate.best_possible)
    assert math.isfinite(estimate.noise) and estimate.noise >= 0
    assert contains(estimate.remaining_gain)

    ks = np.array([1, 2, 5, 10, 50, 200])
    gains = estimate.expected_gain(ks)
    for values in gains:
        values = np.asarray(values)
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
        assert np.all(np.diff(values) >= -1e-9 * (np.abs(values).max() + 1e-12))
    assert contains(gains)

    ns = np.array([1, 3, 10, 30, 100, 1000])
    curve = estimate.tuning_curve(ns)
    sign = 1.0 if direction == "maximize" else -1.0
    for values in curve:
        values = sign * np.asarray(values)
        assert np.all(np.isfinite(values))
        assert np.all(np.diff(values) >= -1e-9 * (np.abs(values).max() + 1.0))
    assert contains(curve)


# -- the extremes the strategies leave out (they used to escape as builtin errors) ------------
BASE = np.random.default_rng(0).normal(size=20)
extremes = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@extremes
@pytest.mark.parametrize("scores", [BASE * 1e300, np.r_[BASE, 1.7e308]], ids=["1e300", "max"])
def test_huge_scores_raise_a_tailstop_error_or_give_an_estimate(scores):
    try:
        estimate = analyze(scores, "maximize")
    except TailstopError:
        return
    assert np.all(np.isfinite(estimate.best_possible))


def test_a_huge_support_gives_an_infinite_variance_or_a_tailstop_error():
    try:
        dist = NoisyQuadraticDistribution(-1e200, 1e200, 2, 0.0)
    except TailstopError:
        return
    assert dist.variance == np.inf


@extremes
@pytest.mark.parametrize(
    "scores", [1.0 + BASE * 1e-14, BASE * 1e-300], ids=["spread 1e-14", "scale 1e-300"]
)
def test_nearly_constant_scores_raise_a_tailstop_error_or_give_an_estimate(scores):
    try:
        estimate = analyze(scores, "maximize")
    except TailstopError:
        return
    assert np.all(np.isfinite(estimate.best_possible))

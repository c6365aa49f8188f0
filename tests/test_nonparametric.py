"""Tests of tailstop.nonparametric: empirical distribution, tuning curves, simultaneous bands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.nonparametric import (
    EmpiricalDistribution,
    beta_intervals,
    confidence_bands,
    ld_band,
    ld_critical_level,
    order_statistic_band,
    simultaneous_coverage,
)

DOC_YS = [0.72, 0.83, 0.92, 0.68, 0.75]
LD_METHODS = ["ld_highest_density", "ld_equal_tailed"]
ALL_METHODS = [*LD_METHODS, "ks", "dkw"]


def clopper_pearson(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    lo = stats.beta.ppf(alpha / 2, successes, trials - successes + 1) if successes > 0 else 0.0
    hi = (
        stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes)
        if successes < trials
        else 1.0
    )
    return lo, hi


def steck_probability(lower: np.ndarray, upper: np.ndarray) -> float:
    """Steck (1971): P(l_i < U_(i) < h_i for all i) = n! det[(h_i - l_j)_+^(j-i+1) / (j-i+1)!]."""
    n = lower.size
    matrix = np.zeros((n, n))
    for i in range(n):
        for j in range(max(i - 1, 0), n):
            k = j - i + 1
            matrix[i, j] = 1.0 if k == 0 else max(upper[i] - lower[j], 0.0) ** k / math.factorial(k)
    return math.factorial(n) * float(np.linalg.det(matrix))


# --- empirical distribution ------------------------------------------------------------------


def test_doc_example_exact_values():
    dist = EmpiricalDistribution(DOC_YS, a=0.0, b=1.0)
    assert dist.quantile_tuning_curve([1, 2, 4]).tolist() == [0.75, 0.83, 0.92]
    assert dist.quantile_tuning_curve([1, 2, 4], q=0.2).tolist() == [0.68, 0.75, 0.83]
    assert dist.quantile_tuning_curve([1, 2, 4], minimize=True).tolist() == [0.75, 0.72, 0.68]
    np.testing.assert_allclose(dist.average_tuning_curve([1, 2, 4]), [0.78, 0.8272, 0.871936])
    assert dist.cdf(0.72) == pytest.approx(0.4)
    assert dist.ppf(0.0) == 0.0
    assert dist.ppf(1.0) == 0.92
    assert dist.mean == pytest.approx(0.78)
    assert dist.variance == pytest.approx(np.var(DOC_YS))
    assert dist.pmf(0.83) == pytest.approx(0.2) and dist.pmf(0.8) == 0.0


def test_scalars_in_scalars_out_and_shapes():
    dist = EmpiricalDistribution(DOC_YS)
    for value in (
        dist.cdf(0.7),
        dist.pmf(0.72),
        dist.ppf(0.3),
        dist.quantile_tuning_curve(3),
        dist.average_tuning_curve(2.5),
    ):
        assert np.ndim(value) == 0
    grid = np.linspace(0.1, 0.9, 12).reshape(3, 4)
    assert dist.cdf(grid).shape == (3, 4)
    assert dist.ppf(grid).shape == (3, 4)
    assert dist.quantile_tuning_curve(grid * 10).shape == (3, 4)
    assert dist.average_tuning_curve(grid * 10).shape == (3, 4)
    assert np.isnan(dist.cdf(np.nan)) and np.isnan(dist.ppf(np.nan))
    # ppf(0) = a = -inf without bounds (opda's convention), cdf below the data is 0
    assert dist.ppf(0.0) == -np.inf and dist.cdf(0.0) == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_opda(seed):
    onp = pytest.importorskip("opda.nonparametric")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    ys = rng.normal(size=n)
    if seed % 2:
        ys = np.round(ys, 1)  # ties
    a, b = (-np.inf, np.inf) if seed % 3 == 0 else (ys.min() - 1.0, ys.max() + rng.uniform(0, 1))
    ours, theirs = EmpiricalDistribution(ys, a=a, b=b), onp.EmpiricalDistribution(ys, a=a, b=b)
    points = np.concatenate([ys, rng.normal(size=50), [a, b]])
    # our CDF is k/n exactly, opda's a normalised cumulative sum: equal up to rounding
    np.testing.assert_allclose(ours.cdf(points), theirs.cdf(points), rtol=0, atol=1e-15)
    np.testing.assert_allclose(ours.pmf(points), theirs.pmf(points), rtol=0, atol=1e-15)
    qs = np.concatenate([rng.uniform(size=50), [0.0, 1.0]])
    np.testing.assert_array_equal(ours.ppf(qs), theirs.ppf(qs))
    ns = np.concatenate([np.arange(1, 30), rng.uniform(0.2, 60, size=20)])
    for q in (0.5, 0.2, 0.9):
        for minimize in (False, True):
            np.testing.assert_array_equal(
                ours.quantile_tuning_curve(ns, q=q, minimize=minimize),
                theirs.quantile_tuning_curve(ns, q=q, minimize=minimize),
            )
    for minimize in (False, True):
        np.testing.assert_allclose(
            ours.average_tuning_curve(ns, minimize=minimize),
            theirs.average_tuning_curve(ns, minimize=minimize),
            rtol=1e-12,
            atol=1e-12,
        )
    assert ours.mean == pytest.approx(theirs.mean) and ours.variance == pytest.approx(
        theirs.variance
    )


def test_average_tuning_curve_is_the_expected_best_of_n():
    rng = np.random.default_rng(3)
    ys = rng.uniform(size=7)
    dist = EmpiricalDistribution(ys)
    draws = rng.choice(ys, size=(200_000, 4))
    best_max, best_min = draws.max(axis=1), draws.min(axis=1)
    assert abs(dist.average_tuning_curve(4) - best_max.mean()) < 6 * best_max.std() / math.sqrt(2e5)
    assert abs(dist.average_tuning_curve(4, minimize=True) - best_min.mean()) < (
        6 * best_min.std() / math.sqrt(2e5)
    )
    # the median tuning curve is a median of the simulated best
    assert np.mean(best_max <= dist.quantile_tuning_curve(4)) >= 0.5
    assert np.mean(best_max < dist.quantile_tuning_curve(4)) < 0.5


def test_infinite_scores():
    dist = EmpiricalDistribution([-np.inf, 100.0])
    assert dist.quantile_tuning_curve(1) == -np.inf
    assert dist.quantile_tuning_curve(2) == 100.0
    assert dist.average_tuning_curve(1) == -np.inf
    assert dist.average_tuning_curve(2000.0) == 100.0  # the -inf term's weight underflows to 0
    assert dist.mean == -np.inf
    losses = EmpiricalDistribution([0.3, np.inf, 0.2], a=0.0)
    assert losses.quantile_tuning_curve(3, minimize=True) == 0.2
    assert losses.cdf(np.inf) == 1.0 and losses.pmf(np.inf) == pytest.approx(1 / 3)


def test_minimize_is_maximize_of_negated_scores_for_odd_n():
    ys = np.random.default_rng(5).normal(size=9)
    ns = np.linspace(0.5, 20, 40)
    up, down = EmpiricalDistribution(ys), EmpiricalDistribution(-ys)
    np.testing.assert_array_equal(
        up.quantile_tuning_curve(ns, minimize=True), -down.quantile_tuning_curve(ns)
    )
    np.testing.assert_allclose(
        up.average_tuning_curve(ns, minimize=True), -down.average_tuning_curve(ns), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: EmpiricalDistribution([0.1, np.nan]), InvalidDataError),
        (lambda: EmpiricalDistribution([]), InvalidDataError),
        (lambda: EmpiricalDistribution([[0.1, 0.2]]), InvalidDataError),
        (lambda: EmpiricalDistribution([0.1, 0.2], a=0.15), InvalidDataError),
        (lambda: EmpiricalDistribution([0.1, 0.2], b=0.15), InvalidDataError),
        (lambda: EmpiricalDistribution([0.1], a=1.0, b=0.0), InvalidParameterError),
        (lambda: EmpiricalDistribution(DOC_YS).ppf(1.5), InvalidParameterError),
        (lambda: EmpiricalDistribution(DOC_YS).quantile_tuning_curve(0), InvalidParameterError),
        (
            lambda: EmpiricalDistribution(DOC_YS).quantile_tuning_curve(np.nan),
            InvalidParameterError,
        ),
        (
            lambda: EmpiricalDistribution(DOC_YS).quantile_tuning_curve(2, q=1.2),
            InvalidParameterError,
        ),
        (lambda: EmpiricalDistribution(DOC_YS).average_tuning_curve(-1), InvalidParameterError),
        (
            lambda: EmpiricalDistribution(DOC_YS).average_tuning_curve(2, minimize="yes"),
            InvalidParameterError,
        ),
        (lambda: confidence_bands(DOC_YS, 0.0), InvalidParameterError),
        (lambda: confidence_bands(DOC_YS, 1.5), InvalidParameterError),
        (lambda: confidence_bands(DOC_YS, 0.9, method="bootstrap"), InvalidParameterError),
        (lambda: confidence_bands([0.1, np.nan], 0.9), InvalidDataError),
        (lambda: confidence_bands(DOC_YS, 0.9, a=0.7), InvalidDataError),
        (lambda: order_statistic_band(0, 0.9), InvalidParameterError),
        (lambda: ld_band(5, 0.9, kind="median"), InvalidParameterError),
    ],
)
def test_invalid_input_is_rejected(call, error):
    with pytest.raises(error):
        call()


def test_sample_is_seeded_and_on_the_support():
    dist = EmpiricalDistribution(DOC_YS)
    draws = dist.sample(1000, generator=1)
    assert set(np.unique(draws)) <= set(DOC_YS)
    np.testing.assert_array_equal(draws, dist.sample(1000, generator=1))


# --- exact simultaneous coverage ---------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_simultaneous_coverage_matches_steck_determinant(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        lower = np.sort(rng.uniform(0, 0.8, size=n))
        upper = np.sort(np.clip(lower + rng.uniform(0.05, 0.6, size=n), 0, 1))
        assert simultaneous_coverage(lower, upper) == pytest.approx(
            steck_probability(lower, upper), rel=1e-9, abs=1e-13
        )


@pytest.mark.parametrize("n", [1, 2, 7, 48, 140])
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.999])
def test_simultaneous_coverage_of_ks_band_is_kstwo(n, confidence):
    lower, upper = order_statistic_band(n, confidence, "ks")
    assert simultaneous_coverage(lower, upper) == pytest.approx(confidence, abs=1e-11)


def test_dkw_band_is_conservative_and_trivial_bands():
    for n in (3, 30, 300):
        assert simultaneous_coverage(*order_statistic_band(n, 0.9, "dkw")) >= 0.9
    assert simultaneous_coverage(np.zeros(4), np.ones(4)) == pytest.approx(1.0)
    assert simultaneous_coverage([0.5, 0.2], [0.4, 0.9]) == 0.0  # crossing bounds


# --- Learned-Miller-DeStefano bands ------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 10, 200])
@pytest.mark.parametrize("alpha", [0.5, 1e-3, 1e-8])
def test_highest_density_intervals(n, alpha):
    lower, upper = beta_intervals(n, alpha, "highest_density")
    index = np.arange(1, n + 1)
    coverage = special.betainc(index, n + 1 - index, upper) - special.betainc(
        index, n + 1 - index, lower
    )
    np.testing.assert_allclose(coverage, 1 - alpha, atol=1e-12)
    inner = slice(1, n - 1)
    a, b = index[inner], n + 1 - index[inner]
    log_density_gap = (a - 1) * np.log(lower[inner] / upper[inner]) + (b - 1) * np.log(
        (1 - lower[inner]) / (1 - upper[inner])
    )
    # 1 - upper has only absolute precision 1e-16, so test the density gap where it is resolved
    resolved = (lower[inner] > 1e-6) & (upper[inner] < 1 - 1e-6)
    np.testing.assert_allclose(log_density_gap[resolved], 0.0, atol=1e-8)
    np.testing.assert_allclose(lower, 1 - upper[::-1], rtol=0, atol=1e-13)  # mirror symmetry
    assert lower[0] == 0.0 and upper[-1] == 1.0
    et_lower, et_upper = beta_intervals(n, alpha, "equal_tailed")
    assert np.all(upper - lower <= et_upper - et_lower + 1e-12)  # the HDI is the shortest


def test_highest_density_intervals_match_opda():
    utils = pytest.importorskip("opda.utils")
    n, kappa = 40, 0.995
    lower, upper = beta_intervals(n, 1 - kappa, "highest_density")
    index = np.arange(2, n)
    theirs = utils.beta_highest_density_interval(index, n + 1 - index, kappa)
    np.testing.assert_allclose(lower[1:-1], theirs[0], atol=2e-10)
    np.testing.assert_allclose(upper[1:-1], theirs[1], atol=2e-10)


@pytest.mark.parametrize("kind", ["highest_density", "equal_tailed"])
@pytest.mark.parametrize("n", [1, 2, 5, 33, 300])
@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.95, 0.999])
def test_critical_level_gives_the_requested_coverage(kind, n, confidence):
    kappa = ld_critical_level(n, confidence, kind)
    assert confidence <= kappa < 1
    band = ld_band(n, confidence, kind)
    np.testing.assert_allclose(band, beta_intervals(n, 1 - kappa, kind), rtol=1e-12, atol=1e-15)
    assert simultaneous_coverage(*band) == pytest.approx(confidence, abs=1e-6 * (1 - confidence))


@pytest.mark.parametrize(
    ("n", "kind"), [(5, "highest_density"), (16, "highest_density"), (48, "equal_tailed")]
)
def test_opda_monte_carlo_band_has_coverage_within_its_error(n, kind):
    """opda's critical level is the 0.9-quantile of 20,000 simulated statistics: the exact
    coverage of its band is then a uniform order statistic, Beta(k, N + 1 - k)."""
    onp = pytest.importorskip("opda.nonparametric")
    trials, confidence = 20_000, 0.9
    lo, hi = onp._ld_band_weights(
        n, confidence, kind, np.random.default_rng(n), n_trials=trials, n_jobs=1
    )
    coverage = simultaneous_coverage(lo[1:], hi[:-1])
    k = math.floor(confidence * (trials - 1)) + 1
    low, high = stats.beta.ppf([1e-6, 1 - 1e-6], [k, k + 1], [trials + 1 - k, trials - k])
    assert low <= coverage <= high
    # and our band is the exact one
    assert simultaneous_coverage(*ld_band(n, confidence, kind)) == pytest.approx(
        confidence, abs=1e-6
    )


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("n", [10, 100, 1000])
@pytest.mark.parametrize("confidence", [0.8, 0.9])
def test_band_coverage_by_simulation(method, n, confidence):
    trials = 2_000
    rng = np.random.default_rng([n, int(confidence * 100), ALL_METHODS.index(method)])
    lower, upper = order_statistic_band(n, confidence, method)
    covered = 0
    for chunk in np.array_split(np.arange(trials), 4):
        uniforms = np.sort(rng.random((chunk.size, n)), axis=1)
        covered += int(np.all((lower <= uniforms) & (uniforms <= upper), axis=1).sum())
    low, high = clopper_pearson(covered, trials, 1 - 1e-6)
    if method == "dkw":
        assert high >= confidence
    else:
        assert low <= confidence <= high


@pytest.mark.parametrize("method", ALL_METHODS)
def test_cdf_band_covers_a_continuous_cdf(method):
    """Coverage of the band *objects* for N(0, 1) data, checked at the jumps (opda's test)."""
    trials, n, confidence = 1_000, 16, 0.8
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(trials):
        ys = rng.normal(size=n)
        lower_cdf, _, upper_cdf = confidence_bands(ys, confidence, method=method)
        ys_sorted = np.sort(ys)
        left = np.nextafter(ys_sorted, -np.inf)
        truth, truth_left = stats.norm.cdf(ys_sorted), stats.norm.cdf(left)
        covered += bool(
            np.all(lower_cdf.cdf(ys_sorted) <= truth) and np.all(truth_left <= upper_cdf.cdf(left))
        )
    low, high = clopper_pearson(covered, trials, 1 - 1e-6)
    assert high >= confidence and (method == "dkw" or low <= confidence)


def test_band_is_conservative_for_discrete_scores():
    trials, n, confidence = 2_000, 20, 0.8
    rng = np.random.default_rng(13)
    support = np.arange(6)
    probabilities = np.array([0.25, 0.125, 0.25, 0.25, 0.0625, 0.0625])  # exact cumsum
    true_cdf = np.cumsum(probabilities)
    lower, upper = order_statistic_band(n, confidence)
    covered = 0
    for _ in range(trials):
        ys = np.sort(rng.choice(support, size=n, p=probabilities))
        counts = np.searchsorted(ys, support, side="right")  # #{Y <= y}
        band_low = np.concatenate([[0.0], lower])[counts]
        band_high = np.concatenate([upper, [1.0]])[counts]
        covered += bool(np.all((band_low <= true_cdf) & (true_cdf <= band_high)))
    assert clopper_pearson(covered, trials, 1 - 1e-6)[1] >= confidence


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize(("a", "b"), [(0.0, 1.0), (-np.inf, np.inf)])
def test_bands_nested_in_unit_interval_and_tuning_curve_bands_contain_point(method, a, b):
    rng = np.random.default_rng(17)
    ys = np.concatenate([rng.beta(5, 2, size=40), [0.5, 0.5]])  # with a tie
    lower_cdf, point, upper_cdf = confidence_bands(ys, 0.9, a=a, b=b, method=method)
    grid = np.concatenate([np.linspace(-0.5, 1.5, 301), ys, [a, b]])
    lo, mid, hi = lower_cdf.cdf(grid), point.cdf(grid), upper_cdf.cdf(grid)
    assert np.all((lo >= 0) & (hi <= 1) & (lo <= mid) & (mid <= hi))
    ns = np.concatenate([np.arange(1, 60), [0.5, 2.5, 1e4]])
    for q in (0.5, 0.1, 0.9):
        for minimize in (False, True):
            band_low = upper_cdf.quantile_tuning_curve(ns, q=q, minimize=minimize)
            middle = point.quantile_tuning_curve(ns, q=q, minimize=minimize)
            band_high = lower_cdf.quantile_tuning_curve(ns, q=q, minimize=minimize)
            assert np.all((band_low <= middle) & (middle <= band_high))
    for minimize in (False, True):
        averages = [
            d.average_tuning_curve(ns, minimize=minimize) for d in (upper_cdf, point, lower_cdf)
        ]
        if np.isfinite(a):
            assert np.all(
                (averages[0] <= averages[1] + 1e-12) & (averages[1] <= averages[2] + 1e-12)
            )


@pytest.mark.parametrize("method", ["ks", "dkw"])
def test_cdf_bands_match_opda(method):
    onp = pytest.importorskip("opda.nonparametric")
    ys = np.random.default_rng(19).normal(size=25)
    ours = confidence_bands(ys, 0.8, a=-5.0, b=5.0, method=method)
    theirs = onp.EmpiricalDistribution.confidence_bands(ys, 0.8, a=-5.0, b=5.0, method=method)
    grid = np.concatenate([np.linspace(-6, 6, 201), ys])
    ns = np.arange(1, 40)
    for mine, other in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine.cdf(grid), other.cdf(grid), atol=1e-12)
        np.testing.assert_array_equal(
            mine.quantile_tuning_curve(ns), other.quantile_tuning_curve(ns)
        )


def test_ld_band_structure_matches_opda():
    """Given the same band arrays, the band distributions equal opda's (its weight layout)."""
    onp = pytest.importorskip("opda.nonparametric")
    ys = np.random.default_rng(23).uniform(size=12)
    lower_cdf, _, upper_cdf = confidence_bands(ys, 0.9, a=0.0, b=1.0)
    lower, upper = ld_band(12, 0.9)
    extended = np.concatenate([[0.0], ys, [1.0]])
    unsorting = np.argsort(np.argsort(extended))
    ws_lo = np.diff(np.concatenate([[0.0], lower]), prepend=[0.0], append=[1.0])[unsorting]
    ws_hi = np.diff(np.concatenate([upper, [1.0]]), prepend=[0.0], append=[1.0])[unsorting]
    grid = np.concatenate([np.linspace(0, 1, 101), ys])
    ns = np.arange(1, 50)
    for mine, ws in ((lower_cdf, ws_lo), (upper_cdf, ws_hi)):
        other = onp.EmpiricalDistribution(extended, ws=ws, a=0.0, b=1.0)
        np.testing.assert_allclose(mine.cdf(grid), other.cdf(grid), atol=1e-12)
        np.testing.assert_array_equal(
            mine.quantile_tuning_curve(ns), other.quantile_tuning_curve(ns)
        )


def test_ld_band_is_tighter_than_ks_in_the_tails_and_cached():
    lower, upper = ld_band(200, 0.9)
    ks_lower, ks_upper = order_statistic_band(200, 0.9, "ks")
    assert upper[0] < ks_upper[0] and lower[-1] > ks_lower[-1]
    lower[:] = -1.0  # callers get copies: the cache is not corrupted
    assert np.all(ld_band(200, 0.9)[0] >= 0)
    trivial_lower, trivial_upper = order_statistic_band(5, 1.0)
    assert np.all(trivial_lower == 0) and np.all(trivial_upper == 1)


def test_points_outside_the_ld_band_are_counted_as_the_exact_band_counts():
    """The count from the bracketing bands at the tabulated level equals the exact band's,
    also for points placed on (and a hair either side of) the exact band's edges."""
    from tailstop.bands import order_statistic_band, points_outside_ld_band

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 400))
        confidence = float(rng.choice([0.5, 0.6, 0.8, 0.9, 0.95, 0.99]))
        u = np.sort(rng.random(n) ** rng.choice([1.0, 1.2, 2.0]))
        lower, upper = order_statistic_band(n, confidence)
        for i in rng.integers(0, n, size=3):
            edge = lower[i] if rng.random() < 0.5 else upper[i]
            u[i] = edge * (1.0 + float(rng.choice([-1e-9, 0.0, 1e-9])))
        u = np.sort(u)
        exact = int(np.sum((u < lower) | (u > upper)))
        assert points_outside_ld_band(u, confidence) == exact


def test_points_inside_the_ld_band_need_no_band():
    """Uniform draws, mostly inside the band: the count (0 for most, by the quick check of
    each point's Beta CDF, no band built) equals the exact band's, also for sizes never seen."""
    from tailstop import bands

    rng = np.random.default_rng(1)
    zeros = 0
    for _ in range(60):
        n = int(rng.integers(2, 3000))
        confidence = float(rng.choice([0.8, 0.9, 0.95]))
        u = np.sort(rng.random(n))
        u[rng.integers(0, n)] = float(rng.choice([0.0, 1.0, 0.5]))  # now and then outside
        u = np.sort(u)
        lower, upper = bands.order_statistic_band(n, confidence)
        exact = int(np.sum((u < lower) | (u > upper)))
        bands._GUESS_BANDS.clear()
        assert bands.points_outside_ld_band(u, confidence) == exact
        zeros += not bands._GUESS_BANDS  # no band was built
    assert zeros >= 10


def test_points_outside_the_ld_band_refuses_what_is_not_a_probability():
    from tailstop.bands import points_outside_ld_band

    for bad in ([], [0.2, np.nan], [0.5, 1.5], [-0.1, 0.3]):
        with pytest.raises(InvalidDataError, match="probability"):
            points_outside_ld_band(bad)
    assert points_outside_ld_band([0.9, 0.1, 0.5]) == points_outside_ld_band([0.1, 0.5, 0.9])

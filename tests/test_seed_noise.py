"""seed_noise: the pooled standard deviation of re-run configurations and its interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import tailstop
from tailstop import Interval, seed_noise
from tailstop.errors import InvalidDataError, InvalidParameterError, NotEnoughTrials, TailstopError


def test_one_configuration_is_its_sample_std():
    scores = [0.81, 0.79, 0.80, 0.83]
    noise = seed_noise([scores])
    assert isinstance(noise, Interval)
    assert noise.estimate == pytest.approx(np.std(scores, ddof=1), rel=1e-12)
    assert noise.low < noise.estimate < noise.high


def test_pools_variances_weighted_by_degrees_of_freedom():
    a = np.array([1.0, 2.0, 4.0])  # 2 dof
    b = np.array([10.0, 10.5, 9.0, 11.0, 10.2])  # 4 dof
    pooled = (2 * np.var(a, ddof=1) + 4 * np.var(b, ddof=1)) / 6
    assert seed_noise([a, b]).estimate == pytest.approx(np.sqrt(pooled), rel=1e-12)
    # the configurations' means do not matter, only the spread around each
    assert seed_noise([a + 100, b - 7]).estimate == pytest.approx(np.sqrt(pooled), rel=1e-12)


def test_interval_is_the_chi_square_one_when_the_tails_are_light():
    groups = [[0.5, 0.7, 0.6], [0.2, 0.25, 0.3, 0.1]]
    noise = seed_noise(groups, confidence=0.95)
    squares = sum(np.sum((np.array(g) - np.mean(g)) ** 2) for g in groups)
    assert noise.low == pytest.approx(np.sqrt(squares / stats.chi2.ppf(0.975, 5)), rel=1e-12)
    assert noise.high == pytest.approx(np.sqrt(squares / stats.chi2.ppf(0.025, 5)), rel=1e-12)
    wider = seed_noise(groups, confidence=0.99)
    assert wider.low < noise.low and wider.high > noise.high


def test_failed_runs_and_single_runs_add_nothing():
    clean = seed_noise([[1.0, 1.5, 1.2], [3.0, 3.4]])
    messy = seed_noise([[1.0, None, 1.5, float("nan"), 1.2], [3.0, 3.4, float("inf")], [7.0]])
    assert messy == clean


def test_mapping_and_two_dimensional_array():
    groups = {"lr=0.1": [1.0, 1.5, 1.2], "lr=0.2": [3.0, 3.4]}
    array = np.array([[1.0, 1.5, 1.2], [3.0, 3.4, np.nan]])
    assert seed_noise(groups) == seed_noise(array) == seed_noise([[1.0, 1.5, 1.2], [3.0, 3.4]])


def test_identical_scores_give_zero_noise():
    noise = seed_noise([[0.5, 0.5, 0.5], [0.7, 0.7]])
    assert noise == (0.0, 0.0, 0.0)
    # a deterministic objective's noise is a valid known noise
    scores = np.random.default_rng(0).normal(size=40)
    assert tailstop.analyze(scores, "maximize", noise=noise.estimate).noise_known


@pytest.mark.parametrize("confidence", [0.8, 0.9])
def test_coverage_under_normal_noise(confidence):
    rng = np.random.default_rng(7)
    sigma, trials = 0.004, 3000
    hits = 0
    for _ in range(trials):
        means = rng.uniform(0.7, 0.8, size=4)
        runs = means[:, None] + sigma * rng.standard_normal((4, 3))
        noise = seed_noise(runs, confidence=confidence)
        hits += noise.low <= sigma <= noise.high
    # binomial standard error at 3,000 trials is below 0.0075
    assert abs(hits / trials - confidence) < 0.025


def test_the_kurtosis_estimate_is_unbiased_over_groups_of_any_size():
    from tailstop.seednoise import noise_kurtosis

    rng = np.random.default_rng(3)
    for draw, kurtosis in ((rng.standard_normal, 3.0), (rng.laplace, 6.0)):
        groups = [draw(size=m) for m in rng.integers(2, 7, size=20_000)]
        pooled = sum(np.sum((g - g.mean()) ** 2) for g in groups) / sum(g.size - 1 for g in groups)
        assert noise_kurtosis(groups, pooled) == pytest.approx(kurtosis, rel=0.06)


def test_heavy_tails_widen_the_interval_and_restore_most_of_its_coverage():
    groups = [[0.80, 0.81, 0.80, 0.79, 0.80], [0.70, 0.70, 0.71, 0.70, 0.62]]  # one outlier
    squares = sum(np.sum((np.array(g) - np.mean(g)) ** 2) for g in groups)
    noise = seed_noise(groups)
    assert noise.high > 1.5 * np.sqrt(squares / stats.chi2.ppf(0.05, 8))
    assert noise.low < np.sqrt(squares / stats.chi2.ppf(0.95, 8))
    rng = np.random.default_rng(8)
    trials, hits, chi_square_hits = 3000, 0, 0
    for _ in range(trials):
        runs = rng.standard_t(5, size=(5, 5)) / np.sqrt(5 / 3)  # standard deviation 1
        noise = seed_noise(runs)
        hits += noise.low <= 1.0 <= noise.high
        squares = np.sum((runs - runs.mean(axis=1, keepdims=True)) ** 2)
        chi_square_hits += (squares / stats.chi2.ppf(0.95, 20) <= 1.0
                            <= squares / stats.chi2.ppf(0.05, 20))
    # measured: 0.84 against the chi-square interval's 0.78 (0.90 nominal); SE below 0.0075
    assert hits / trials > chi_square_hits / trials + 0.03
    assert hits / trials > 0.81


@pytest.mark.parametrize(
    "runs, error, words",
    [
        ([[1.0], [2.0]], NotEnoughTrials, "2 or more finite scores"),
        ([[1.0, None], [float("nan"), 2.0]], NotEnoughTrials, "2 or more finite scores"),
        ([], NotEnoughTrials, "2 or more finite scores"),
        ("0.1 0.2", InvalidDataError, "sequence of score sequences"),
        (0.3, InvalidDataError, "sequence of score sequences"),
        ([0.1, 0.2, 0.3], InvalidDataError, "runs[0]"),
        ([[0.1, "high"]], InvalidDataError, "not a number"),
        ([[0.1, "0.2"]], InvalidDataError, "runs[0][1] is not a number"),
        ([[0.1, 0.2], [True, 0.3]], InvalidDataError, "runs[1][0] is not a number"),
        ([[[0.1, 0.2], [0.3, 0.4]]], InvalidDataError, "flat sequence"),
        (np.ones(4), InvalidDataError, "2-D"),
        # a set drops tied seeds ({0.5, 0.5, 0.6} is two scores): refused, as analyze does
        ([{0.5, 0.6, 0.7}], InvalidDataError, "not a set"),
        ({0.5, 0.6}, InvalidDataError, "sequence of score sequences"),
        ([[1.7e308, -1.7e308]], InvalidDataError, "overflows"),
    ],
)
def test_bad_runs_raise_a_specific_error(runs, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")) as caught:
        seed_noise(runs)
    assert isinstance(caught.value, TailstopError)
    assert isinstance(caught.value, ValueError)


# below 0.5 (as for analyze): at 0.1 the interval missed its own estimate
@pytest.mark.parametrize("confidence", [0, 0.1, 0.49, 1, 1.5, -0.1, float("nan"), True, "0.9"])
def test_bad_confidence(confidence):
    with pytest.raises(InvalidParameterError, match="confidence"):
        seed_noise([[1.0, 2.0]], confidence=confidence)


def test_input_is_not_modified():
    runs = np.array([[1.0, np.nan, 2.0], [3.0, 4.0, 5.0]])
    before = runs.copy()
    seed_noise(runs)
    np.testing.assert_array_equal(runs, before)


@pytest.mark.parametrize("scale", [1e-160, 1.0, 1e150])
def test_the_interval_scales_with_the_scores(scale):
    groups = [[0.80, 0.81, 0.80, 0.79, 0.80], [0.70, 0.70, 0.71, 0.70, 0.62]]
    base = seed_noise(groups)
    scaled = seed_noise([[scale * v for v in group] for group in groups])
    assert np.allclose(np.array(scaled) / scale, np.array(base), rtol=1e-9)

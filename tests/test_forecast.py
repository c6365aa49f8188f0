"""tailstop.forecast: gains of further random search under a known law."""

from __future__ import annotations

import numpy as np
import pytest

from tailstop import forecast
from tailstop.distributions import NoisyQuadraticDistribution, QuadraticDistribution


@pytest.mark.parametrize("y0", [0.0, 0.3, 0.9, 0.999])
def test_expected_gain_uniform_closed_form(y0):
    # Q(0, 1, c=2) is Uniform(0, 1): int_{y0}^1 (1 - t^k) dt = (1 - y0) - (1 - y0^(k+1))/(k+1)
    dist = QuadraticDistribution(0.0, 1.0, 2)
    ks = np.array([1.0, 2.0, 10.0, 1000.0, 1e6])
    exact = (1 - y0) - (1 - y0 ** (ks + 1)) / (ks + 1)
    assert np.allclose(forecast.expected_gain(dist, y0, ks), exact, rtol=1e-9, atol=1e-15)


def test_expected_gain_matches_simulation_with_noise():
    dist = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005)
    y0, k = 0.70, 20
    draws = dist.sample((40_000, k), generator=0).max(axis=1)
    simulated = np.maximum(draws - y0, 0.0)
    gain = forecast.expected_gain(dist, y0, k)
    assert gain == pytest.approx(simulated.mean(), abs=4 * simulated.std() / np.sqrt(draws.size))


def test_expected_gain_is_monotone_and_zero_at_zero_trials():
    dist = NoisyQuadraticDistribution(0.0, 1.0, 1, 0.01)
    gains = forecast.expected_gain(dist, 0.95, np.array([0, 1, 2, 5, 50, 500]))
    assert gains[0] == 0.0
    assert np.all(np.diff(gains) > 0)
    assert forecast.expected_gain(dist, 2.0, 10) == 0.0  # far above anything reachable


def test_probability_and_trials_are_inverse():
    dist = QuadraticDistribution(0.0, 1.0, 2)
    y0, delta = 0.5, 0.1
    # P(one trial beats 0.6) = 0.4
    assert forecast.prob_improvement(dist, y0, delta, 1) == pytest.approx(0.4)
    assert forecast.prob_improvement(dist, y0, delta, 3) == pytest.approx(1 - 0.6**3)
    k = forecast.trials_to_gain(dist, y0, delta, probability=0.9)
    assert k == pytest.approx(np.log(0.1) / np.log(0.6))
    assert forecast.prob_improvement(dist, y0, delta, k) == pytest.approx(0.9)
    assert np.isinf(forecast.trials_to_gain(dist, 0.95, 0.1, probability=0.5))
    # no trials are needed for a chance of 0, reachable or not (it was 0 / 0 = NaN)
    assert forecast.trials_to_gain(dist, 0.95, 0.1, probability=0.0) == 0.0
    assert forecast.trials_to_gain(dist, y0, [delta, 0.6], probability=0.0).tolist() == [0, 0]


def test_the_ranked_chance_of_any_gain_is_k_over_n_plus_k_whatever_the_law():
    # the best of n + k exchangeable trials is one of the k new ones with chance k / (n + k)
    ks = np.array([1.0, 10.0, 64.0, 1000.0])
    for dist, y0 in ((QuadraticDistribution(0.0, 1.0, 2), 0.9),
                     (NoisyQuadraticDistribution(0.6, 0.72, 3, 0.005), 0.715)):
        chance = forecast.prob_improvement(dist, y0, 0.0, ks, observed=64)
        np.testing.assert_allclose(chance, ks / (64 + ks), rtol=1e-12)
        # a gain beyond delta: the law's share of the gains, less than any gain
        beyond = forecast.prob_improvement(dist, y0, 0.01, ks, observed=64)
        own = forecast.prob_improvement(dist, y0, 0.01, ks)
        anything = forecast.prob_improvement(dist, y0, 0.0, ks)
        np.testing.assert_allclose(beyond, ks / (64 + ks) * own / anything, rtol=1e-12)
        assert np.all(np.diff(beyond) > 0) and np.all(beyond <= chance)


def test_ranked_trials_invert_the_ranked_chance():
    dist = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.02)
    y0, n = 0.97, 100
    # an even chance of any gain takes as many trials again
    assert forecast.trials_to_gain(dist, y0, 0.0, 0.5, observed=n) == pytest.approx(n)
    for delta in (0.005, 0.02, 0.05):
        for probability in (0.1, 0.5, 0.9):
            k = forecast.trials_to_gain(dist, y0, delta, probability, observed=n)
            assert k >= n * probability / (1 - probability)
            chance = forecast.prob_improvement(dist, y0, delta, k, observed=n)
            assert chance == pytest.approx(probability, rel=1e-9)
    ks = forecast.trials_to_gain(dist, y0, [0.0, 0.01, 0.03, 10.0], 0.5, observed=n)
    assert np.all(np.diff(ks[:3]) > 0) and np.isinf(ks[3])  # 10 above: out of reach
    assert forecast.trials_to_gain(dist, y0, 0.01, 0.0, observed=n) == 0.0
    from tailstop.errors import TailstopError

    for bad in (0, -3, 2.5, True, "10"):
        with pytest.raises(TailstopError, match="observed must be"):
            forecast.prob_improvement(dist, y0, 0.01, 10, observed=bad)
        with pytest.raises(TailstopError, match="observed must be"):
            forecast.trials_to_gain(dist, y0, 0.01, 0.5, observed=bad)
        with pytest.raises(TailstopError, match="observed must be"):
            forecast.trials_to_gain(dist, y0, 0.01, 0.0, observed=bad)


def test_a_sequence_of_laws_gives_the_mean_of_their_chances_and_its_trials():
    laws = [NoisyQuadraticDistribution(0.0, 1.0, 2, 0.02), QuadraticDistribution(0.0, 1.0, 2),
            NoisyQuadraticDistribution(0.0, 1.1, 3, 0.01)]
    y0, n = 0.97, 100
    deltas = np.array([0.0, 0.01, 0.05])
    for observed in (None, n):
        each = [forecast.prob_improvement(d, y0, deltas, 50, observed=observed) for d in laws]
        mixed = forecast.prob_improvement(laws, y0, deltas, 50, observed=observed)
        np.testing.assert_allclose(mixed, np.mean(each, axis=0), rtol=1e-14)
        assert forecast.prob_improvement(tuple(laws), y0, 0.01, 50, observed=observed) == (
            pytest.approx(mixed[1], rel=1e-14))
        for probability in (0.05, 0.3):
            k = forecast.trials_to_gain(laws, y0, 0.01, probability, observed=observed)
            assert np.isfinite(k)
            chance = forecast.prob_improvement(laws, y0, 0.01, k, observed=observed)
            assert chance == pytest.approx(probability, rel=1e-9)
        # the noiseless Uniform(0, 1) never gains 0.05 above 0.97: the mixture's chance
        # stops short of 2/3 however many trials run
        assert np.isinf(forecast.trials_to_gain(laws, y0, 0.05, 0.7, observed=observed))
        assert np.isfinite(forecast.trials_to_gain(laws, y0, 0.05, 0.6, observed=observed))
    # a law with no mass above the target may give log F = +0.0 as well as -0.0: never, and
    # the mixture's count comes from the others: 0.5 (1 - e^(-0.01 k)) = 0.3 at k = -ln(0.4)/0.01
    for zero in (0.0, -0.0):
        k = forecast._trials_for(np.array([[zero], [-0.01]]), np.array([-0.1, -0.1]), None, 0.3)
        assert k[0] == pytest.approx(-np.log(0.4) / 0.01, rel=1e-9)
    # one law: the sequence form is the law's own
    assert forecast.trials_to_gain(laws[:1], y0, 0.01, 0.5) == pytest.approx(
        forecast.trials_to_gain(laws[0], y0, 0.01, 0.5), rel=1e-9)
    from tailstop.errors import TailstopError

    with pytest.raises(TailstopError, match="empty sequence"):
        forecast.prob_improvement([], y0, 0.01, 10)
    with pytest.raises(TailstopError, match="empty sequence"):
        forecast.trials_to_gain([], y0, 0.01, 0.5)


@pytest.mark.parametrize("k", [1.0, 3.0, 50.0])
def test_a_ceiling_stops_the_gain_at_the_metric_s_best_value(k):
    # a trial scores min(Y, M): E[max(y0, min(T_k, M))] - y0 = int_{y0}^{M} (1 - t^k) dt
    # for Uniform(0, 1) = (M - y0) - (M^(k+1) - y0^(k+1)) / (k + 1)
    dist = QuadraticDistribution(0.0, 1.0, 2)
    y0, ceiling = 0.5, 0.8
    exact = (ceiling - y0) - (ceiling ** (k + 1) - y0 ** (k + 1)) / (k + 1)
    gain = forecast.expected_gain(dist, y0, k, ceiling=ceiling)
    assert gain == pytest.approx(exact, rel=1e-9)
    assert gain < forecast.expected_gain(dist, y0, k)
    # a ceiling above everything the law reaches changes nothing
    noisy = NoisyQuadraticDistribution(0.0, 1.0, 1, 0.01)
    assert forecast.expected_gain(noisy, 0.9, k, ceiling=5.0) == forecast.expected_gain(
        noisy, 0.9, k
    )
    # a best at the ceiling has nothing left to gain, however noisy the law
    assert forecast.expected_gain(noisy, 1.0, k, ceiling=1.0) == 0.0
    assert forecast.expected_gain(noisy, 1.0, k) > 0.0


def test_a_ceiling_makes_gains_beyond_it_impossible():
    dist = QuadraticDistribution(0.0, 1.0, 2)
    # P(one trial beats 0.6) = 0.4 below a ceiling of 0.65; nothing beats 0.7 under it
    assert forecast.prob_improvement(dist, 0.5, 0.1, 1, ceiling=0.65) == pytest.approx(0.4)
    assert forecast.prob_improvement(dist, 0.5, 0.2, 5, ceiling=0.65) == 0.0
    chances = forecast.prob_improvement(dist, 0.5, np.array([0.1, 0.2]), 1, ceiling=0.65)
    assert chances.tolist() == [pytest.approx(0.4), 0.0]
    assert np.isposinf(forecast.trials_to_gain(dist, 0.5, 0.2, 0.5, ceiling=0.65))
    assert forecast.trials_to_gain(dist, 0.5, 0.1, 0.9, ceiling=0.65) == pytest.approx(
        np.log(0.1) / np.log(0.6)
    )
    assert forecast.trials_to_gain(dist, 0.5, 0.2, 0.0, ceiling=0.65) == 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda d: forecast.expected_gain(d, 0.5, "10"), "ks"),
        (lambda d: forecast.expected_gain(d, "0.5", 10), "current_best"),
        (lambda d: forecast.prob_improvement(d, 0.5, "0.1", 10), "delta"),
        (lambda d: forecast.prob_improvement(d, 0.5, 0.1, True), "ks"),
        (lambda d: forecast.trials_to_gain(d, 0.5, 0.1, probability="0.5"), "probability"),
        (lambda d: forecast.trials_to_gain(d, 0.5, [0.1, None]), "delta"),
    ],
)
def test_arguments_of_the_wrong_type_are_named(call, match):
    from tailstop.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=match):
        call(QuadraticDistribution(0.0, 1.0, 2))

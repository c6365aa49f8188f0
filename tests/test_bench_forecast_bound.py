"""Checks of the helpers of examples/benchmarks/bench_forecast_bound.py (no shared data needed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from tailstop import NoisyQuadraticDistribution


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_forecast_bound")


@pytest.fixture(scope="module")
def mixture(bench):
    law = NoisyQuadraticDistribution(0.2, 0.6, 2, 0.01)
    below = np.linspace(0.0, 0.45, 50)
    return bench.TailMixture(law, 0.45, 0.2, below)


def test_mixture_samples_have_the_tail_share_and_the_law_above_the_threshold(bench, mixture):
    rng = np.random.default_rng(0)
    ys = np.concatenate([mixture.sample(100, rng) for _ in range(200)])
    tail = ys[ys > mixture.theta]
    assert tail.size / ys.size == pytest.approx(0.2, abs=0.01)
    # above the threshold the draws follow the law's conditional CDF (KS distance)
    u = np.sort(mixture.cdf_above(tail) - 0.8) / 0.2
    assert np.max(np.abs(u - np.arange(1, u.size + 1) / u.size)) < 0.03


def test_expected_best_matches_monte_carlo(bench, mixture):
    rng = np.random.default_rng(1)
    k, floor = 30, 0.58
    bests = np.array([mixture.sample(k, rng).max() for _ in range(4000)])
    assert mixture.expected_best(k) == pytest.approx(bests.mean(), abs=3 * bests.std() / 63)
    floored = np.maximum(bests, floor)
    assert mixture.expected_best(k, floor=floor) == pytest.approx(
        floored.mean(), abs=3 * floored.std() / 63 + 1e-6)
    assert mixture.expected_best(k, floor=mixture.upper + 1) == mixture.upper + 1


def test_posterior_gain_concentrates_at_the_plug_in_gain_with_many_tail_points(bench):
    # 2,000 draws, a tail of 400: the posterior mean and the fit's plug-in gain agree closely
    law = NoisyQuadraticDistribution(0.2, 0.6, 2, 0.01)
    rng = np.random.default_rng(2)
    ys = law.sample(2000, generator=rng)
    theta = float(np.quantile(ys, 0.8))
    start = bench.fit_parameters(ys, (theta, np.inf), {"convex": False, "c": 2, "o": 0.01})
    mean, median, border = bench.posterior_gain(ys, theta, 2, 0.01, 100, start)
    plug_in = bench.plug_in_gain(ys, theta, {"c": 2, "o": 0.01}, 100)
    assert border <= bench.BORDER
    assert mean == pytest.approx(plug_in, rel=0.1)
    assert median == pytest.approx(plug_in, rel=0.25)  # the grid's cells are coarse for it

"""Checks of the helpers of examples/benchmarks/bench_law_known.py (no shared data needed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_law_known")


def test_conditional_gain_matches_monte_carlo(bench):
    rng = np.random.default_rng(3)
    values = np.round(rng.uniform(size=60), 2)  # ties, as in real scores
    best, m = float(np.quantile(values, 0.75)), 9
    draws = rng.choice(values, size=(200_000, m)).max(axis=1)
    simulated = np.maximum(draws, best).mean() - best
    assert bench.conditional_gain(np.sort(values), best, m) == pytest.approx(simulated, abs=2e-3)


def test_conditional_gain_edge_cases(bench):
    ordered = np.array([0.1, 0.3, 0.5, 0.9])
    assert bench.conditional_gain(ordered, 0.9, 10) == 0.0  # nothing above the best
    assert bench.conditional_gain(ordered, 0.2, 0) == 0.0  # no trials left
    # one more draw from best 0.4: gains 0.1 or 0.5, each with chance 1/4
    assert bench.conditional_gain(ordered, 0.4, 1) == pytest.approx(0.15)


def test_stopping_bound_chance_rule_stops_when_the_top_is_unreachable(bench):
    # every score within epsilon of the top: both rules stop at the first check, and succeed
    scores = np.linspace(0.0, 0.001, 100)
    rules, oracle = bench.stopping_bound(scores, orders=5, epsilon=0.005, level=0.1, seed=0)
    assert rules["chance"] == (bench.MIN_TRIALS, 1.0)
    assert rules["expected gain"] == (bench.MIN_TRIALS, 1.0)
    assert oracle == 1.0
    # one outlier 2 epsilon above the rest: the expected-gain rule stops once fewer than
    # 138 trials are left (0.01 (1 - (199/200)^h) < 0.005), the chance rule once fewer than
    # 21 are (1 - (199/200)^h < 0.1), unless the outlier came first
    scores = np.concatenate([np.zeros(199), [0.01]])
    rules, _ = bench.stopping_bound(scores, orders=40, epsilon=0.005, level=0.1, seed=1)
    assert rules["expected gain"][0] < rules["chance"][0]
    assert rules["expected gain"][1] < rules["chance"][1]
    assert rules["chance"][1] >= 0.8

"""Smoke tests of the pure helpers of examples/benchmarks/bench_forecast.py."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_forecast")


def test_expected_best_is_the_order_statistic_formula(bench):
    rng = np.random.default_rng(1)
    values = rng.normal(size=37)
    k = 256
    y = np.sort(values)
    i = np.arange(1, y.size + 1)
    formula = np.sum(y * ((i / y.size) ** k - ((i - 1) / y.size) ** k))
    assert bench.expected_best(values, k) == pytest.approx(formula, rel=1e-12)
    assert bench.expected_best(values, 1) == pytest.approx(values.mean(), rel=1e-12)


def test_conditional_expected_best_matches_monte_carlo(bench):
    rng = np.random.default_rng(2)
    values = rng.uniform(size=50)
    best, k = float(np.quantile(values, 0.8)), 7
    draws = rng.choice(values, size=(200_000, k)).max(axis=1)
    simulated = np.maximum(draws, best).mean()
    assert bench.conditional_expected_best(values, best, k) == pytest.approx(simulated, abs=2e-3)


def test_conditional_expected_best_edge_cases(bench):
    values = np.array([0.1, 0.5, 0.3, 0.9])
    assert bench.conditional_expected_best(values, -1.0, 5) == pytest.approx(
        bench.expected_best(values, 5)
    )
    assert bench.conditional_expected_best(values, 0.95, 5) == pytest.approx(0.95)
    assert bench.conditional_expected_best(values, 0.4, 0) == 0.4


def test_error_summary_and_target(bench):
    summary = bench.error_summary({"a": [1.0, 3.0, 4.0], "empty": []}, truth=2.0)
    mean_abs, median_abs, bias = summary["a"]
    assert (mean_abs, median_abs, bias) == pytest.approx((4 / 3, 1.0, 2 / 3))
    assert np.isnan(summary["empty"][0])
    assert bench.meets_target({"ts": 1.0, "best": 2.0, "nonpar": 3.0})
    assert not bench.meets_target({"ts": 1.0, "best": 3.0, "nonpar": 1.9})


def test_load_scores_and_most_common(bench, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("trial,score,lr\n1,0.5,0.1\n2,0.25,0.2\n")
    assert bench.load_scores(path).tolist() == [0.5, 0.25]
    assert bench.most_common([2, 1, 2, 3, 2, 1], top=2) == "2:3 1:2"

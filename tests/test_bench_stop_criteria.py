"""Checks of the pure helpers of examples/benchmarks/bench_stop_criteria.py."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark
from scipy import stats


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_stop_criteria")


def test_three_point_weights_match_a_normal_variance(bench):
    # nodes at +-sqrt(chi2_1(0.9)) standard deviations: weight w each, 2 w z^2 = 1
    row = {"chances": [0.2, 1.0, 0.0], "ends": [0.5, 0.6, 0.4], "confidence": 0.9}
    w = 1 / (2 * stats.chi2.ppf(0.9, 1))
    assert bench.three_point(row) == pytest.approx((1 - 2 * w) * 0.2 + w * 1.0)
    assert 2 * w * stats.chi2.ppf(0.9, 1) == pytest.approx(1.0)


def test_evaluate_stops_at_the_first_row_meeting_each_criterion(bench):
    eps = bench.EPSILON
    running = np.array([0.0, 0.0, 0.0, 1.0, 1.0])  # the top is found at trial 4
    rows = [
        {"n": 2, "high": 0.5 * eps, "chances": [0.5, 0.9], "ends": [1, 2], "confidence": 0.9},
        {"n": 3, "high": 0.5 * eps, "chances": [0.05, 0.5], "ends": [1, 2], "confidence": 0.9},
        {"n": 5, "high": 0.5 * eps, "chances": [0.0, 0.01], "ends": [1, 2], "confidence": 0.9},
    ]
    out = bench.evaluate([{"running": running, "rows": rows}], top=1.0, size=5)
    assert out["UCB gain < eps (default)"] == (2.0, 0.0)
    assert out["point chance < 0.1"] == (3.0, 0.0)
    assert out["... & max chance < 0.1"] == (5.0, 1.0)
    # a criterion never met uses the whole budget
    never = [{**r, "high": 2 * eps} for r in rows]
    out = bench.evaluate([{"running": running, "rows": never}], top=1.0, size=5)
    assert out["UCB gain < eps (default)"] == (5.0, 1.0)

"""Checks of the helpers of examples/benchmarks/bench_edge_optimum.py (no shared data needed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from tailstop.synthetic import make_problem


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_edge_optimum")


@pytest.mark.parametrize(("r", "direction"), [(1, "maximize"), (2, "minimize"), (3, "maximize")])
def test_the_truth_is_the_best_expected_score_inside_the_box(bench, r, direction):
    problem = make_problem(r, direction=direction, generator=r)
    sign = 1.0 if direction == "maximize" else -1.0
    for seed in range(5):
        edge, truth, effective, ends = bench.moved_out(problem, np.random.default_rng(seed))
        outside = (edge.optimum < 0.0) | (edge.optimum > 1.0)
        assert 1 <= outside.sum() <= min(r, 2) and not outside[r:].any()
        assert effective == r + outside.sum()
        assert ends == {int(i): "high" if edge.optimum[i] > 1 else "low"
                        for i in np.flatnonzero(outside)}
        drop = sign * (problem.best - truth)
        assert 0.003 * problem.scale <= drop <= 0.1 * problem.scale
        # no point of the box does better (nor the box's corners), and the scores of random
        # points near the edge's best point come within 1e-3 of the range of it
        rng = np.random.default_rng(seed)
        corners = rng.integers(0, 2, size=(5_000, edge.dimension)).astype(float)
        x = np.concatenate([rng.random((100_000, edge.dimension)), corners])
        assert np.max(sign * edge.expected_score(x)) <= sign * truth + 1e-12
        near = np.clip(np.clip(edge.optimum, 0.0, 1.0) + rng.uniform(-1e-3, 1e-3, x.shape), 0, 1)
        assert np.max(sign * edge.expected_score(near)) == pytest.approx(sign * truth, abs=1e-3)


def test_the_control_keeps_the_optimum_inside(bench):
    problem = make_problem(2, generator=0)
    edge, truth, effective, ends = bench.moved_out(problem, np.random.default_rng(0),
                                                    inside=True)
    assert truth == problem.best and effective == 2 and ends == {}
    np.testing.assert_array_equal(edge.optimum, problem.optimum)
    np.testing.assert_array_equal(edge.directions, np.eye(problem.dimension)[:2])
    assert edge.expected_score(problem.optimum) == problem.best


def test_near_puts_the_optimum_inside_close_to_an_end(bench):
    problem = make_problem(3, generator=1)
    for seed in range(5):
        edge, truth, effective, ends = bench.moved_out(problem, np.random.default_rng(seed),
                                                       near=True)
        assert truth == problem.best and effective == 3 and ends == {}
        gap = np.minimum(edge.optimum, 1.0 - edge.optimum)
        moved = edge.optimum != problem.optimum
        assert 1 <= moved.sum() <= 2 and not moved[3:].any()
        assert np.all((gap[moved] >= 0.1) & (gap[moved] <= 0.25))
        assert edge.expected_score(edge.optimum) == problem.best

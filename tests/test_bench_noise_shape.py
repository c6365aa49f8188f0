"""Checks of the helpers of examples/benchmarks/bench_noise_shape.py (no shared data needed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

from tailstop.synthetic import make_problem


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_noise_shape")


@pytest.mark.parametrize("shape", ["normal", "t5", "t3", "bad-runs", "lucky-runs", "uneven"])
def test_every_noise_has_mean_0_and_standard_deviation_1(bench, shape):
    """So that the problem's best stays the truth and its noise the optimum's deviation."""
    draws = bench.standard_noise(shape, 400_000, np.random.default_rng(0))
    assert abs(draws.mean()) < 0.01
    # (t3's variance is finite but its sample variance converges slowly)
    assert draws.std() == pytest.approx(1.0, abs=0.05 if shape == "t3" else 0.01)


def test_bad_runs_skew_towards_worse_scores_and_lucky_runs_towards_better(bench):
    rng = np.random.default_rng(1)
    bad, lucky = (bench.standard_noise(s, 100_000, rng) for s in ("bad-runs", "lucky-runs"))
    assert np.mean(bad**3) < -0.5 and np.mean(lucky**3) > 0.5


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_scores_centre_on_the_expected_score_and_uneven_noise_grows_away(bench, direction):
    problem = make_problem(2, noise_ratio=0.05, direction=direction, generator=0)
    rng = np.random.default_rng(2)
    size = 100_000
    near = bench.with_noise(problem, "uneven", np.full(size, problem.best), rng)
    assert near.mean() == pytest.approx(problem.best, abs=0.002)
    assert near.std() == pytest.approx(problem.noise, rel=0.02)
    far_x = np.where(problem.optimum > 0.5, 0.0, 1.0)
    far_score = float(problem.expected_score(far_x))
    far = bench.with_noise(problem, "uneven", np.full(size, far_score), rng)
    drop = abs(far_score - problem.best)
    assert drop > 0.5 * problem.scale
    assert far.std() == pytest.approx(problem.noise * (1 + 3 * drop / problem.scale), rel=0.02)
    bad = bench.with_noise(problem, "bad-runs", np.full(size, problem.best), rng)
    worse = np.mean((bad - problem.best) ** 3) * (1 if direction == "maximize" else -1)
    assert worse < 0  # the bad runs are worse in the problem's own direction
    scores = bench.scores_of(problem, "normal", 1000, rng)
    assert scores.shape == (1000,)
    assert np.all((scores - problem.best) * (1 if direction == "maximize" else -1)
                  < 5 * problem.noise)

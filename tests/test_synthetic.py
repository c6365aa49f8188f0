"""tailstop.synthetic: problems with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from tailstop.errors import InvalidParameterError
from tailstop.synthetic import make_problem, random_problems


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("r", [1, 3])
def test_best_is_the_optimum_of_the_expected_score(direction, r):
    problem = make_problem(r, dimension=r + 2, direction=direction, generator=r)
    assert problem.expected_score(problem.optimum) == pytest.approx(problem.best)
    x = np.random.default_rng(0).random((10_000, problem.dimension))
    values = problem.expected_score(x)
    if direction == "maximize":
        assert values.max() <= problem.best
        assert values.min() >= problem.best - problem.scale
    else:
        assert values.min() >= problem.best
        assert values.max() <= problem.best + problem.scale


def test_only_effective_directions_matter():
    problem = make_problem(2, dimension=6, generator=3)
    rng = np.random.default_rng(1)
    x = rng.random((50, 6))
    # Moving orthogonally to the effective directions leaves the expected score unchanged.
    orthogonal = rng.normal(size=6)
    orthogonal -= problem.directions.T @ (problem.directions @ orthogonal)
    assert np.allclose(problem.expected_score(x + 0.01 * orthogonal), problem.expected_score(x))


@pytest.mark.parametrize("r", [1, 2, 4])
def test_tail_has_power_law_of_effective_dimension(r):
    # Near the optimum P(best - score <= t) ~ C t^(r/2): the log-log slope of the noiseless
    # tail between two small gaps is r/2.
    problem = make_problem(r, dimension=r + 1, regime_mass=0.2, generator=10 + r)
    gaps = np.sort(problem.best - problem.run_search(400_000, generator=2))
    t1, t2 = np.quantile(gaps, [0.002, 0.02])
    slope = np.log(0.02 / 0.002) / np.log(t2 / t1)
    assert slope == pytest.approx(r / 2, rel=0.15)


def test_noise_and_reproducibility():
    problem = make_problem(2, noise_ratio=0.05, generator=0)
    assert problem.noise == pytest.approx(0.05 * problem.scale)
    a = problem.run_search(20, generator=7)
    b = problem.run_search(20, generator=7)
    assert np.array_equal(a, b)
    x = np.full((2000, problem.dimension), 0.0) + problem.optimum
    spread = problem.objective(x, generator=1) - problem.best
    assert spread.std() == pytest.approx(problem.noise, rel=0.1)


def test_expected_best_is_monotone_and_matches_simulation():
    problem = make_problem(2, noise_ratio=0.01, generator=4)
    curve = problem.expected_best([1, 5, 25], n_reference=200_000)
    assert np.all(np.diff(curve) > 0)
    runs = problem.run_search(5 * 4000, generator=9).reshape(4000, 5).max(axis=1)
    assert curve[1] == pytest.approx(runs.mean(), abs=4 * runs.std() / np.sqrt(4000))


def test_random_problems_span_the_grid():
    problems = random_problems(24, generator=0)
    assert {p.effective_dimension for p in problems} == {1, 2, 3, 4}
    assert {p.direction for p in problems} == {"maximize", "minimize"}
    assert {round(p.noise_ratio, 3) for p in problems} == {0.0, 0.01, 0.05}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"effective_dimension": 0},
        {"effective_dimension": 2, "dimension": 1},
        {"effective_dimension": 2, "direction": "up"},
        {"effective_dimension": 2, "noise_ratio": -1.0},
        {"effective_dimension": 2, "regime_mass": 1.5},
        {"effective_dimension": True},
        {"effective_dimension": "2"},
        {"effective_dimension": 2, "best": np.inf},
        {"effective_dimension": 2, "scale": "1"},
        {"effective_dimension": 2, "generator": "seed"},
    ],
)
def test_bad_settings_raise(kwargs):
    with pytest.raises(InvalidParameterError):
        make_problem(**kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.run_search(2.5),  # (was 2 trials)
        lambda p: p.run_search("5"),  # (was 5)
        lambda p: p.expected_best(0),  # (was 0.0)
        lambda p: p.expected_best(-1),  # (was inf)
        lambda p: random_problems(-1),  # (was [])
        lambda p: random_problems("3"),
        lambda p: random_problems(3, effective_dimensions=()),  # (was ZeroDivisionError)
    ],
)
def test_bad_arguments_of_searches_and_problem_sets_raise(call):
    with pytest.raises(InvalidParameterError):
        call(make_problem(2, generator=0))

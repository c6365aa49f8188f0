"""tailstop.replay: random-order replays of a finished search, baselines and the oracle."""

from __future__ import annotations

import numpy as np
import pytest

import tailstop.monitor as monitor_module
from tailstop.baselines import _RayExperimentPlateauStopper
from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.replay import (
    FixedTrials,
    RayPlateau,
    baselines,
    replay,
    terminator_note,
    without_budget,
)
from tailstop.rules import GainBelow, Patience
from tailstop.synthetic import make_problem


@pytest.fixture(scope="module")
def scores():
    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=7)
    return problem.run_search(120, generator=3)


def brute_force(scores, permutation, epsilon, stop_after):
    """Regret and oracle of one order, the slow obvious way."""
    ordered = scores[permutation]
    best = scores.max()
    oracle = next(i + 1 for i in range(ordered.size) if ordered[: i + 1].max() >= best - epsilon)
    return best - ordered[:stop_after].max(), oracle


def test_baselines_regret_and_oracle_match_brute_force(scores):
    epsilon = 0.02
    result = replay(
        scores,
        "maximize",
        {"fixed 30": FixedTrials(30), "patience 10": Patience(10)},
        epsilon=epsilon,
        orders=25,
        seed=4,
    )
    rng = np.random.default_rng(4)
    permutations = [rng.permutation(scores.size) for _ in range(25)]
    fixed = result.outcomes["fixed 30"]
    assert np.all(fixed.trials == 30)
    expected = [brute_force(scores, p, epsilon, 30) for p in permutations]
    np.testing.assert_allclose(fixed.regrets, [e[0] for e in expected])
    np.testing.assert_array_equal(result.oracle_trials, [e[1] for e in expected])
    assert fixed.success_rate == pytest.approx(np.mean([e[0] <= epsilon for e in expected]))
    # patience: the first trial (>= min_trials 20) after 10 without a strict improvement
    patience = result.outcomes["patience 10"]
    for permutation, used in zip(permutations, patience.trials, strict=True):
        ordered = scores[permutation]
        record = np.maximum.accumulate(ordered)
        last_best = [int(np.flatnonzero(ordered[:n] == record[n - 1])[0]) for n in range(1, 121)]
        stops = [n for n in range(20, 121) if n - 1 - last_best[n - 1] >= 10]
        assert used == (stops[0] if stops else 120)
    table = result.table("synthetic")
    assert "fixed 30" in table and "oracle" in table and "synthetic" in table


def test_minimize_is_the_mirror_image(scores):
    rules = {"fixed 25": FixedTrials(25), "ray": RayPlateau(0.05)}
    up = replay(scores, "maximize", rules, epsilon=0.02, orders=10, seed=1)
    down = replay(-scores, "minimize", rules, epsilon=0.02, orders=10, seed=1)
    for name in rules:
        np.testing.assert_array_equal(up.outcomes[name].trials, down.outcomes[name].trials)
        np.testing.assert_allclose(up.outcomes[name].regrets, down.outcomes[name].regrets)
    assert down.best == pytest.approx(-up.best)


def test_ray_plateau_is_ray_logic():
    stopper = _RayExperimentPlateauStopper(std=0.1, top=3, mode="max", patience=1)
    decisions = [stopper(v) for v in (1.0, 5.0, 1.05, 1.1, 5.0, 5.05, 5.1, 5.1)]
    # top 3 = (5.0, 5.0, 5.05) after the 6th value: std 0.024 <= 0.1, and Ray's counter
    # reaches patience 1 on that same result
    assert decisions == [False] * 5 + [True] * 3
    baseline = RayPlateau(0.1, top=3)
    assert baseline(np.array([1.0, np.nan, 1.0, 1.0, 9.0]), "maximize") == 4
    with pytest.raises(InvalidParameterError):
        RayPlateau(1)  # Ray insists on a float
    with pytest.raises(InvalidParameterError):
        RayPlateau(0.1, top=1)


def test_monitor_rules_and_parallel_orders(monkeypatch, scores):
    # a cheap stand-in for analyze keeps the test fast; the real fit is exercised elsewhere
    from tailstop.estimate import analyze

    fixed = analyze(scores, "maximize")
    monkeypatch.setattr(monitor_module, "analyze", lambda *a, **k: fixed)
    monkeypatch.setattr(monitor_module, "gain_interval", lambda estimate, horizon: (0.0,) * 3)
    rules = {"gain": GainBelow(0.02), "gain, no budget": without_budget(GainBelow(0.02))}
    assert fixed.fits_well
    serial = replay(scores, "maximize", rules, epsilon=0.02, orders=3, seed=2)
    # with one fixed estimate the decision depends on the horizon only: the same in every order
    ns = np.arange(20, 121)
    budget_gain = fixed.expected_gain(120 - ns).high
    open_gain = fixed.expected_gain(ns).high
    first = {
        "gain": ns[np.argmax(budget_gain < 0.02)] if np.any(budget_gain < 0.02) else 120,
        "gain, no budget": ns[np.argmax(open_gain < 0.02)] if np.any(open_gain < 0.02) else 120,
    }
    for name, outcome in serial.outcomes.items():
        assert np.all(outcome.trials == first[name]), (name, outcome.trials, first[name])
    assert set(serial.to_dict()) >= {"rules", "oracle_mean_trials", "epsilon"}


def test_parallel_matches_serial(scores):
    rules = baselines(0.02)
    serial = replay(scores, "maximize", rules, epsilon=0.02, orders=8, seed=5)
    parallel = replay(scores, "maximize", rules, epsilon=0.02, orders=8, seed=5, n_jobs=2)
    for name in rules:
        np.testing.assert_array_equal(serial.outcomes[name].trials, parallel.outcomes[name].trials)
    np.testing.assert_array_equal(serial.oracle_trials, parallel.oracle_trials)


def test_budget_and_failed_trials(scores):
    with_failures = list(scores[:60]) + [None] * 20
    result = replay(
        with_failures, "maximize", {"f": FixedTrials(100)}, epsilon=0.01, orders=5, budget=50
    )
    assert np.all(result.outcomes["f"].trials == 50) and result.budget == 50
    assert np.all(result.oracle_trials <= 50)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epsilon": 0.0},
        {"epsilon": -1.0},
        {"epsilon": 0.1, "orders": 0},
        {"epsilon": 0.1, "budget": 1000},
        {"epsilon": 0.1, "rules": {}},
        {"epsilon": 0.1, "rules": {"x": 3}},
        {"epsilon": 0.1, "monitor_options": {"min_trials": 0}},
        {"epsilon": 0.1, "direction": "sideways"},
        {"epsilon": 0.1, "seed": "x"},
        {"epsilon": 0.1, "seed": -1},
        {"epsilon": 0.1, "monitor_options": {"no_such_option": 1}},
    ],
)
def test_bad_arguments(scores, kwargs):
    arguments = {"direction": "maximize", "rules": {"f": FixedTrials(10)}, **kwargs}
    with pytest.raises((InvalidParameterError, InvalidDataError)):
        replay(scores, **arguments)
    with pytest.raises(InvalidDataError):
        replay(["a", 1.0], "maximize", {"f": FixedTrials(1)}, epsilon=0.1)
    with pytest.raises(InvalidDataError):
        replay([None, None], "maximize", {"f": FixedTrials(1)}, epsilon=0.1)


def test_terminator_note_says_why():
    note = terminator_note()
    assert note is not None and "Terminator" in note and "skipped" in note


@pytest.mark.slow  # importing ray takes ~10 s
def test_ray_plateau_agrees_with_ray():
    stopper_module = pytest.importorskip("ray.tune.stopper")
    rng = np.random.default_rng(0)
    for trial in range(20):
        values = rng.normal(0.8, 0.01, size=60)
        mode = ("max", "min")[trial % 2]
        patience = trial % 3
        ours = _RayExperimentPlateauStopper(0.008, 10, mode, patience)
        theirs = stopper_module.ExperimentPlateauStopper(
            "score", std=0.008, top=10, mode=mode, patience=patience
        )
        for i, value in enumerate(values):
            assert ours(float(value)) == theirs(str(i), {"score": float(value)})


def test_replay_checks_its_options_before_any_order():
    scores = make_problem(1, noise_ratio=0.01, generator=3).run_search(40, generator=4)
    rules = {"patience": Patience(5)}
    with pytest.raises(InvalidParameterError, match="monitor_options must be a mapping"):
        replay(scores, "maximize", rules, epsilon=0.01, orders=2, monitor_options="x")
    with pytest.raises(InvalidParameterError, match="rule names must be strings"):
        replay(scores, "maximize", {1: Patience(5)}, epsilon=0.01, orders=2)
    with pytest.raises(InvalidParameterError, match="resolution"):
        replay(scores, "maximize", rules, epsilon=0.01, orders=2,
               monitor_options={"resolution": 1e-320})


def test_replay_reports_its_progress():
    scores = make_problem(1, noise_ratio=0.01, generator=3).run_search(40, generator=4)
    seen = []
    replay(scores, "maximize", {"fixed": FixedTrials(20)}, epsilon=0.01, orders=5,
           progress=lambda done, total: seen.append((done, total)))
    assert seen == [(k, 5) for k in range(1, 6)]


def test_an_interrupted_parallel_replay_ends_without_running_the_rest():
    """Ctrl-C during ``n_jobs=2``: the chunks not started are cancelled and the workers
    ended (leaving the pool as ``with`` does ran every queued chunk first: 78 s for a
    10-order replay interrupted after 6 s)."""
    import multiprocessing
    import time

    scores = make_problem(2, noise_ratio=0.01, generator=3).run_search(40, generator=4)
    rules = {"never": GainBelow(1e-12)}  # refits at 20, 30 and 40 trials in every order
    first = []

    def interrupt(done, total):
        first.append(time.perf_counter() - started)
        raise KeyboardInterrupt

    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        replay(scores, "maximize", rules, epsilon=0.01, orders=16, n_jobs=2, progress=interrupt,
               monitor_options={"refit_step": 10})
    elapsed = time.perf_counter() - started
    # 8 chunks on 2 workers: the rest would take about 3.5 times the first chunk
    assert len(first) == 1 and elapsed < 2.0 * first[0] + 1.0, (elapsed, first)
    # no worker left behind (under Python 3.10 the pool may start one during its shutdown,
    # which then takes the shutdown's sentinel and ends by itself)
    deadline = time.perf_counter() + 10
    while multiprocessing.active_children() and time.perf_counter() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()

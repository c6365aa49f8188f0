"""tailstop.repeats and the monitor's use of it: repeated configurations that always score
the same show a deterministic objective, whose seed noise is then held at 0."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.monitor import Monitor
from tailstop.repeats import MIN_CONFIGURATIONS, Repeats, configuration_key


def discrete_search(n: int, noise: float = 0.0, seed: int = 0):
    """A random search over an integer in 1..30 and a binary choice (60 configurations):
    accuracy-like scores, quadratic around k = 12, plus ``noise`` per run."""
    rng = np.random.default_rng(seed)
    ks = rng.integers(1, 31, n)
    flags = rng.integers(0, 2, n).astype(bool)
    scores = 0.9 - 2e-4 * (ks - 12) ** 2 - 0.01 * flags + noise * rng.standard_normal(n)
    configs = [{"k": int(k), "flag": bool(f)} for k, f in zip(ks, flags, strict=True)]
    return scores, configs


def test_configuration_keys_match_equal_configurations_only():
    assert configuration_key({"a": 1, "b": "x"}) == configuration_key({"b": "x", "a": 1})
    assert configuration_key({"a": np.int64(3)}) == configuration_key({"a": 3})
    assert configuration_key({"a": [1, 2]}) == configuration_key({"a": (1, 2)})
    assert configuration_key({"a": {"b": [1]}}) == configuration_key({"a": {"b": [1]}})
    assert configuration_key({"a": 1}) != configuration_key({"a": 2})
    assert configuration_key({"a": 1}) != configuration_key({"a": True})  # 1 == True in Python
    assert configuration_key({"a": 1}) != configuration_key({"b": 1})
    assert configuration_key({"a": float("nan")}) == configuration_key({"a": float("nan")})
    unhashable = configuration_key({"a": {1, 2}})  # a set: by its repr
    hash(unhashable)


def test_verdict_needs_enough_exact_repeats_and_one_difference_ends_it():
    repeats = Repeats()
    for k in range(MIN_CONFIGURATIONS - 1):
        repeats.add({"k": k}, 0.5 + k)
        repeats.add({"k": k}, 0.5 + k)
    assert repeats.n_repeated == MIN_CONFIGURATIONS - 1 and repeats.deterministic is None
    repeats.add({"k": 99}, 0.3)  # seen once: not a repeat
    assert repeats.deterministic is None
    repeats.add({"k": 99}, 0.3 * (1 + 1e-12))  # the same score, summed in another order
    assert repeats.n_repeated == MIN_CONFIGURATIONS and repeats.deterministic is True
    for failed in (None, float("nan"), float("inf")):
        repeats.add({"k": 0}, failed)  # failed runs say nothing
    assert repeats.deterministic is True
    repeats.add({"k": 0}, 0.5 + 1e-6)
    assert repeats.deterministic is False
    for k in range(10, 30):  # once seen to differ, always
        repeats.add({"k": k}, 1.0)
        repeats.add({"k": k}, 1.0)
    assert repeats.deterministic is False
    assert repeats.to_dict() == {
        "repeated_configurations": MIN_CONFIGURATIONS + 20, "deterministic": False,
    }


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "5"])
def test_bad_minimum_raises(bad):
    with pytest.raises(InvalidParameterError, match="min_configurations"):
        Repeats(bad)


def test_monitor_holds_the_noise_at_zero_once_repeats_show_a_deterministic_objective(caplog):
    scores, configs = discrete_search(120)
    monitor = Monitor("maximize", budget=1000, refit_step=20)
    with caplog.at_level(logging.INFO, logger="tailstop"):
        for score, config in zip(scores, configs, strict=True):
            monitor.observe(score, config=config)
    assert monitor.repeats.deterministic is True
    assert monitor.noise == 0.0
    assert monitor.estimate.noise_known and monitor.estimate.noise == 0.0
    report = monitor.report()
    assert report["noise_source"] == "repeats" and report["noise_known"]
    assert report["repeats"]["deterministic"] is True
    assert report["repeats"]["repeated_configurations"] >= MIN_CONFIGURATIONS
    assert sum("configurations ran more than once" in r.message for r in caplog.records) == 1
    # without the parameters, or with the detection off, the noise is fitted as before
    for kwargs, given in (({}, False), ({"detect_deterministic": False}, True)):
        plain = Monitor("maximize", budget=1000, refit_step=20, **kwargs)
        for score, config in zip(scores, configs, strict=True):
            plain.observe(score, config=config if given else None)
        assert plain.noise is None and not plain.estimate.noise_known
        assert plain.report()["noise_source"] is None


def test_a_repeat_that_differs_withdraws_the_zero_noise_and_refits():
    scores, configs = discrete_search(120)
    monitor = Monitor("maximize", budget=1000, refit_step=20)
    for score, config in zip(scores, configs, strict=True):
        monitor.observe(score, config=config)
    assert monitor.noise == 0.0
    refits = len(monitor.history)
    monitor.observe(scores[0] - 0.003, config=configs[0])
    assert monitor.repeats.deterministic is False and monitor.noise is None
    assert len(monitor.history) == refits + 1  # refitted at once, not on the schedule
    assert not monitor.estimate.noise_known


def test_a_given_noise_wins_over_the_repeats():
    scores, configs = discrete_search(120)
    monitor = Monitor("maximize", budget=1000, noise=0.002, refit_step=20)
    for score, config in zip(scores, configs, strict=True):
        monitor.observe(score, config=config)
    assert monitor.repeats.deterministic is True
    assert monitor.noise == 0.002 and monitor.report()["noise_source"] == "given"
    monitor.set_noise(None)  # withdrawn: the repeats' verdict holds
    assert monitor.noise == 0.0 and monitor.estimate.noise == 0.0


def test_noisy_repeats_leave_the_noise_fitted():
    scores, configs = discrete_search(150, noise=0.002)
    monitor = Monitor("maximize", budget=1000, refit_step=20)
    for score, config in zip(scores, configs, strict=True):
        monitor.observe(score, config=config)
    assert monitor.repeats.deterministic is False
    assert monitor.noise is None and not monitor.estimate.noise_known


def test_update_takes_configs_extends_and_replaces():
    scores, configs = discrete_search(120)
    monitor = Monitor("maximize", budget=1000, refit_step=20)
    monitor.update(list(scores[:100]), configs=configs[:100])
    assert monitor.repeats.deterministic is True and monitor.noise == 0.0
    monitor.update(list(scores))  # extends: the known trials keep their configurations
    assert monitor.n_trials == 120 and monitor.noise == 0.0
    assert monitor.repeats.n_repeated > 0
    with pytest.raises(InvalidDataError, match="configs has 3 entries for 120 scores"):
        monitor.update(list(scores), configs=configs[:3])
    assert monitor.n_trials == 120 and monitor.noise == 0.0  # nothing changed
    # a history in another order with one configuration's scores changed: replaced
    changed = list(scores[::-1])
    changed_configs = configs[::-1]
    repeated = next(c for c in changed_configs if changed_configs.count(c) > 1)
    changed[changed_configs.index(repeated)] -= 0.01
    monitor.update(changed, configs=changed_configs)
    assert monitor.repeats.deterministic is False and monitor.noise is None


def test_bad_detect_deterministic_raises():
    with pytest.raises(InvalidParameterError, match="detect_deterministic"):
        Monitor("maximize", detect_deterministic="yes")


def test_a_reordered_history_keeps_the_verdict_without_a_second_notice(caplog):
    scores, configs = discrete_search(120)
    monitor = Monitor("maximize", budget=1000, refit_step=20)
    monitor.update(list(scores), configs=configs)
    assert monitor.noise == 0.0
    with caplog.at_level(logging.INFO, logger="tailstop"):
        caplog.clear()  # the first notice, when an earlier test left the logger at INFO
        monitor.update(list(scores[::-1]), configs=configs[::-1])
    assert monitor.noise == 0.0 and monitor.repeats.deterministic is True
    assert not any("configurations ran more than once" in r.message for r in caplog.records)


def test_configurations_that_cannot_be_keyed_are_left_out_never_raised():
    class Broken:
        def __hash__(self):
            raise RuntimeError("no hash")

        def __repr__(self):
            raise RuntimeError("no repr")

    class Twin:  # two keys with one repr: their values need not compare
        def __repr__(self):
            return "twin"

    key = configuration_key({Twin(): 1, Twin(): "a"})  # sorting 1 against "a" would raise
    hash(key)
    repeats = Repeats()
    for _ in range(3):
        repeats.add(Broken(), 0.5)
        repeats.add({"x": Broken()}, 0.5)
    assert repeats.n_repeated == 0 and repeats.deterministic is None
    monitor = Monitor("maximize", min_trials=10**6)
    monitor.observe(0.5, config=Broken())
    assert monitor.n_trials == 1 and monitor.repeats.n_repeated == 0

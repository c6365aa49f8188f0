"""tailstop.Monitor: throttled refits, idempotent updates, thread safety, failure handling."""

from __future__ import annotations

import json
import logging
import math
import threading

import numpy as np
import pytest
from never_rule import Never

import tailstop.monitor as monitor_module
from tailstop.errors import FitError, InvalidDataError, InvalidParameterError
from tailstop.estimate import analyze
from tailstop.monitor import Monitor
from tailstop.rules import GainBelow, Patience
from tailstop.synthetic import make_problem


@pytest.fixture(scope="module")
def search():
    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=7)
    return problem.run_search(400, generator=6)


@pytest.fixture(scope="module")
def real_estimate(search):
    return analyze(search[:100], "maximize")


@pytest.fixture
def fake_analyze(monkeypatch, real_estimate):
    """Replace analyze by a recorder returning a fixed real estimate."""
    calls = []

    def fake(scores, direction, **kwargs):
        calls.append({"n": len(scores), "previous": kwargs.get("previous"), **kwargs})
        return real_estimate

    monkeypatch.setattr(monitor_module, "analyze", fake)
    monkeypatch.setattr(monitor_module, "gain_interval", lambda estimate, horizon: (0.0,) * 3)
    return calls


@pytest.mark.parametrize(
    "kwargs",
    [
        {"direction": "up"},
        {"direction": "maximize", "budget": 0},
        {"direction": "maximize", "budget": 2.5},
        {"direction": "maximize", "budget": "10"},
        {"direction": "maximize", "min_trials": 0},
        {"direction": "maximize", "confidence": 1.0},
        {"direction": "maximize", "rule": "GainBelow"},
        {"direction": "maximize", "bounds": (1, 0)},
        {"direction": "maximize", "max_dimension": 11},
        {"direction": "maximize", "refit_growth": 2.0},
    ],
)
def test_bad_construction(kwargs):
    with pytest.raises(InvalidParameterError):
        Monitor(**kwargs)


def test_bad_input_raises_before_any_change(fake_analyze):
    monitor = Monitor("maximize", bounds=(0, 1))
    monitor.observe(0.5)
    for bad in ("abc", True, [0.1], 1.5):
        with pytest.raises(InvalidDataError):
            monitor.observe(bad)
    with pytest.raises(InvalidDataError):
        monitor.observe(0.5, duration=-1.0)
    with pytest.raises(InvalidDataError):
        monitor.update([0.5, "x"])
    with pytest.raises(InvalidDataError):
        monitor.update([0.5, 0.6], durations=[1.0])
    with pytest.raises(InvalidDataError):
        monitor.update("0.5")
    assert monitor.n_trials == 1 and monitor.n_failed == 0


def test_failed_trials_and_state():
    monitor = Monitor("minimize", min_trials=50)
    for score in [3.0, None, float("nan"), float("inf"), 2.0, 2.5, -math.inf]:
        monitor.observe(score, duration=2.0)
    state = monitor.state
    assert (state.n_trials, state.n_failed, state.current_best) == (7, 4, 2.0)
    assert state.trials_since_improvement == 2 and state.mean_duration == 2.0
    assert "7 of min_trials=50" in monitor.reason and not monitor.should_stop


def test_budget_stops_without_a_fit(fake_analyze):
    monitor = Monitor("maximize", budget=5)
    for score in range(5):
        assert not monitor.should_stop
        monitor.observe(float(score))
    assert monitor.should_stop and monitor.reason == "budget of 5 trials used"
    assert fake_analyze == [] and monitor.estimate is None
    monitor.observe(9.0)  # a trial still running when the stop came: latched
    assert monitor.should_stop and monitor.n_trials == 6


def test_the_budgets_last_trial_refits_once(fake_analyze):
    # off the schedule (every 10 trials from 20 on), the budget's last trial still refits, so
    # a search that runs its budget ends with an estimate of every trial; later ones do not
    monitor = Monitor("maximize", Never(), budget=47, min_trials=20, refit_step=10)
    for score in np.linspace(0.0, 1.0, 47):
        monitor.observe(float(score))
    assert [call["n"] for call in fake_analyze] == [20, 30, 40, 47]
    assert monitor.should_stop and monitor.reason == "budget of 47 trials used"
    monitor.observe(0.5)  # a trial still running at the stop
    assert len(fake_analyze) == 4 and monitor.n_trials == 48
    # a budget crossed inside one update refits once too
    fake_analyze.clear()
    monitor = Monitor("maximize", Never(), budget=47, min_trials=20, refit_step=10)
    monitor.update(np.linspace(0.0, 1.0, 45).tolist())
    monitor.update(np.linspace(0.0, 1.0, 50).tolist())
    assert [call["n"] for call in fake_analyze] == [45, 50]


def test_min_trials_holds_back_the_rule(fake_analyze):
    monitor = Monitor("maximize", Patience(1), min_trials=20)
    for _ in range(19):
        monitor.observe(0.0)
    assert not monitor.should_stop and fake_analyze == []
    monitor.observe(0.0)
    assert monitor.should_stop and "patience 1" in monitor.reason
    assert len(fake_analyze) == 1


def test_throttling_bound(fake_analyze, search):
    monitor = Monitor("maximize", Never(), min_trials=20)
    for i, score in enumerate(search):
        monitor.observe(float(score))
        n = i + 1
        if n < 20:
            assert not fake_analyze
            continue
        last = fake_analyze[-1]["n"]
        assert n - last <= max(1, math.ceil(0.02 * n)) - 1  # the documented staleness bound
    fitted = [call["n"] for call in fake_analyze]
    assert fitted[:31] == list(range(20, 51))  # every trial up to 50
    assert len(fitted) < 400 - 20 and fitted[-1] > 390
    assert fake_analyze[0]["previous"] is None
    assert all(call["previous"] is not None for call in fake_analyze[1:])  # warm path
    assert [r["n_trials"] for r in monitor.history] == fitted
    assert monitor.refits == len(fitted)
    monitor.refit()
    assert fake_analyze[-1]["n"] == 400 and len(monitor.history) == len(fitted) + 1
    assert monitor.refits == len(fitted) + 1


def test_update_is_idempotent_and_appends(fake_analyze, search):
    monitor = Monitor("maximize", Never(), refit_step=10)
    history = [float(s) for s in search[:60]]
    monitor.update(history)
    calls, records, reason = len(fake_analyze), monitor.history, monitor.reason
    assert calls == 1 and monitor.n_trials == 60
    monitor.update(list(history))
    assert len(fake_analyze) == calls and monitor.history == records and monitor.reason == reason
    monitor.update(history + [0.1] * 5)  # 5 new trials: not yet due (step 10)
    assert monitor.n_trials == 65 and len(fake_analyze) == calls
    monitor.update(history + [0.1] * 10)
    assert len(fake_analyze) == calls + 1 and fake_analyze[-1]["n"] == 70
    # other workers' trials arriving out of order: a reordered superset, throttled as growth
    reordered = [0.1] * 10 + history + [0.2]
    monitor.update(reordered)
    assert monitor.n_trials == 71 and len(fake_analyze) == calls + 1
    # a history that drops or changes trials: a cold refit at once
    monitor.update([*history[:-1], 0.3])
    assert monitor.n_trials == 60 and fake_analyze[-1]["n"] == 60
    assert fake_analyze[-1]["previous"] is None


def test_thread_safety(fake_analyze, search):
    monitor = Monitor("maximize", Never())
    chunks = np.array_split(np.asarray(search, dtype=float), 4)
    errors = []

    def work(chunk):
        try:
            for score in chunk:
                monitor.observe(float(score) if score < 0.5 else None, duration=0.01)
                monitor.report()
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert monitor.n_trials == len(search)
    assert monitor.n_failed == int(np.sum(np.asarray(search) >= 0.5))
    assert monitor.state.current_best == pytest.approx(search[search < 0.5].max())
    fitted = [record["n_trials"] for record in monitor.history]
    assert fitted == sorted(set(fitted))
    assert len(search) - fitted[-1] <= max(1, math.ceil(0.02 * len(search))) - 1


def test_refit_failure_keeps_state_and_search_goes_on(monkeypatch, real_estimate, caplog):
    attempts = []

    def flaky(scores, direction, **kwargs):
        attempts.append(len(scores))
        if 25 <= len(scores) <= 27:
            raise FitError("optimizer went astray")
        if len(scores) == 28:
            raise np.linalg.LinAlgError("singular matrix")
        return real_estimate

    monkeypatch.setattr(monitor_module, "analyze", flaky)
    monitor = Monitor("maximize", Never())
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        for score in np.linspace(0, 1, 28):
            monitor.observe(float(score))
    assert monitor.estimate is real_estimate  # the estimate from trial 24 survives
    assert monitor.n_trials == 28 and not monitor.should_stop
    assert "refit at 28 trials failed" in monitor.reason and "LinAlgError" in monitor.reason
    errors = [record for record in monitor.history if "error" in record]
    assert [record["n_trials"] for record in errors] == [25, 26, 27, 28]
    assert "optimizer went astray" in caplog.text
    assert monitor.report()["last_error"] is not None
    monitor.observe(0.5)
    assert "failed" not in monitor.reason and monitor.report()["last_error"] is None
    json.dumps(monitor.report())


def test_real_fit_report_and_log(search, caplog):
    monitor = Monitor("maximize", GainBelow(0.25), budget=400, refit_step=25)
    with caplog.at_level(logging.INFO, logger="tailstop"):
        for score in search:
            monitor.observe(float(score), duration=1.0)
            if monitor.should_stop:
                break
    assert monitor.should_stop and monitor.n_trials < 400
    assert "upper end of the 90% interval of the expected gain" in monitor.reason
    report = monitor.report()
    assert json.loads(json.dumps(report)) == report
    assert report["should_stop"] and report["stopped_at"] == monitor.n_trials
    assert report["fits_well"] is True
    bp = report["best_possible"]
    assert bp["low"] <= bp["estimate"] <= bp["high"]
    noise = report["noise_interval"]
    assert noise["low"] <= noise["estimate"] == report["noise"] <= noise["high"]
    gain = report["expected_gain"]
    assert gain["high"] < 0.25 and gain["horizon"] == 400 - monitor.n_trials
    assert report["rule"].startswith("GainBelow(epsilon=0.25")
    assert len(caplog.records) == len(monitor.history) >= 1
    assert "best possible" in caplog.records[-1].getMessage()
    last = monitor.history[-1]
    assert last["should_stop"] and last["n_trials"] == monitor.n_trials and last["seconds"] > 0


def test_records_carry_gain_below_epsilon_alone_or_in_a_combination(search):
    """The records keep the epsilon GainBelow compared with (plot.progress draws it), also
    when GainBelow is one rule of a combination; rules without one record None."""
    from tailstop import NearOptimum, any_of

    for rule, expected in (
        (GainBelow(0.25), 0.25),
        (any_of(Patience(500), GainBelow(0.25)), 0.25),
        (any_of(Patience(500), NearOptimum(1e-9)), None),
    ):
        monitor = Monitor("maximize", rule, budget=400, refit_step=40)
        monitor.update(search[:120])
        fitted = [r for r in monitor.history if "best_possible" in r and r["fits_well"]]
        assert fitted, rule
        assert all(r["epsilon"] == expected for r in fitted), rule
        assert monitor.report()["epsilon"] == fitted[-1]["epsilon"]


def test_report_gain_between_refits_is_labelled_by_its_horizon_and_costs_no_forecast(search):
    # refits every 25 trials; between refits a report (the Optuna callback writes one at
    # every new best) never runs a forecast (~0.1 s) of its own: it gives the current
    # horizon's gain when a rule has forecast it already, else the last refit's, and its
    # horizon says which
    from tailstop._gains import cached_gain, gain_interval

    monitor = Monitor("maximize", Never(), budget=400, refit_step=25)
    for score in search[:110]:
        monitor.observe(float(score))
    report = monitor.report()
    assert report["estimate_n_trials"] < monitor.n_trials == 110
    assert cached_gain(monitor.estimate, 400 - 110) is None  # the report forecast nothing
    refit = monitor.history[-1]
    gain = report["expected_gain"]
    assert gain["horizon"] == refit["horizon"] == 400 - report["estimate_n_trials"]
    assert [gain["estimate"], gain["low"], gain["high"]] == refit["expected_gain"]
    value, low, high = gain_interval(monitor.estimate, 400 - 110)  # as GainBelow would
    gain = monitor.report()["expected_gain"]
    assert gain["horizon"] == 400 - 110
    assert (gain["estimate"], gain["low"], gain["high"]) == (value, low, high)


def test_after_the_stop_the_report_keeps_the_stop_s_horizon(search):
    # trials that finish after the stop still count (a Ray experiment's last ones), but the
    # reason stands, and so does the horizon of the gain it compared
    monitor = Monitor("maximize", GainBelow(0.25), budget=400, refit_step=25)
    for score in search:
        monitor.observe(float(score))
        if monitor.should_stop:
            break
    assert monitor.should_stop and monitor.stopped_at == monitor.n_trials < 395
    before = monitor.report()
    for score in search[monitor.n_trials : monitor.n_trials + 5]:
        monitor.observe(float(score))
    after = monitor.report()
    assert after["n_trials"] == before["n_trials"] + 5 and after["stopped_at"] == before["n_trials"]
    assert after["best_at_stop"] == before["current_best"] == before["best_at_stop"]
    assert after["expected_gain"] == before["expected_gain"]
    assert after["expected_gain"]["horizon"] == 400 - monitor.stopped_at
    assert after["reason"] == before["reason"]


def test_update_with_numpy_array_configs_extends_the_history():
    # (the history's configurations were compared with ==: a bare ValueError for arrays)
    import numpy as np

    from tailstop import Monitor
    from tailstop.synthetic import make_problem

    scores = make_problem(2, noise_ratio=0.01, generator=1).run_search(40, generator=2)
    monitor = Monitor("maximize", min_trials=10**6)
    monitor.update(scores[:25], configs=[np.array([x, 1.0]) for x in scores[:25]])
    monitor.update(scores, configs=[np.array([x, 1.0]) for x in scores])
    assert monitor.n_trials == 40

"""A time budget: the trials the time left allows as the rules' horizon, and a stop once used."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
from never_rule import Never

from tailstop._clock import MIN_RATE_TRIALS, SearchClock
from tailstop.errors import InvalidParameterError
from tailstop.monitor import Monitor
from tailstop.rules import GainBelow, SearchState
from tailstop.synthetic import make_problem


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def timed_monitor(rule=None, **kwargs):
    clock = FakeClock()
    monitor = Monitor("maximize", rule, **kwargs)
    monitor._clock = SearchClock(clock)
    return monitor, clock


@pytest.fixture(scope="module")
def search():
    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=7)
    return problem.run_search(300, generator=6)


@pytest.mark.parametrize("value", [0, -5.0, math.nan, math.inf, "60", True, [60]])
def test_a_bad_time_budget_is_refused(value):
    with pytest.raises(InvalidParameterError, match="time_budget"):
        Monitor("maximize", time_budget=value)


def test_a_timedelta_is_seconds():
    monitor = Monitor("maximize", time_budget=datetime.timedelta(minutes=2))
    assert monitor.time_budget == 120.0 and "time_budget=120" in repr(monitor)


@pytest.mark.parametrize(
    ("state", "remaining", "by_time"),
    [
        (SearchState(n_trials=10, time_left=100.0, trial_rate=0.25), 25, True),
        (SearchState(n_trials=10, budget=30, time_left=100.0, trial_rate=0.25), 20, False),
        (SearchState(n_trials=10, budget=50, time_left=100.0, trial_rate=0.25), 25, True),
        (SearchState(n_trials=10, budget=50, time_left=100.0), 40, False),  # rate unknown
        (SearchState(n_trials=10, time_left=0.0, trial_rate=3.0), 0, True),
        (SearchState(n_trials=10, time_left=math.nan, trial_rate=3.0), None, False),
        (SearchState(n_trials=10, time_left=1e300, trial_rate=1e300), 2**62, True),
    ],
)
def test_remaining_is_the_smaller_of_the_two_budgets(state, remaining, by_time):
    assert state.remaining == remaining
    assert state.remaining_by_time is by_time


def test_the_rate_leaves_out_the_first_call_s_backlog():
    clock = FakeClock()
    timer = SearchClock(clock)
    timer.arrived(500)  # a resumed search: 500 trials at the first call
    for i in range(1, MIN_RATE_TRIALS):
        clock.now += 10.0
        timer.arrived(500 + i)
        assert timer.trial_rate is None  # too few arrivals to tell
    clock.now += 10.0
    timer.arrived(500 + MIN_RATE_TRIALS)
    assert timer.trial_rate == pytest.approx(0.1)
    clock.now += 5.0
    timer.arrived(500 + MIN_RATE_TRIALS)  # no new trial: the rate stands
    assert timer.trial_rate == pytest.approx(0.1)
    timer.arrived(3)  # a shorter history replaced it: measured afresh
    assert timer.trial_rate is None


def test_the_rate_is_over_the_whole_span_since_the_first_call():
    # 20 trials 10 s apart, then 20 trials 20 s apart: 40 trials in 600 s (a recent window
    # measured worse on real studies, see tailstop._clock)
    clock = FakeClock()
    timer = SearchClock(clock)
    timer.arrived(1)
    for n in range(2, 42):
        clock.now += 10.0 if n <= 21 else 20.0
        timer.arrived(n)
    assert timer.trial_rate == pytest.approx(40 / 600)
    clock.now += 40.0
    timer.arrived(45)  # several trials in one call (a background feed)
    assert timer.trial_rate == pytest.approx(44 / 640)


def test_restart_carries_the_seconds_used():
    clock = FakeClock()
    timer = SearchClock(clock)
    clock.now += 30.0
    assert timer.elapsed == 30.0 and timer.time_left(100.0) == 70.0
    timer.restart(45.0)
    clock.now += 10.0
    assert timer.elapsed == 55.0 and timer.time_left(50.0) == 0.0 and timer.time_left(None) is None


def test_the_horizon_is_the_trials_the_time_left_allows(search):
    # a trial every 10 s, 2,000 s in all: at n trials, (2000 - 10 n) / 10 trials are left
    monitor, clock = timed_monitor(GainBelow(1e-9), time_budget=2000.0, refit_step=20)
    for score in search[:100]:
        clock.now += 10.0
        monitor.observe(float(score))
    report = monitor.report()
    assert report["time_budget"] == 2000.0 and report["time_left"] == pytest.approx(1000.0)
    assert report["trial_rate"] == pytest.approx(0.1)
    assert not monitor.should_stop
    assert "trials the time budget leaves (1e+03 s at 0.1 trials/s)" in monitor.reason
    assert monitor.history[-1]["horizon"] == 100  # the refit at 100 trials
    # a trial budget smaller than that is the horizon
    monitor, clock = timed_monitor(GainBelow(1e-9), budget=130, time_budget=2000.0)
    for score in search[:100]:
        clock.now += 10.0
        monitor.observe(float(score))
    assert "over 30 trials left in the budget" in monitor.reason


def test_the_time_budget_stops_the_search_once_used(search):
    monitor, clock = timed_monitor(Never(), time_budget=95.0, refit_step=1000)
    for score in search[:20]:
        clock.now += 10.0
        monitor.observe(float(score))
        if monitor.should_stop:
            break
    assert monitor.should_stop and monitor.stopped_at == 10  # at 100 s, the 10th trial
    assert monitor.reason == "time budget of 95 s used"
    report = monitor.report()
    assert report["time_left"] == 0.0 and report["expected_gain"] is None


def test_the_stop_s_horizon_stands_in_the_report(search):
    # the rule stops on the horizon the time left allows; later trials and seconds do not
    # change the gain the report shows (the reason compared it)
    monitor, clock = timed_monitor(GainBelow(0.25), time_budget=5000.0, refit_step=10)
    for score in search:
        clock.now += 10.0
        monitor.observe(float(score))
        if monitor.should_stop:
            break
    assert monitor.should_stop and "time budget leaves" in monitor.reason
    before = monitor.report()["expected_gain"]
    assert before["horizon"] == math.floor(0.1 * (5000.0 - 10.0 * monitor.stopped_at))
    clock.now += 1000.0
    monitor.observe(float(search[monitor.n_trials]))
    assert monitor.report()["expected_gain"] == before


def test_restart_clock_checks_its_argument():
    monitor = Monitor("maximize", time_budget=10.0)
    for bad in (-1.0, math.nan, "5"):
        with pytest.raises(InvalidParameterError):
            monitor.restart_clock(bad)
    monitor.restart_clock(4.0)
    assert 4.0 <= monitor.elapsed < 5.0


def test_without_a_time_budget_nothing_changes(search):
    monitor, clock = timed_monitor(GainBelow(1e-9), refit_step=20)
    for score in search[:60]:
        clock.now += 10.0
        monitor.observe(float(score))
    report = monitor.report()
    assert report["time_budget"] is None and report["time_left"] is None
    assert report["trial_rate"] is None and monitor.state.time_left is None
    assert "over 60 more trials (as many as so far)" in monitor.reason
    assert np.isfinite(report["best_possible"]["estimate"])

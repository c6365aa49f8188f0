"""Faults: failures injected into the fit, a worker killed mid-search, reproducibility.

tailstop runs inside other people's searches: a failure of its own must never end the search,
must not lose a trial, and must heal at the next refit; a worker that dies and is restarted
must find the same report, computed from the trials in storage alone; a seeded search must
give the same report every time.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from never_rule import Never

import tailstop.monitor as monitor_module
from tailstop.errors import FitError
from tailstop.estimate import analyze
from tailstop.monitor import Monitor
from tailstop.rules import Patience

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402
from tailstop.callbacks import OptunaCallback  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)



def quadratic(trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    y = trial.suggest_float("y", -1.0, 1.0)
    return float(-(x * x + 2.0 * y * y) + np.random.default_rng(trial.number).normal(0, 0.01))


def random_study(storage=None, seed=0, **kwargs):
    return optuna.create_study(
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
        **kwargs,
    )


def finished_values(study) -> list:
    """Finished trials in number order: the value, or None for a failed or pruned one."""
    states = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    return [
        t.value if t.state == TrialState.COMPLETE else None
        for t in study.get_trials(states=states)
    ]


def figures(report: dict) -> dict:
    """The fitted figures of a report."""
    names = ("estimate_n_trials", "best_possible", "effective_dimension", "noise", "fits_well")
    return {name: report[name] for name in names}


def figures_of(estimate) -> dict:
    """The same figures from an estimate, as a report writes them."""
    return {
        "estimate_n_trials": estimate.n_trials,
        "best_possible": {k: float(v) for k, v in estimate.best_possible._asdict().items()},
        "effective_dimension": int(estimate.effective_dimension.estimate),
        "noise": float(estimate.noise),
        "fits_well": bool(estimate.fits_well),
    }


def without_framework(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "optuna"}


@pytest.fixture
def failing_analyze(monkeypatch):
    """``analyze`` as the monitor sees it, raising ``plan[n]`` at ``n`` trials."""
    plan: dict[int, BaseException] = {}
    calls: list[int] = []

    def flaky(scores, direction, **kwargs):
        n = len(scores)
        calls.append(n)
        if n in plan:
            raise plan[n]
        return analyze(scores, direction, **kwargs)

    monkeypatch.setattr(monitor_module, "analyze", flaky)
    return plan, calls


# -- failures injected into the fit ---------------------------------------------------------------
def test_a_failing_refit_leaves_the_study_running_and_the_next_refit_recovers(
    failing_analyze, caplog
):
    plan, calls = failing_analyze
    plan[20] = FitError("injected: the optimiser diverged")
    plan[30] = RuntimeError("injected: out of memory in a worker thread")
    study = random_study()
    callback = OptunaCallback(Never(), min_trials=20, refit_step=5, refit_growth=0.0)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=35, callbacks=[callback])

    assert len(study.trials) == 35 and callback.n_errors == 0  # swallowed by the monitor
    assert calls == [20, 25, 30, 35]
    history = callback.monitor.history
    assert [("error" in r, r["n_trials"]) for r in history] == [
        (True, 20), (False, 25), (True, 30), (False, 35)
    ]
    assert "injected: the optimiser diverged" in history[0]["error"]
    assert "keeping the estimate from 25 trials" in history[2]["error"]
    assert "injected" in caplog.text
    # recovered: the estimate, the report in storage and the reason are those of 35 trials
    assert callback.estimate.n_trials == 35
    report = study.user_attrs["tailstop:report"]
    assert report["estimate_n_trials"] == 35 and report["last_error"] is None
    assert "failed" not in callback.monitor.reason
    assert callback.monitor.n_trials == 35  # no trial lost while the fit was failing


@pytest.mark.parametrize("error", [IndexError("injected bug"), TypeError("injected bug")])
def test_an_unexpected_error_in_the_fit_never_ends_optimize_nor_loses_a_trial(
    failing_analyze, error, caplog
):
    plan, _ = failing_analyze
    plan[20] = error
    study = random_study()
    callback = OptunaCallback(Never(), min_trials=20, refit_step=3, refit_growth=0.0)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=24, callbacks=[callback])
    assert len(study.trials) == 24
    assert "injected bug" in caplog.text
    assert callback.monitor.n_trials == 24  # the trial whose refit failed is kept
    assert callback.estimate is not None and callback.estimate.n_trials in (21, 23, 24)
    assert study.user_attrs["tailstop:report"]["last_error"] is None


def test_the_monitor_never_raises_an_internal_error_from_a_refit(failing_analyze):
    plan, _ = failing_analyze
    plan[20] = IndexError("injected bug")
    monitor = Monitor("maximize", Never(), min_trials=20)
    for i in range(20):
        monitor.observe(float(i % 7))  # raises at the 20th today
    assert monitor.n_trials == 20 and "injected bug" in monitor.report()["last_error"]


def test_a_deeper_failure_inside_analyze_is_contained(monkeypatch):
    """A numerical failure of the threshold choice (inside the real analyze) is contained."""
    from tailstop import regime

    real = regime.choose_regime
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise np.linalg.LinAlgError("injected: singular Hessian")
        return real(*args, **kwargs)

    monkeypatch.setattr(regime, "choose_regime", broken)
    study = random_study()
    callback = OptunaCallback(Never(), min_trials=20, refit_step=2, refit_growth=0.0)
    study.optimize(quadratic, n_trials=22, callbacks=[callback])
    assert len(study.trials) == 22 and callback.n_errors == 0
    assert "error" in callback.monitor.history[0] and callback.estimate.n_trials == 22


# -- a worker killed mid-search -------------------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import numpy as np
    import optuna
    from tailstop.callbacks import OptunaCallback
    from tailstop.rules import Decision, Rule

    class Never(Rule):
        def decide(self, estimate, state):
            return Decision(False, f"never ({state.n_trials} trials)", "Never")
        def describe(self):
            return "Never()"

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    url, folder = sys.argv[1], Path(sys.argv[2])
    study = optuna.load_study(study_name="killed", storage=url,
                              sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        y = trial.suggest_float("y", -1, 1)
        if trial.number >= 23:  # the trial the worker dies in
            (folder / f"running-{trial.number}").touch()
            time.sleep(120)
        return -(x * x + 2 * y * y) + np.random.default_rng(trial.number).normal(0, 0.01)

    callback = OptunaCallback(Never(), min_trials=20, refit_step=10**6)
    study.optimize(objective, n_trials=1000, callbacks=[callback])
    """
)


def _env() -> dict:
    env = dict(os.environ)
    # the installed package (tailstop.callbacks is mapped from callbacks/ only by the install)
    return env


@pytest.mark.slow
def test_a_worker_killed_mid_search_and_restarted_picks_up_the_same_report(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    random_study(url, study_name="killed")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    worker = subprocess.Popen(
        [sys.executable, str(script), url, str(tmp_path)],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "running-23").exists():
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, "the worker never reached trial 23"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(timeout=30)
        worker.stderr.close()

    study = optuna.load_study(study_name="killed", storage=url)
    states = [t.state for t in study.trials]
    assert states[:23] == [TrialState.COMPLETE] * 23 and states[23] == TrialState.RUNNING
    values = finished_values(study)
    # the report the dead worker left (its one refit, at 20 trials) is intact, and it is
    # exactly what the stored trials give
    stored = study.user_attrs["tailstop:report"]
    assert stored["estimate_n_trials"] == 20 and stored["last_error"] is None
    assert figures(stored) == figures_of(analyze(values[:20], "maximize"))

    # restart: a new worker on the same storage counts every trial the dead one finished,
    # skips the one it died in, and its report is again what the stored trials give
    restarted = OptunaCallback(Never(), min_trials=20, refit_step=10**6, budget=30)
    study = optuna.load_study(
        study_name="killed", storage=url, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    fitted_at = restarted.update(study).n_trials  # 20 (one trial at a time) or 23 (at once)
    assert fitted_at in (20, 23)
    picked_up = study.user_attrs["tailstop:report"]
    assert picked_up["n_trials"] == 23 and picked_up["current_best"] == max(values)
    if fitted_at == 20:
        assert figures(picked_up) == figures(stored)
    else:
        assert figures(picked_up) == figures_of(analyze(values[:fitted_at], "maximize"))

    # it runs on to the budget: every trial of both workers counted, the dead one's excluded
    study.optimize(quadratic, n_trials=100, callbacks=[restarted])
    values = finished_values(study)
    assert len(values) == 30 and study.trials[23].state == TrialState.RUNNING
    assert study.user_attrs["tailstop:stop"]["n_trials"] == 30
    report = study.user_attrs["tailstop:report"]
    assert report["n_trials"] == 30 and report["optuna"]["trials"]["complete"] == 30
    assert report["current_best"] == max(values) and report["should_stop"]
    # refit_step: no refit after the first but the budget's last trial's, of every trial
    # (an update from the first fit: its interval's ends may differ from a cold call's a little)
    cold = figures_of(analyze(values, "maximize"))
    assert report["estimate_n_trials"] == cold["estimate_n_trials"] == 30
    assert report["best_possible"]["estimate"] == pytest.approx(cold["best_possible"]["estimate"])
    assert report["effective_dimension"] == cold["effective_dimension"]

    # and a worker started after the stop stops at its first check, leaving the report alone
    late = OptunaCallback(Never(), min_trials=20, refit_step=10**6)
    assert late.should_stop(study) and late.reason == restarted.reason
    assert study.user_attrs["tailstop:report"] == report


# -- reproducibility ------------------------------------------------------------------------------
def seeded_run(seed: int) -> tuple[dict, list, list]:
    study = random_study(seed=seed)
    callback = OptunaCallback(Patience(6), min_trials=20, refit_step=10**6)
    study.optimize(quadratic, n_trials=200, callbacks=[callback])
    history = [{k: v for k, v in r.items() if k != "seconds"} for r in callback.monitor.history]
    return without_framework(study.user_attrs["tailstop:report"]), history, finished_values(study)


def test_a_seeded_search_gives_the_same_report_every_time():
    first, second = seeded_run(3), seeded_run(3)
    assert first == second
    report, history, values = first
    assert report["should_stop"] and report["best_possible"] is not None  # a real fit
    assert len(history) == 1 and report["n_trials"] == len(values) < 200


# -- two workers racing to write the report --------------------------------------------------------
def test_a_slow_worker_does_not_overwrite_the_stop_report_of_another():
    def constant(trial):  # constant scores: the fit is the instant degenerate case
        trial.suggest_float("x", 0.0, 1.0)
        return 0.5

    study = random_study()
    study.optimize(constant, n_trials=28)
    options = {"budget": 30, "min_trials": 12, "refit_step": 1, "refit_growth": 0.0}
    a, b = OptunaCallback(Never(), **options), OptunaCallback(Never(), **options)
    a.update(study)
    b.update(study)
    study.optimize(constant, n_trials=1)  # trial 29: worker b starts refitting on it ...
    observe = b.monitor.observe

    def racing_observe(*args, **kwargs):
        b.monitor.observe = observe
        study.optimize(constant, n_trials=1)  # ... while trial 30 finishes elsewhere
        assert a.should_stop(study)  # and worker a stops the study (the budget is used)
        return observe(*args, **kwargs)

    b.monitor.observe = racing_observe
    b.update(study)
    assert study.user_attrs["tailstop:stop"]["n_trials"] == 30
    report = study.user_attrs["tailstop:report"]
    assert report["should_stop"], report["reason"]  # the stored report agrees with the flag
    assert b.should_stop(study)

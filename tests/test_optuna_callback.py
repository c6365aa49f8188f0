"""OptunaCallback against the real Optuna: storages, workers, threads, failures, refusals.

The objectives return at once (a noisy quadratic in two hyperparameters, noise seeded by the
trial number); the monitors refit at most once (``refit_step``) so the suite stays fast.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.storages import JournalStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from tailstop.callbacks import OptunaCallback, SamplerWarning  # noqa: E402

import tailstop.monitor  # noqa: E402
from tailstop.errors import FitError, TailstopError  # noqa: E402
from tailstop.rules import Patience  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

ONE_REFIT = {"refit_step": 10**6}  # the first fit only: keeps each test well under a second
NO_FIT = {"min_trials": 10**6}  # for tests about bookkeeping: the monitor never fits


def quadratic(trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    y = trial.suggest_float("y", -1.0, 1.0)
    noise = np.random.default_rng(trial.number).normal(0.0, 0.01)
    return float(-(x * x + 2.0 * y * y) + noise)


def random_study(storage=None, direction="maximize", seed=0, **kwargs):
    return optuna.create_study(
        storage=storage,
        direction=direction,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        **kwargs,
    )


def patience_stop(scores, k: int, min_trials: int, sign: float = 1.0) -> int:
    """Trials after which Patience(k) stops, computed independently of tailstop."""
    best, best_at = -math.inf, -1
    for i, score in enumerate(scores):
        if score is not None and sign * score > best:
            best, best_at = sign * score, i
        n = i + 1
        if n >= min_trials and n - 1 - best_at >= k:
            return n
    raise AssertionError("Patience never fires on these scores")


def values_in_order(study):
    return [
        t.value if t.state == TrialState.COMPLETE else None
        for t in study.get_trials(states=(TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED))
    ]


# -- one process ---------------------------------------------------------------------------
@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_stops_in_memory_where_the_rule_fires_and_reports(direction):
    study = random_study(direction=direction)
    callback = OptunaCallback(Patience(6), min_trials=15, **ONE_REFIT)
    study.optimize(
        lambda t: quadratic(t) if direction == "maximize" else -quadratic(t),
        n_trials=300,
        callbacks=[callback],
    )
    sign = 1.0 if direction == "maximize" else -1.0
    scores = values_in_order(study)
    expected = patience_stop(scores, 6, 15, sign)
    assert len(study.trials) == expected < 300
    assert callback.monitor.direction == direction
    assert callback.monitor.n_trials == expected
    assert "patience 6" in callback.reason

    report = study.user_attrs["tailstop:report"]
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert report["should_stop"] is True and report["n_trials"] == expected
    best = max(scores) if direction == "maximize" else min(scores)
    assert report["current_best"] == pytest.approx(best)
    assert report["estimate_n_trials"] == 15  # the one refit, at min_trials
    assert report["best_possible"] is not None
    assert report["optuna"]["trials"] == {"complete": expected, "fail": 0, "pruned": 0}
    assert study.user_attrs["tailstop:stop"]["n_trials"] == expected

    # a stopped study stays stopped: another optimize call ends after one trial
    study.optimize(quadratic, n_trials=50, callbacks=[callback])
    assert len(study.trials) == expected + 1


def test_sqlite_storage_report_survives_a_reload(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = random_study(url, study_name="s", seed=1)
    callback = OptunaCallback(Patience(5), min_trials=12, **ONE_REFIT)
    study.optimize(quadratic, n_trials=300, callbacks=[callback])

    reloaded = optuna.load_study(
        study_name="s", storage=url, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    expected = patience_stop(values_in_order(reloaded), 5, 12)
    assert len(reloaded.trials) == expected
    report = reloaded.user_attrs["tailstop:report"]
    assert report == callback.report()
    assert report["n_trials"] == expected and report["should_stop"] is True
    assert reloaded.user_attrs["tailstop:stop"]["reason"] == callback.reason

    # a fresh callback on the reloaded study sees the broadcast flag at once, and warns
    # that a resumed study needs clear_stop
    fresh = OptunaCallback(Patience(10**6), min_trials=12)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        assert fresh.should_stop(reloaded)
    assert "already stopped by tailstop" in caplog.text and "clear_stop" in caplog.text
    fresh.clear_stop(reloaded)
    assert not OptunaCallback(Patience(10**6), min_trials=12).should_stop(reloaded)


def test_failed_and_pruned_trials_count_as_failed_not_as_scores():
    def objective(trial):
        value = quadratic(trial)
        kind = trial.number % 6
        if kind == 1:
            raise ValueError("diverged")
        if kind == 2:
            trial.report(1e6, step=0)  # a pruned trial's intermediate value is not a score
            raise optuna.TrialPruned()
        if kind == 3:
            return float("nan")  # Optuna turns NaN into FAIL
        return value

    study = random_study(seed=2)
    callback = OptunaCallback(Patience(10**6), budget=40, **NO_FIT)
    study.optimize(objective, n_trials=100, catch=(ValueError,), callbacks=[callback])

    states = [t.state for t in study.trials]
    assert len(states) == 40  # the budget counts failed and pruned trials too
    n_fail, n_pruned = states.count(TrialState.FAIL), states.count(TrialState.PRUNED)
    assert n_fail > 0 and n_pruned > 0
    assert study.trials[2].state == TrialState.PRUNED and study.trials[2].value == 1e6
    monitor = callback.monitor
    assert monitor.n_trials == 40 and monitor.n_failed == n_fail + n_pruned
    report = callback.report()
    assert report["optuna"]["trials"] == {
        "complete": 40 - n_fail - n_pruned,
        "fail": n_fail,
        "pruned": n_pruned,
    }
    assert report["current_best"] < 1.0  # the pruned 1e6 never became the best
    assert "budget of 40 trials used" in callback.reason
    assert callback.n_errors == 0


def test_n_jobs_2_records_every_trial_once_and_stops_near_the_decision():
    study = random_study(seed=3)
    callback = OptunaCallback(Patience(10**6), budget=30, **NO_FIT)
    study.optimize(quadratic, n_trials=200, n_jobs=2, callbacks=[callback])

    finished = study.get_trials(states=(TrialState.COMPLETE,))
    assert 30 <= len(study.trials) <= 32  # trials in flight when the stop came still finish
    callback.update(study)  # trials whose callback ran before they were all in storage
    assert callback.monitor.n_trials == len(finished)
    assert callback.report()["current_best"] == max(t.value for t in finished)
    assert callback.n_errors == 0


def test_a_worker_does_not_wait_for_another_workers_refit(held_refit):
    """n_jobs > 1: a call that finds a refit under way returns at once, and the refitting
    worker reads the trial that finished meanwhile before it lets go."""
    entered, release = held_refit
    study = random_study(seed=8)
    study.optimize(quadratic, n_trials=24)
    callback = OptunaCallback(Patience(10**6), min_trials=20, **ONE_REFIT)
    refitting = threading.Thread(target=callback, args=(study, study.trials[-1]))
    refitting.start()
    try:
        assert entered.wait(30)
        study.optimize(quadratic, n_trials=1)  # another worker's trial finishes meanwhile
        other = threading.Thread(target=callback, args=(study, study.trials[-1]))
        other.start()
        other.join(10)
        assert not other.is_alive()  # it did not wait for the refit
    finally:
        release.set()
    refitting.join(30)
    assert not refitting.is_alive()
    assert callback.estimate.n_trials == 24
    assert callback.monitor.n_trials == 25  # read by the refitting worker's second step
    assert callback.n_errors == 0


def _nine_calls_then_one_that_waits(callback, study, new_trial: bool = False):
    """With the first call's refit held: nine more calls return at once (ten trials
    behind), and the eleventh (after one more trial with ``new_trial``) waits; returns the
    waiting call's thread."""
    within = threading.Thread(
        target=lambda: [callback(study, study.trials[-1]) for _ in range(9)], daemon=True
    )
    within.start()
    within.join(10)
    assert not within.is_alive()  # ten trials behind: no call waited
    if new_trial:
        study.optimize(quadratic, n_trials=1)
    beyond = threading.Thread(target=callback, args=(study, study.trials[-1]), daemon=True)
    beyond.start()
    beyond.join(0.5)
    assert beyond.is_alive()  # the eleventh waits for the held refit
    return beyond


def test_workers_wait_for_a_refit_that_falls_more_than_ten_trials_behind(held_refit):
    """n_jobs > 1 with trials faster than a refit: the calls return at once until the
    decision lags by more than max(10, 5%) of them; the next waits for the refit under way
    and reads the trials itself (before, the search ran on: with instant trials a budget of
    200 went by between the first refit and the second)."""
    entered, release = held_refit
    study = random_study(seed=8)
    study.optimize(quadratic, n_trials=24)
    callback = OptunaCallback(Patience(10**6), min_trials=20, **ONE_REFIT)
    refitting = threading.Thread(target=callback, args=(study, study.trials[-1]), daemon=True)
    refitting.start()
    try:
        assert entered.wait(30)
        beyond = _nine_calls_then_one_that_waits(callback, study, new_trial=True)
    finally:
        release.set()
    for thread in (refitting, beyond):
        thread.join(30)
        assert not thread.is_alive()
    assert callback.monitor.n_trials == 25  # every trial read
    assert callback.n_errors == 0


# -- background refits ------------------------------------------------------------------------
def test_background_refits_never_hold_up_optimize(held_refit):
    """background=True: calls return while a refit is under way, and the refit reads every
    trial announced meanwhile before the worker thread ends."""
    entered, release = held_refit
    study = random_study(seed=8)
    study.optimize(quadratic, n_trials=24)
    callback = OptunaCallback(Patience(10**6), min_trials=20, background=True, **ONE_REFIT)
    callback(study, study.trials[-1])  # returns at once: the refit runs in the worker
    try:
        assert entered.wait(30)
        done = threading.Event()

        def search():
            study.optimize(quadratic, n_trials=3, callbacks=[callback])
            done.set()

        searching = threading.Thread(target=search, daemon=True)
        searching.start()
        assert done.wait(10)  # three trials and three calls while the refit was held
        assert callback.flush(timeout=0.05) is False  # the refit still waits
    finally:
        release.set()
    assert callback.flush(timeout=30)
    assert callback.estimate.n_trials == 24  # the one refit
    assert callback.monitor.n_trials == 27  # the trials of the held calls, read afterwards
    report = study.user_attrs["tailstop:report"]  # rewritten when the best improves
    assert report["current_best"] == max(t.value for t in study.trials)
    assert callback.n_errors == 0
    assert callback.flush(timeout=0) is True  # idle: nothing to wait for


def test_background_refits_fall_behind_by_at_most_ten_trials(held_refit):
    """A call that finds the worker's last decision more than max(10, 5%) trials behind
    waits for it (an objective holding the interpreter lock would otherwise starve it)."""
    entered, release = held_refit
    study = random_study(seed=8)
    study.optimize(quadratic, n_trials=24)
    callback = OptunaCallback(Patience(10**6), min_trials=20, background=True, **ONE_REFIT)
    callback(study, study.trials[-1])  # the first trial announced: its refit is held
    try:
        assert entered.wait(30)
        beyond = _nine_calls_then_one_that_waits(callback, study)
    finally:
        release.set()
    beyond.join(30)
    assert not beyond.is_alive()
    assert callback.flush(timeout=30)
    assert callback.estimate.n_trials == 24 and callback.n_errors == 0


@pytest.mark.parametrize("storage", ["memory", "sqlite", "journal"])
def test_background_refits_stop_the_study_soon_after_the_decision(storage, tmp_path):
    def paced(trial):  # a few milliseconds per trial, as a real objective takes more
        time.sleep(0.003)
        return quadratic(trial)

    url = {
        "memory": None,
        "sqlite": f"sqlite:///{tmp_path / 'study.db'}",
        "journal": JournalStorage(JournalFileBackend(str(tmp_path / "journal.log"))),
    }[storage]
    study = random_study(url, seed=11)
    # no refit, so the step that decides takes milliseconds: the lag is the worker's alone
    callback = OptunaCallback(Patience(10**6), budget=40, background=True, **NO_FIT)
    study.optimize(paced, n_trials=300, callbacks=[callback])
    assert callback.flush(timeout=30)
    decided = study.user_attrs["tailstop:stop"]["n_trials"]
    # taken on every queued trial at once: at the budget or a few trials past it
    assert 40 <= decided <= len(study.trials) <= decided + 20
    assert "budget of 40 trials used" in callback.reason
    assert study.user_attrs["tailstop:report"]["should_stop"] is True
    assert callback.monitor.n_trials == len(study.trials)  # flushed: every trial read
    assert callback.n_errors == 0


def test_background_refit_under_way_at_exit_still_writes_its_report(tmp_path):
    """A script that ends right after optimize, its last refit still running in the
    background: the interpreter's exit waits for it, so the report in storage is its."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    script = textwrap.dedent(
        f"""
        import time
        import numpy as np
        import optuna
        import tailstop.monitor
        from tailstop.callbacks import OptunaCallback
        from tailstop.rules import Patience

        fit = tailstop.monitor.analyze

        def slow(*args, **kwargs):  # the refit outlasts the script
            time.sleep(1.0)
            return fit(*args, **kwargs)

        tailstop.monitor.analyze = slow
        optuna.logging.set_verbosity(optuna.logging.WARNING)

        def objective(trial):
            x = trial.suggest_float("x", -1.0, 1.0)
            return float(-x * x + np.random.default_rng(trial.number).normal(0.0, 0.01))

        study = optuna.create_study(storage={url!r}, study_name="s", direction="maximize",
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        callback = OptunaCallback(Patience(10**6), min_trials=20, refit_step=10**6,
                                  background=True)
        study.optimize(objective, n_trials=20, callbacks=[callback])
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=_env(), timeout=120)
    report = optuna.load_study(study_name="s", storage=url).user_attrs["tailstop:report"]
    assert report["n_trials"] == 20 and report["estimate_n_trials"] == 20


def test_background_refit_failures_are_logged_and_the_search_goes_on(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise FitError("injected: the fit did not converge")

    monkeypatch.setattr(tailstop.monitor, "analyze", broken)
    study = random_study(seed=5)
    callback = OptunaCallback(Patience(10**6), min_trials=10, background=True)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=25, callbacks=[callback])
        assert callback.flush(timeout=30)
    assert len(study.trials) == 25
    assert callback.estimate is None
    assert "injected" in study.user_attrs["tailstop:report"]["last_error"]
    assert any("injected" in r.getMessage() for r in caplog.records)


def test_background_without_a_thread_refits_in_the_call(monkeypatch, caplog):
    """A process that can start no more threads: each call logs it and steps itself."""

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    study = random_study(seed=6)
    callback = OptunaCallback(Patience(10**6), budget=30, background=True, **NO_FIT)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=100, callbacks=[callback])
    assert len(study.trials) == 30 and "budget of 30 trials used" in callback.reason
    assert callback.monitor.n_trials == 30
    assert callback.n_errors == 30 and "no thread for the background refits" in caplog.text
    assert callback.flush(timeout=0)


def test_background_refusal_comes_from_the_calling_thread(caplog):
    def two(trial):
        return quadratic(trial), -quadratic(trial)

    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=8)
    )
    callback = OptunaCallback(Patience(3), min_trials=10, background=True)
    with caplog.at_level(logging.ERROR, logger="tailstop"):
        study.optimize(two, n_trials=5, callbacks=[callback])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "objective_index" in errors[0].getMessage()
    assert errors[0].threadName == threading.current_thread().name
    assert callback._worker is None and callback.flush(timeout=0)


def test_ask_and_tell_loop_uses_update_and_should_stop():
    study = random_study(seed=4)
    callback = OptunaCallback(Patience(10**6), budget=25, min_trials=15, **ONE_REFIT)
    asked = 0
    while not callback.should_stop(study):
        trial = study.ask()
        study.tell(trial, quadratic(trial))
        asked += 1
        assert asked < 100
    assert asked == 25
    estimate = callback.update(study)
    # the refit at min_trials, then the budget's last trial's: the final report has every trial
    assert estimate is not None and estimate.n_trials == 25
    assert callback.monitor.refits == 2
    assert callback.monitor.n_trials == 25  # update is idempotent: nothing counted twice
    assert callback.report()["estimate_n_trials"] == 25


def test_update_with_refit_brings_the_report_up_to_date_without_a_budget():
    study = random_study(seed=5)
    callback = OptunaCallback(Patience(10**6), min_trials=15, **ONE_REFIT)
    study.optimize(quadratic, n_trials=24, callbacks=[callback])
    assert study.user_attrs["tailstop:report"]["estimate_n_trials"] == 15  # the schedule's
    assert callback.update(study).n_trials == 15  # nothing due
    estimate = callback.update(study, refit=True)
    assert estimate.n_trials == 24 and callback.monitor.refits == 2
    assert study.user_attrs["tailstop:report"]["estimate_n_trials"] == 24
    callback.update(study, refit=True)  # already up to date: no refit
    assert callback.monitor.refits == 2


# -- never raises into optimize ---------------------------------------------------------------
def test_a_refit_that_fails_inside_the_monitor_is_logged_and_the_search_goes_on(
    monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise FitError("injected: the fit did not converge")

    monkeypatch.setattr(tailstop.monitor, "analyze", broken)
    study = random_study(seed=5)
    callback = OptunaCallback(Patience(10**6), min_trials=10)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=25, callbacks=[callback])
    assert len(study.trials) == 25
    assert callback.estimate is None
    assert "injected" in study.user_attrs["tailstop:report"]["last_error"]
    assert any("injected" in r.getMessage() for r in caplog.records)


def test_an_unexpected_error_of_the_callback_is_logged_with_traceback(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise TypeError("injected bug")

    # (a failing refit is the Monitor's to absorb; this is a bug in the callback's own path)
    monkeypatch.setattr(OptunaCallback, "_write_report", broken)
    study = random_study(seed=6)
    callback = OptunaCallback(Patience(10**6), min_trials=10)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=20, callbacks=[callback])
    assert len(study.trials) == 20  # optimize went on
    assert callback.n_errors > 0
    failures = [r for r in caplog.records if "callback failed" in r.getMessage()]
    assert failures and failures[0].exc_info is not None
    assert "injected bug" in str(failures[0].exc_info[1])

    # once the bug is gone, the next call catches up from storage
    monkeypatch.undo()
    callback.update(study)
    assert callback.monitor.n_trials == 20


def test_a_storage_write_that_fails_does_not_break_optimize(monkeypatch, caplog):
    study = random_study(seed=7)

    def refuse(key, value):
        raise RuntimeError("storage is read-only")

    monkeypatch.setattr(study, "set_user_attr", refuse)
    callback = OptunaCallback(Patience(10**6), budget=15, **NO_FIT)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        study.optimize(quadratic, n_trials=40, callbacks=[callback])
    assert callback.n_errors > 0
    # the stop decision is taken even though it could not be broadcast
    assert len(study.trials) == 15


# -- refusals and warnings -------------------------------------------------------------------
def test_repeated_parameters_show_a_deterministic_objective():
    def discrete(trial) -> float:  # 60 configurations, no noise: random search repeats them
        k = trial.suggest_int("k", 1, 30)
        flag = trial.suggest_categorical("flag", ["a", "b"])
        return 0.9 - 2e-4 * (k - 12) ** 2 - 0.01 * (flag == "b")

    study = random_study()
    callback = OptunaCallback(budget=1000, refit_step=20)
    study.optimize(discrete, n_trials=90, callbacks=[callback])
    assert callback.monitor.repeats.deterministic is True
    assert callback.monitor.noise == 0.0 and callback.estimate.noise_known
    report = study.user_attrs["tailstop:report"]
    assert report["noise_source"] == "repeats" and report["repeats"]["deterministic"] is True
    # the same trials read at once (a callback joining a running study: one update)
    late = OptunaCallback(budget=1000, refit_step=20)
    late.update(study)
    assert late.monitor.noise == 0.0


def test_multi_objective_refused_clearly_unless_an_objective_is_chosen(caplog):
    def two(trial):
        return quadratic(trial), -quadratic(trial) + 1.0

    study = optuna.create_study(
        directions=["maximize", "minimize"], sampler=optuna.samplers.RandomSampler(seed=8)
    )
    callback = OptunaCallback(Patience(3), min_trials=10)
    with caplog.at_level(logging.ERROR, logger="tailstop"):
        study.optimize(two, n_trials=15, callbacks=[callback])
    assert len(study.trials) == 15  # refused, disabled, and the search went on
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "objective_index" in errors[0].getMessage()
    with pytest.raises(TailstopError, match="2 objectives: choose the one tailstop reads with "
                       "objective_index \\(an index"):
        OptunaCallback().update(study)
    with pytest.raises(TailstopError, match="objective_index=2"):
        OptunaCallback(objective_index=2).update(study)
    with pytest.raises(TailstopError, match="has no metric names"):
        OptunaCallback(objective_index="gap").update(study)
    with pytest.raises(TailstopError, match="must be None, an int >= 0 or a metric name"):
        OptunaCallback(objective_index="")

    chosen = OptunaCallback(Patience(10**6), objective_index=1, **NO_FIT)
    chosen.update(study)
    assert chosen.monitor.direction == "minimize"
    second = [t.values[1] for t in study.trials]
    assert chosen.report()["current_best"] == pytest.approx(min(second))
    assert chosen.report()["optuna"]["objective_index"] == 1
    with warnings.catch_warnings():  # (set_metric_names is experimental in Optuna 4)
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["fit", "gap"])
    named = OptunaCallback(Patience(10**6), objective_index="gap", **NO_FIT)
    named.update(study)
    assert named.monitor.direction == "minimize"
    assert named.report()["current_best"] == pytest.approx(min(second))
    with pytest.raises(TailstopError, match=r"no objective 'loss'.*'fit', 'gap'"):
        OptunaCallback(objective_index="loss").update(study)


def test_one_callback_watches_one_study():
    callback = OptunaCallback(Patience(10**6), min_trials=5)
    first, second = random_study(), random_study()
    callback.update(first)
    with pytest.raises(TailstopError, match="one callback per study"):
        callback.update(second)


def test_warns_once_when_the_sampler_is_not_random_search(recwarn):
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    callback = OptunaCallback(Patience(10**6))
    study.optimize(quadratic, n_trials=3, callbacks=[callback])
    study.optimize(quadratic, n_trials=3, callbacks=[callback])
    sampler_warnings = [w for w in recwarn if issubclass(w.category, SamplerWarning)]
    assert len(sampler_warnings) == 1
    assert "TPESampler" in str(sampler_warnings[0].message)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fixed_random = optuna.samplers.PartialFixedSampler(
            {"y": 0.0}, optuna.samplers.RandomSampler(seed=0))
        fixed_tpe = optuna.samplers.PartialFixedSampler(
            {"y": 0.0}, optuna.samplers.TPESampler(seed=0))
    for sampler in (optuna.samplers.RandomSampler(seed=0), optuna.samplers.QMCSampler(seed=0),
                    fixed_random):
        recwarn.clear()
        quiet = optuna.create_study(sampler=sampler)
        quiet.optimize(quadratic, n_trials=2, callbacks=[OptunaCallback(Patience(10**6))])
        assert not [w for w in recwarn if issubclass(w.category, SamplerWarning)]
    recwarn.clear()  # fixing some hyperparameters does not make TPE random search
    loud = optuna.create_study(sampler=fixed_tpe)
    loud.optimize(quadratic, n_trials=2, callbacks=[OptunaCallback(Patience(10**6))])
    assert [w for w in recwarn if issubclass(w.category, SamplerWarning)]


def test_bad_options_raise_at_construction():
    with pytest.raises(TailstopError, match="objective_index"):
        OptunaCallback(objective_index=-1)
    with pytest.raises(TailstopError, match="must differ"):
        OptunaCallback(report_attr="x", stop_attr="x")
    with pytest.raises(TailstopError, match="budget"):
        OptunaCallback(budget=0)
    with pytest.raises(TailstopError, match="rule"):
        OptunaCallback(rule="patience")
    with pytest.raises(TailstopError, match="background must be True or False"):
        OptunaCallback(background="yes")  # (was taken as True)


def test_importing_tailstop_callbacks_imports_neither_optuna_nor_ray():
    code = (
        "import sys, tailstop.callbacks as c; "
        "assert 'optuna' not in sys.modules and 'ray' not in sys.modules; "
        "c.OptunaCallback; assert 'optuna' in sys.modules and 'ray' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_env())


# -- several processes on one storage -----------------------------------------------------------
WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from tailstop.callbacks import OptunaCallback
    from tailstop.rules import Patience

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    me, folder, kinds = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(",")

    def storage_of(kind):
        if kind == "sqlite":
            return f"sqlite:///{folder / 'shared.db'}"
        if kind == "journal":
            return JournalStorage(JournalFileBackend(str(folder / "journal.log")))
        from optuna.storages import GrpcStorageProxy  # kind "grpc": port in sys.argv[4]
        proxy = GrpcStorageProxy(host="localhost", port=int(sys.argv[4]))
        proxy.wait_server_ready(timeout=60)
        return proxy

    outcome = {}
    for kind in kinds:
        study = optuna.create_study(storage=storage_of(kind), study_name="shared",
                                    load_if_exists=True,
                                    sampler=optuna.samplers.RandomSampler(seed=int(me == "b")))
        (folder / f"ready-{kind}-{me}").touch()
        while not all((folder / f"ready-{kind}-{w}").exists() for w in "ab"):
            time.sleep(0.01)

        def objective(trial):
            trial.set_user_attr("worker", me)
            time.sleep(0.03)
            x = trial.suggest_float("x", -1, 1)
            return -x * x + np.random.default_rng(trial.number).normal(0, 0.01)

        # only worker a can decide (the study's budget); b's rule never fires; no fits
        budget = 30 if me == "a" else None
        callback = OptunaCallback(Patience(10**6), budget=budget, min_trials=10**6)
        study.optimize(objective, n_trials=200, callbacks=[callback])
        outcome[kind] = {"reason": callback.reason, "n_errors": callback.n_errors}
    print(json.dumps(outcome))
    """
)


def _env():
    env = dict(os.environ)
    # the installed package (tailstop.callbacks is mapped from callbacks/ only by the install)
    return env


def _run_workers(folder, kinds: str, *extra: str) -> dict:
    """Workers a and b, side by side on each storage of ``kinds``: what each one saw."""
    script = folder / "worker.py"
    script.write_text(WORKER)
    workers = {
        me: subprocess.Popen(
            [sys.executable, str(script), me, str(folder), kinds, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for me in "ab"
    }
    outputs = {}
    try:
        for me, process in workers.items():
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            outputs[me] = json.loads(out.strip().splitlines()[-1])
    finally:
        for process in workers.values():
            process.kill()
            process.wait()
    return outputs


def _check_stopped_together(outputs: dict, kind: str, storage) -> None:
    a, b = outputs["a"][kind], outputs["b"][kind]
    assert "budget of 30 trials used" in a["reason"]
    assert b["reason"] == a["reason"]  # b stopped on a's broadcast
    assert a["n_errors"] == b["n_errors"] == 0
    study = optuna.load_study(study_name="shared", storage=storage)
    # at the decision 30 trials were finished; each worker may finish the one it ran
    assert 30 <= len(study.trials) <= 33, kind
    # a sees one or, when b's trial finished at the same moment, two new trials per call
    # decided once the budget was used; b's trials may land while a reads the storage
    assert 30 <= study.user_attrs["tailstop:stop"]["n_trials"] <= len(study.trials)
    by_worker = [t.user_attrs["worker"] for t in study.trials]
    assert by_worker.count("a") > 0 and by_worker.count("b") > 0  # side by side


def test_two_worker_processes_on_one_storage_stop_together(tmp_path):
    """Worker b would run 200 trials; it stops on a's broadcast (sqlite, then journal)."""
    sqlite_url = f"sqlite:///{tmp_path / 'shared.db'}"
    random_study(sqlite_url, study_name="shared").set_user_attr("created", True)
    optuna.delete_study(study_name="shared", storage=sqlite_url)  # schema made, study gone
    outputs = _run_workers(tmp_path, "sqlite,journal")
    journal = JournalStorage(JournalFileBackend(str(tmp_path / "journal.log")))
    for kind, storage in (("sqlite", sqlite_url), ("journal", journal)):
        _check_stopped_together(outputs, kind, storage)


def test_two_worker_processes_through_a_grpc_storage_proxy_stop_together(tmp_path):
    """Optuna's gRPC proxy (one server in front of an RDB, the workers its clients): the stop
    flag written through one client reaches the other, as on a shared RDB."""
    pytest.importorskip("grpc")
    url = f"sqlite:///{tmp_path / 'grpc.db'}"
    with socket.socket() as probe:  # a free port for the server
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    serve = (
        "import optuna, sys, warnings; warnings.simplefilter('ignore');"
        "optuna.storages.run_grpc_proxy_server("
        "optuna.storages.get_storage(sys.argv[1]), host='localhost', port=int(sys.argv[2]))"
    )
    server = subprocess.Popen([sys.executable, "-c", serve, url, str(port)], env=_env())
    try:
        outputs = _run_workers(tmp_path, "grpc", str(port))
    finally:
        server.kill()
        server.wait()
    _check_stopped_together(outputs, "grpc", url)


def test_the_report_follows_the_best_score_between_refits():
    """The report is rewritten when the best score improves, not only at a refit or a new
    decision: with no refit at all its current best is the study's (it used to stay at the
    value of the last write; seen with n_jobs=2, where a trial in flight at the stop beat the
    best)."""
    study = random_study(seed=5)
    study.optimize(quadratic, n_trials=5)
    callback = OptunaCallback(Patience(10**6), **NO_FIT)
    callback.update(study)
    best = study.best_value
    assert callback.report()["current_best"] == best
    study.enqueue_trial({"x": 0.0, "y": 0.0})  # the optimum of ``quadratic``
    study.optimize(quadratic, n_trials=1)
    assert study.best_value > best
    callback.update(study)
    assert callback.report()["current_best"] == study.best_value
    assert study.user_attrs[callback.report_attr]["current_best"] == study.best_value
    assert callback.report()["n_trials"] == 6


def test_a_time_budget_sets_the_horizon_and_stops_the_study():
    """``time_budget`` (a Monitor option): the horizon is the trials the time left allows at
    the rate trials finish, and the study stops once the time is used, on the clock started
    at the callback's creation."""

    def slow(trial) -> float:
        time.sleep(0.01)
        return quadratic(trial)

    study = random_study(seed=3)
    callback = OptunaCallback(Patience(10**6), min_trials=20, time_budget=1.5, refit_step=10)
    started = time.monotonic()
    study.optimize(slow, n_trials=100_000, callbacks=[callback])
    took = time.monotonic() - started
    report = study.user_attrs[callback.report_attr]
    assert report["reason"] == "time budget of 1.5 s used" and report["should_stop"]
    assert 1.5 <= took < 30 and len(study.trials) < 100_000
    assert report["time_budget"] == 1.5 and report["time_left"] == 0.0
    assert report["trial_rate"] > 0
    # while it ran, each refit's horizon was what the time left allows at the rate measured
    horizons = [record["horizon"] for record in callback.monitor.history]
    assert horizons and max(horizons) <= report["trial_rate"] * 1.5 * 3
    assert horizons[-1] < horizons[0]


def test_a_trial_that_ends_before_it_began_is_read_with_no_duration():
    # Optuna stamps trials in naive local time: a clock change (or add_trial) can give a
    # negative duration, which the monitor refuses; the trial was lost with its batch
    import datetime as dt

    study = random_study(seed=2)
    now = dt.datetime(2026, 1, 1, 12, 0, 0)
    for i in range(30):
        study.add_trial(optuna.trial.FrozenTrial(
            number=i, state=TrialState.COMPLETE, value=float(i), values=None,
            datetime_start=now, datetime_complete=now + dt.timedelta(seconds=-2 if i == 25 else 1),
            params={"x": i / 30}, distributions={"x": optuna.distributions.FloatDistribution(0, 1)},
            user_attrs={}, system_attrs={}, intermediate_values={}, trial_id=i,
        ))
    assert study.trials[25].duration.total_seconds() == -2
    callback = OptunaCallback(Patience(10**6), **NO_FIT)
    callback(study, study.trials[-1])
    assert callback.monitor.n_trials == 30 and callback.n_errors == 0
    assert callback.update(study) is None  # no error for the user's data either

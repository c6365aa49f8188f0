"""RayTuneStopper: the result stream Ray sends (fed by hand), then a real local Tune run.

Ray starts once for the whole test session (``ray_session``); the Tune run uses
``reuse_actors=True`` and a trainable that returns at once.
"""

from __future__ import annotations

import logging
import pickle
import threading
import uuid

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from ray import tune  # noqa: E402
from tailstop.callbacks import RayTuneStopper  # noqa: E402

# Each run's name is unique (unique_name()): Ray 2.9 stages an experiment in
# ~/ray_results/<name> and copies all of it to storage_path, earlier runs' trials included.
if hasattr(tune, "RunConfig"):  # Ray >= 2.41: Tune's own API
    RunConfig, report = tune.RunConfig, tune.report
else:  # Ray 2.9-2.40 (the oldest pyproject.toml allows): Train's
    from ray import train

    RunConfig, report = train.RunConfig, train.report

from tailstop.errors import TailstopError  # noqa: E402
from tailstop.rules import Patience  # noqa: E402

NO_FIT = {"min_trials": 10**6, "background": False}  # bookkeeping: no fit, in this thread


class FakeTrial:
    def __init__(self, trial_id, last_result=None, status=None):
        self.trial_id = trial_id
        self.last_result = last_result
        self.status = status


def unique_name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def final(score, iteration=1, **extra):
    return {"score": score, "training_iteration": iteration, "done": True, **extra}


# -- the result stream, by hand ---------------------------------------------------------------
def test_counts_each_trial_once_on_its_final_result():
    stopper = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
    for i, score in enumerate([0.3, 0.5, 0.4]):
        trial_id = f"t{i}"
        for step in (1, 2):  # intermediate results are not scores
            partial = {"score": 9.0, "training_iteration": step, "done": False}
            assert stopper(trial_id, partial) is False
        assert stopper(trial_id, final(score, 3)) is False  # never stops a single trial
        assert stopper(trial_id, final(score, 3)) is False  # Ray's duplicate with done=True
        stopper.on_trial_complete(0, [], FakeTrial(trial_id, final(score, 3)))
    assert stopper.scores == {"t0": 0.3, "t1": 0.5, "t2": 0.4}
    assert stopper.monitor.n_trials == 3
    assert stopper.report()["current_best"] == 0.5
    assert stopper.report()["ray"]["recorded_trials"] == 3


def test_min_mode_errors_missing_metrics_and_iteration_limits(caplog):
    stopper = RayTuneStopper("loss", "min", Patience(10**6), max_iterations=4, **NO_FIT)
    stopper("a", {"loss": 2.0, "training_iteration": 3})
    assert stopper.scores == {}
    stopper("a", {"loss": 1.5, "training_iteration": 4})  # hit the iteration limit: final
    stopper("a", {"loss": 1.5, "training_iteration": 4, "done": True})
    stopper.on_trial_error(0, [], FakeTrial("b"))  # errored trials never reach the stopper
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        stopper("c", {"training_iteration": 4, "done": True})  # the metric is missing
        stopper("d", {"loss": float("nan"), "training_iteration": 4, "done": True})
    stopper("e", {"loss": 0.5, "training_iteration": 4, "done": True})
    # a scheduler cut f short: its done=True result comes before max_iterations
    stopper("f", {"loss": 0.1, "training_iteration": 2, "done": False})
    stopper.on_trial_complete(0, [], FakeTrial("f", {"loss": 0.1, "training_iteration": 2,
                                                     "done": True}))
    assert stopper.scores == {"a": 1.5, "b": None, "c": None, "d": None, "e": 0.5, "f": None}
    assert stopper.monitor.direction == "minimize"
    assert stopper.monitor.n_failed == 4
    assert stopper.report()["current_best"] == 0.5
    assert sum("has no 'loss'" in r.getMessage() for r in caplog.records) == 1


def test_reads_a_nested_metric_in_tunes_slash_notation():
    """Tune names ``{"val": {"acc": x}}`` ``"val/acc"`` (it flattens results for its
    schedulers) but hands stoppers and callbacks the nested dict."""
    stopper = RayTuneStopper("val/acc", "max", Patience(10**6), **NO_FIT)
    stopper("a", {"val": {"acc": 0.7, "loss": 1.0}, "training_iteration": 1, "done": True})
    stopper("b", {"val/acc": 0.6, "training_iteration": 1, "done": True})  # a flat key wins
    stopper("c", {"val": {"acc/top1": 0.5}, "training_iteration": 1, "done": True})
    stopper.on_trial_complete(0, [], FakeTrial("d", {"val": {"acc": 0.8}, "done": True}))
    stopper("e", {"val": {"loss": 1.0}, "training_iteration": 1, "done": True})  # missing
    stopper("f", {"val": 0.9, "training_iteration": 1, "done": True})  # not a dict: missing
    assert stopper.scores == {"a": 0.7, "b": 0.6, "c": None, "d": 0.8, "e": None, "f": None}
    nested = RayTuneStopper("val/acc/top1", "max", Patience(10**6), **NO_FIT)
    nested("c", {"val": {"acc/top1": 0.5}, "training_iteration": 1, "done": True})
    nested("g", {"val": {"acc": {"top1": 0.4}}, "training_iteration": 1, "done": True})
    assert nested.scores == {"c": 0.5, "g": 0.4}


def test_stop_all_follows_the_monitor_and_survives_its_failures(monkeypatch, caplog):
    stopper = RayTuneStopper("score", "max", Patience(10**6), budget=5, **NO_FIT)
    for i in range(4):
        stopper(f"t{i}", final(float(i)))
        assert stopper.stop_all() is False
    stopper(f"t{4}", final(4.0))
    assert stopper.stop_all() is True
    assert "budget of 5 trials used" in stopper.monitor.reason

    def broken(*args, **kwargs):
        raise TypeError("injected bug")

    other = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
    monkeypatch.setattr(other.monitor, "observe", broken)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        assert other("x", final(1.0)) is False  # logged, never raised into Ray
        assert other.stop_all() is False
    assert other.n_errors == 1
    failure = next(r for r in caplog.records if "Ray stopper failed" in r.getMessage())
    assert failure.exc_info is not None


def test_a_score_outside_the_bounds_is_a_failed_trial_warned_once(caplog):
    stopper = RayTuneStopper("score", "max", Patience(10**6), bounds=(0.0, 1.0), min_trials=10**6)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        stopper("a", final(0.5))
        stopper("b", final(1.5))
        stopper("b", final(1.5))  # Ray's duplicate final result
    assert stopper.flush(30)
    assert stopper.scores == {"a": 0.5, "b": None}
    assert stopper.monitor.n_trials == 2 and stopper.monitor.n_failed == 1
    assert sum("outside the declared bounds" in r.getMessage() for r in caplog.records) == 1
    assert stopper.n_errors == 0


def test_a_failed_background_feed_is_made_good_by_the_next(monkeypatch, caplog):
    stopper = RayTuneStopper("score", "max", Patience(10**6), min_trials=10**6)
    observe, calls = stopper.monitor.observe, []

    def fails_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("injected")
        return observe(*args, **kwargs)

    monkeypatch.setattr(stopper.monitor, "observe", fails_once)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        stopper("a", final(0.1))
        assert stopper.flush(30)
    assert stopper.n_errors == 1 and stopper.monitor.n_trials == 0
    stopper("b", final(0.2))
    assert stopper.flush(30)
    assert stopper.monitor.n_trials == 2  # the whole record, after the failure
    stopper("c", final(0.3))
    assert stopper.flush(30)
    assert stopper.monitor.n_trials == 3 and len(calls) == 2  # one new trial: observe


def test_background_without_a_thread_feeds_in_the_call(monkeypatch, caplog):
    """A process that can start no more threads: each result logs it and is fed in the
    call, so the monitor misses no trial and ``flush`` (which pickling calls) never waits."""

    def refuse(self):
        raise RuntimeError("can't start new thread")

    stopper = RayTuneStopper("score", "max", Patience(10**6), budget=5, min_trials=10**6)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        for i in range(5):
            assert stopper(str(i), final(0.1 * i)) is False
    assert stopper.monitor.n_trials == 5 and stopper.flush(timeout=0)
    assert stopper.stop_all() and "budget of 5 trials used" in stopper.monitor.reason
    assert stopper.n_errors == 5 and "no thread for the background refits" in caplog.text


def test_refits_run_beside_the_driver_which_never_waits(held_refit):
    """By default the monitor refits in a background thread: while a refit is held open,
    Ray's calls return at once and the budget still stops the experiment; ``flush`` then
    waits for the monitor to have every trial."""
    entered, release = held_refit
    stopper = RayTuneStopper("score", "max", Patience(10**6), budget=40, min_trials=20,
                             refit_step=10**6)
    scores = np.random.default_rng(0).normal(size=40)
    decisions = []

    def driver():
        for i, score in enumerate(scores):
            assert stopper(f"t{i}", final(float(score))) is False
            if i == 19:
                assert entered.wait(30)  # the first refit is under way
            decisions.append(stopper.stop_all())

    thread = threading.Thread(target=driver)
    try:
        thread.start()
        thread.join(10)
        assert not thread.is_alive()  # no call waited for the refit
        assert decisions == [False] * 39 + [True]  # the budget, before the monitor is fed
        assert stopper.estimate is None  # still refitting
    finally:
        release.set()
    assert stopper.flush(30)
    assert stopper.monitor.n_trials == 40 and stopper.monitor.should_stop
    assert stopper.estimate.n_trials >= 20 and stopper.n_errors == 0


def test_pickles_with_its_record_and_decision():
    stopper = RayTuneStopper("score", "max", Patience(10**6), budget=3, **NO_FIT)
    for i, score in enumerate([1.0, None, 2.0]):
        if score is None:
            stopper.on_trial_error(0, [], FakeTrial(f"t{i}"))
        else:
            stopper(f"t{i}", final(score))
    copy = pickle.loads(pickle.dumps(stopper))
    assert copy.scores == stopper.scores == {"t0": 1.0, "t1": None, "t2": 2.0}
    assert copy.stop_all() is True and copy.monitor.n_failed == 1
    copy("t0", final(5.0))  # still counted once
    assert copy.monitor.n_trials == 3


def test_trials_finished_before_the_run_are_recorded_once_at_its_first_step():
    """A resumed experiment (``Tuner.restore``): Ray passes its finished trials through
    neither the stopper nor the callbacks again, so the first step records them."""
    stopper = RayTuneStopper("score", "max", Patience(10**6), budget=5, **NO_FIT)
    stopper("x_00001", final(0.5))  # recorded before the pickle Ray restores from
    before = [
        FakeTrial("x_00003", final(0.7), "TERMINATED"),
        FakeTrial("x_00000", final(0.2), "TERMINATED"),
        FakeTrial("x_00001", final(0.5), "TERMINATED"),  # already recorded: not again
        FakeTrial("x_00002", None, "ERROR"),
        FakeTrial("x_00004", {"score": 0.9, "done": False}, "TERMINATED"),  # cut off by a stop
        FakeTrial("x_00005", {"score": 0.8, "done": False}, "RUNNING"),
    ]
    copy = pickle.loads(pickle.dumps(stopper))
    copy.on_step_begin(0, before)
    assert list(copy.scores.items()) == [
        ("x_00001", 0.5), ("x_00000", 0.2), ("x_00002", None), ("x_00003", 0.7)
    ]  # those missing in the order Tune created them
    assert copy.monitor.n_trials == 4 and copy.monitor.n_failed == 1
    copy.on_step_begin(1, [*before, FakeTrial("x_00006", final(0.1), "TERMINATED")])
    assert copy.monitor.n_trials == 4  # later steps leave the trials to the stopper
    copy("x_00006", final(0.1))
    assert copy.stop_all() is True  # the budget of 5 counts the trials run before
    fresh = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
    fresh.on_experiment_end(before)  # nothing left to run: no step, only the end
    assert fresh.monitor.n_trials == 4 and fresh.n_errors == 0


def test_copies_unpickled_in_one_process_act_as_one():
    """Resuming, Tune unpickles the stopper twice: the run config's copy (its callbacks, saved
    at the start) and the checkpoint's (the stopper, saved later). They share one state."""
    stopper = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
    at_start = pickle.dumps(stopper)
    stopper("t0", final(1.0))
    stopper.on_trial_error(0, [], FakeTrial("t1"))
    later = pickle.dumps(stopper)
    callbacks_copy, stop_copy = pickle.loads(at_start), pickle.loads(later)
    assert callbacks_copy.scores == stop_copy.scores == {"t0": 1.0, "t1": None}  # the richer
    callbacks_copy.on_trial_error(0, [], FakeTrial("t2"))  # only the callback side sees errors
    stop_copy("t3", final(2.0))  # only the stopper side sees results
    for copy in (callbacks_copy, stop_copy):
        assert copy.monitor.n_trials == 4 and copy.monitor.n_failed == 2
    assert stopper.monitor.n_trials == 2  # the original is not a copy: its own state
    other = pickle.loads(pickle.dumps(RayTuneStopper("score", "max", **NO_FIT)))
    assert other.scores == {}  # another stopper's copy stays apart


def test_warns_once_when_it_is_not_among_the_callbacks(caplog):
    """Passed only as ``stop=``, Tune never calls its callback side (``setup`` first)."""
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        alone = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
        alone("t0", final(1.0))
        alone("t1", final(2.0))
        both = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
        both.setup(num_samples=5, total_num_samples=5)
        both("t0", final(1.0))
    warned = [r.getMessage() for r in caplog.records if "not among the run's callbacks" in
              r.getMessage()]
    assert len(warned) == 1 and "callbacks=[stopper]" in warned[0]
    assert alone.monitor.n_trials == 2 and alone.n_errors == 0


def test_takes_the_run_s_time_budget_and_carries_the_seconds_used_across_a_pickle(caplog):
    """Tune passes its ``time_budget_s`` to ``setup``: it becomes the monitor's time budget
    (one given to the stopper wins). A copy restored from a pickle counts the seconds used
    before it, as Tune's own time budget does."""
    stopper = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
    with caplog.at_level(logging.INFO, logger="tailstop"):
        stopper.setup(num_samples=5, total_num_samples=5, time_budget_s=3600)
    assert stopper.monitor.time_budget == 3600.0
    assert any("time_budget_s (3600 s)" in r.getMessage() for r in caplog.records)
    stopper("t0", final(1.0))
    stopper.monitor.restart_clock(100.0)  # as if 100 s had passed
    copy = pickle.loads(pickle.dumps(stopper))
    assert copy.monitor.time_budget == 3600.0 and 100.0 <= copy.monitor.elapsed < 130.0
    assert copy.monitor.report()["time_left"] <= 3500.0
    given = RayTuneStopper("score", "max", Patience(10**6), time_budget=60, **NO_FIT)
    given.setup(num_samples=5, total_num_samples=5, time_budget_s=3600)
    assert given.monitor.time_budget == 60.0
    broken = RayTuneStopper("score", "max", Patience(10**6), **NO_FIT)
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        broken.setup(time_budget_s="an hour")  # never raises into Tune
    assert broken.monitor.time_budget is None and broken.n_errors == 1


def test_bad_options_raise_at_construction():
    with pytest.raises(TailstopError, match="mode"):
        RayTuneStopper("score", "maximize")
    with pytest.raises(TailstopError, match="metric"):
        RayTuneStopper("", "max")
    with pytest.raises(TailstopError, match="max_iterations"):
        RayTuneStopper("score", "max", max_iterations=0)
    with pytest.raises(TailstopError, match="budget"):
        RayTuneStopper("score", "max", budget=-1)
    assert isinstance(RayTuneStopper("score", "max"), tune.Stopper)
    assert isinstance(RayTuneStopper("score", "max"), tune.Callback)


# -- a real Tune run -------------------------------------------------------------------------
def test_tune_run_ends_early_and_counts_each_trial_once(ray_session, tmp_path):
    name = unique_name("tailstop-test")
    # defined here so that Ray pickles it by value (workers cannot import this test module)
    def trainable(config):
        x, y = config["x"], config["y"]
        if x > 0.8:
            raise ValueError("diverged")  # an errored trial: seen by the callback side only
        noise = np.random.default_rng(config["seed"]).normal(0.0, 0.01)
        report({"score": -(x * x + 2 * y * y) + noise, "step": 1})
        report({"score": -(x * x + 2 * y * y) + noise, "step": 2})

    stopper = RayTuneStopper("score", "max", Patience(10**6), budget=12, min_trials=10,
                             refit_step=10**6)
    space = {
        "x": tune.uniform(-1.0, 1.0),
        "y": tune.uniform(-1.0, 1.0),
        "seed": tune.randint(0, 2**31 - 1),
    }
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            num_samples=200,
            reuse_actors=True,
            search_alg=tune.search.BasicVariantGenerator(random_state=0),
            time_budget_s=600,  # (setup passes it on: the stopper's time budget)
        ),
        run_config=RunConfig(
            name=name,
            storage_path=str(tmp_path / "ray_results"),
            stop=stopper,
            callbacks=[stopper],
            verbose=0,
        ),
    )
    grid = tuner.fit()

    assert stopper.stop_all() is True
    assert "budget of 12 trials used" in stopper.monitor.reason
    assert stopper.monitor.time_budget == 600.0 and 0 < stopper.report()["time_left"] < 600
    # trials finishing while the stop was delivered may still be recorded
    assert 12 <= stopper.monitor.n_trials <= 14
    assert len(grid) < 200  # the experiment ended early
    failed = [tid for tid, score in stopper.scores.items() if score is None]
    errored = {r.metrics.get("trial_id") for r in grid if r.error is not None}
    assert failed and set(failed) <= errored  # Ray's errored trials, counted as failed
    assert stopper.monitor.n_failed == len(failed)
    finished = {
        r.metrics["trial_id"]: r.metrics["score"]
        for r in grid
        if r.error is None and r.metrics and r.metrics.get("done")
    }
    for trial_id, score in stopper.scores.items():
        if score is not None:
            assert finished[trial_id] == pytest.approx(score)  # the final result, once
    finite, first_fit = 0, None
    for n, score in enumerate(stopper.scores.values(), start=1):
        finite += score is not None
        if first_fit is None and n >= 10 and finite >= 10:
            first_fit = n
    # the folder, read as the command line reads it, holds the same trials, and perhaps the
    # one or two (2 CPUs) that were still running when the experiment stopped: their final
    # results reach the disk after stop_all (seen once in a run on a loaded machine, 11
    # finite scores on disk against 10 recorded)
    from tailstop._io import load_scores

    folder = load_scores(str(tmp_path / "ray_results" / name), column="score")
    recorded = list(stopper.scores.values())
    on_disk = [s for s in folder.scores if s is not None]
    for score in (s for s in recorded if s is not None):
        assert any(s == pytest.approx(score) for s in on_disk)
    assert 0 <= len(folder.scores) - len(recorded) <= 2
    assert folder.scores.count(None) >= recorded.count(None)
    # the one refit, in the background: on the trials recorded by then
    assert first_fit <= stopper.report()["estimate_n_trials"] <= stopper.monitor.n_trials


def test_tune_run_with_a_nested_metric(ray_session, tmp_path):
    """Ray's own result stream for a nested report and TuneConfig's metric in slash notation."""
    name = unique_name("tailstop-nested")
    def trainable(config):
        report({"val": {"acc": 1.0 - config["x"] ** 2}})

    stopper = RayTuneStopper("val/acc", "max", Patience(10**6), budget=6, min_trials=10**6,
                             background=False)
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(-1.0, 1.0)},
        tune_config=tune.TuneConfig(metric="val/acc", mode="max", num_samples=20,
                                    reuse_actors=True),
        run_config=RunConfig(name=name, verbose=0, stop=stopper,
                                  storage_path=str(tmp_path / "ray_results"),
                                  callbacks=[stopper]),
    )
    grid = tuner.fit()
    assert stopper.stop_all() is True and 6 <= stopper.monitor.n_trials < 20
    # (the result grid's metrics come back flattened or nested, by how they were fetched)
    reported = {
        r.metrics["trial_id"]: r.metrics["val/acc"] if "val/acc" in r.metrics
        else r.metrics["val"]["acc"]
        for r in grid if r.metrics and ("val/acc" in r.metrics or "val" in r.metrics)
    }
    assert stopper.scores and all(score is not None for score in stopper.scores.values())
    for trial_id, score in stopper.scores.items():
        assert reported[trial_id] == pytest.approx(score)
    # the experiment's folder, read as the command line reads it: the same final results
    from tailstop._io import load_scores

    # (trials that the stop cut off are left out, as the stopper leaves them out)
    folder = load_scores(str(tmp_path / "ray_results" / name), column="val/acc")
    assert sorted(folder.scores) == pytest.approx(sorted(stopper.scores.values()))


def test_a_resumed_tune_experiment_counts_the_trials_run_before(ray_session, tmp_path, caplog):
    """``Tuner.restore`` brings back the stopper twice (the run config's copy, saved when the
    run began, and the checkpoint's): as one, they count the trials run before, and the
    errored trials Tune runs again (``restart_errored``) run and count as new trials."""
    name = unique_name("tailstop-resumed")
    marker = tmp_path / "fixed"  # absent in the first run: its trials with x > 0.5 error

    def trainable(config):
        if config["x"] > 0.5 and not marker.exists():
            raise ValueError("flaky")
        report({"score": -config["x"] ** 2})

    stopper = RayTuneStopper("score", "max", Patience(10**6), min_trials=10**6,
                             background=False)
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(-1.0, 1.0)},
        tune_config=tune.TuneConfig(
            num_samples=8, reuse_actors=True,
            search_alg=tune.search.BasicVariantGenerator(random_state=0),
        ),
        run_config=RunConfig(name=name, verbose=0, stop=stopper,
                             storage_path=str(tmp_path / "ray_results"),
                             callbacks=[stopper]),
    )
    tuner.fit()
    errored = stopper.monitor.n_failed
    assert stopper.monitor.n_trials == 8 and errored >= 1
    marker.touch()
    caplog.clear()  # (the first run's summary, when an earlier test left INFO on)
    with caplog.at_level(logging.INFO, logger="tailstop"):
        grid = tune.Tuner.restore(str(tmp_path / "ray_results" / name), trainable=trainable,
                                  restart_errored=True).fit()
    assert sum(r.error is None and "score" in (r.metrics or {}) for r in grid) == 8  # re-run
    ends = [r.getMessage() for r in caplog.records if "experiment ended with" in r.getMessage()]
    assert ends == [f"tailstop: experiment ended with {8 + errored} recorded trials "
                    f"({errored} failed)"]


def test_tune_run_with_asha_counts_the_trials_it_cut_short_as_failed(ray_session, tmp_path):
    """With ``max_iterations``, a trial that ASHA stops early did not reach the end: failed,
    like Optuna's pruned trials; one that ran its iterations counts with its last score."""
    name = unique_name("tailstop-asha")

    def trainable(config):
        for step in range(1, 5):
            report({"score": step * (1.0 - config["x"] ** 2)})

    stopper = RayTuneStopper("score", "max", Patience(10**6), min_trials=10**6,
                             max_iterations=4, background=False)
    scheduler = tune.schedulers.ASHAScheduler(max_t=4, grace_period=1, reduction_factor=2)
    tuner = tune.Tuner(
        trainable,
        param_space={"x": tune.uniform(-1.0, 1.0)},
        tune_config=tune.TuneConfig(
            metric="score", mode="max", num_samples=12, reuse_actors=True,
            scheduler=scheduler, search_alg=tune.search.BasicVariantGenerator(random_state=1),
        ),
        run_config=RunConfig(name=name, verbose=0, stop=stopper,
                             storage_path=str(tmp_path / "ray_results"), callbacks=[stopper]),
    )
    grid = tuner.fit()
    last = {r.metrics["trial_id"]: r.metrics for r in grid}
    assert len(stopper.scores) == len(last) == 12 and stopper.n_errors == 0
    cut = {t for t, m in last.items() if m["training_iteration"] < 4}
    assert cut  # ASHA stopped some trials early
    for trial_id, score in stopper.scores.items():
        if trial_id in cut:
            assert score is None
        else:
            assert score == pytest.approx(last[trial_id]["score"])
    assert stopper.monitor.n_failed == len(cut)


def test_takes_a_noise_mid_experiment_and_keeps_it_in_a_copy():
    stopper = RayTuneStopper("score", "max", budget=1000, min_trials=20, background=False)
    scores = np.random.default_rng(3).normal(size=40)
    for i, score in enumerate(scores):
        stopper(f"t{i}", final(float(score)))
    assert stopper.estimate is not None and not stopper.estimate.noise_known
    with pytest.raises(TailstopError, match="noise"):
        stopper.set_noise(float("nan"))
    estimate = stopper.set_noise(0.5)
    assert estimate.noise_known and estimate.noise == 0.5
    assert stopper.report()["noise_known"]
    copy = pickle.loads(pickle.dumps(stopper))
    assert copy.monitor.noise == 0.5


def test_repeated_configs_show_a_deterministic_objective():
    stopper = RayTuneStopper("score", "max", budget=1000, min_trials=20, background=False,
                             refit_step=20)
    rng = np.random.default_rng(4)
    for i in range(90):
        k, flag = int(rng.integers(1, 31)), bool(rng.integers(0, 2))
        score = 0.9 - 2e-4 * (k - 12) ** 2 - 0.01 * flag
        stopper(f"t{i}", final(score, config={"k": k, "flag": flag}))
    assert stopper.monitor.repeats.deterministic is True
    assert stopper.monitor.noise == 0.0 and stopper.report()["noise_source"] == "repeats"
    copy = pickle.loads(pickle.dumps(stopper))  # the record, configs included, carries over
    assert copy.monitor.noise == 0.0


def test_a_search_space_gives_the_report_its_range_edges(caplog):
    """With the run's param_space, the report names a hyperparameter whose best trials crowd
    one end of its range (nested ones by slash paths), and the experiment's end warns."""
    space = {"lr": tune.loguniform(1e-5, 1e-1), "opt": {"momentum": tune.uniform(0.5, 0.99)},
             "layers": tune.randint(1, 4), "act": tune.choice(["relu", "gelu"])}
    stopper = RayTuneStopper("score", "max", search_space=space, **NO_FIT)
    unseen = RayTuneStopper("score", "max", **NO_FIT)  # no space: the ranges read off
    rng = np.random.default_rng(0)
    for i in range(200):
        u, momentum = rng.random(), rng.uniform(0.5, 0.99)
        config = {"lr": 10 ** (-5 + 4 * u), "opt": {"momentum": momentum}, "layers": 2,
                  "act": "relu"}
        for each in (stopper, unseen):
            each(f"t{i}", final(0.9 - (u - 1.3) ** 2, config=config))  # best beyond 1e-1
    edges = stopper.report()["ray"]["range_edges"]
    assert edges == [{"name": "lr", "end": "high", "count": 10, "best": 10, "low": 1e-5,
                      "high": 0.1, "log": True}]
    read = unseen.report()["ray"]["range_edges"]
    assert [(e["name"], e["end"], e["log"]) for e in read] == [("lr", "high", True)]
    assert 1e-5 <= read[0]["low"] < 1.2e-5 and 0.09 < read[0]["high"] <= 0.1
    with caplog.at_level(logging.WARNING, logger="tailstop"):
        stopper.on_experiment_end(trials=[])
    assert "lr in the top tenth of its range" in caplog.text
    copy = pickle.loads(pickle.dumps(stopper))
    assert copy.report()["ray"]["range_edges"] == edges
    # without a search space or trials the report has no such entry; a space that is not a
    # dict fails
    assert "range_edges" not in RayTuneStopper("score", "max", **NO_FIT).report()["ray"]
    with pytest.raises(TailstopError, match="search_space must be a dict"):
        RayTuneStopper("score", "max", search_space=[1, 2])

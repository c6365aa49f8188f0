"""Three worker processes share one Optuna study on PostgreSQL, each with an OptunaCallback.

Needs a server: ``eval "$(bash .ci/postgres.sh)"`` starts one on 127.0.0.1 and exports
``TAILSTOP_TEST_POSTGRES`` (an SQLAlchemy URL). Without it the test skips, saying why; with
``TAILSTOP_REQUIRE_POSTGRES=1`` (CI) an unreachable server fails the test instead.

What it shows: every worker stops within one trial of the decision (counted from the moment
the stop flag was written), no completed trial is lost (the trials in storage are exactly
those a callback counts), and the report left in storage is consistent with the trials.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

optuna = pytest.importorskip("optuna")
from never_rule import Never  # noqa: E402
from optuna.trial import TrialState  # noqa: E402
from tailstop.callbacks import OptunaCallback  # noqa: E402

WORKERS = 3
MAX_TRIALS = 200  # per worker: the rule must stop them long before


def _unavailable(message: str):
    if os.environ.get("TAILSTOP_REQUIRE_POSTGRES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _driver_url(url: str) -> str:
    """Name the installed driver when the URL does not (SQLAlchemy 2.1 defaults to psycopg 3)."""
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    for module, dialect in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{dialect}{sep}{rest}"
    _unavailable("no PostgreSQL driver: pip install psycopg2-binary (the dev extra has it)")
    return url  # pragma: no cover


@pytest.fixture(scope="module")
def postgres():
    """``(url, storage)``: the URL for the workers, one storage for the test process."""
    return _postgres()


def _postgres():
    url = os.environ.get("TAILSTOP_TEST_POSTGRES")
    if not url:
        _unavailable(
            "TAILSTOP_TEST_POSTGRES is not set: `eval \"$(bash .ci/postgres.sh)\"` starts a "
            "local PostgreSQL server and sets it"
        )
    url = _driver_url(url)
    try:
        storage = optuna.storages.RDBStorage(
            url, engine_kwargs={"connect_args": {"connect_timeout": 5}}
        )
        storage.get_all_studies()  # creates the schema once, before the workers race for it
    except ImportError as exc:
        _unavailable(f"no driver for {url!r}: {exc}")
    except Exception as exc:  # any connection failure means "no server"
        _unavailable(f"PostgreSQL at {url!r} is unreachable: {type(exc).__name__}: {exc}")
    return url, storage


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    import optuna
    from tailstop.callbacks import OptunaCallback
    from tailstop.rules import Patience

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    me, url, name, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    study = optuna.load_study(study_name=name, storage=url,
                              sampler=optuna.samplers.RandomSampler(seed=me))
    (folder / f"ready-{me}").touch()
    while not all((folder / f"ready-{w}").exists() for w in range(int(sys.argv[5]))):
        time.sleep(0.01)

    def objective(trial):
        trial.set_user_attr("worker", me)
        x = trial.suggest_float("x", -1, 1)
        y = trial.suggest_float("y", -1, 1)
        return -(x * x + 2 * y * y) + np.random.default_rng(trial.number).normal(0, 0.01)

    # worker 0 decides (one fit, at 30 trials; Patience fires a few trials later); the others
    # would run to their limit: they stop only because worker 0 tells them
    if me == 0:
        callback = OptunaCallback(Patience(12), min_trials=30, refit_step=10**6)
    else:
        callback = OptunaCallback(Patience(10**6), min_trials=10**6)
    decided = {}

    def record(study, trial):  # runs right after tailstop's callback
        if callback.reason is not None and not decided:
            decided.update(at=time.time(), trial=trial.number)

    study.optimize(objective, n_trials=int(sys.argv[6]), callbacks=[callback, record])
    monitor = callback.monitor
    print(json.dumps({
        "reason": callback.reason, "n_errors": callback.n_errors, "decided": decided,
        "report": callback.report(), "monitor_n_trials": monitor.n_trials,
    }))
    """
)


def _env() -> dict:
    env = dict(os.environ)
    # the installed package (tailstop.callbacks is mapped from callbacks/ only by the install)
    return env


def _completed_at(trial) -> float:
    return trial.datetime_complete.timestamp()  # naive local time, as time.time() counts


@pytest.mark.slow
def test_three_workers_on_postgres_stop_together_and_lose_no_trial(postgres, tmp_path):
    postgres_url, storage = postgres
    name = f"tailstop-test-{uuid.uuid4().hex[:12]}"
    optuna.create_study(study_name=name, storage=storage, direction="maximize")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    try:
        processes = [
            subprocess.Popen(
                [sys.executable, str(script), str(me), postgres_url, name, str(tmp_path),
                 str(WORKERS), str(MAX_TRIALS)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
            )
            for me in range(WORKERS)
        ]
        outputs = []
        for process in processes:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        study = optuna.load_study(
            study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler()
        )
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state.is_finished()]
        complete = [t for t in finished if t.state == TrialState.COMPLETE]

        # every worker stopped on the decision, long before its own limit, without errors
        flag = study.user_attrs["tailstop:stop"]
        assert "patience 12" in flag["reason"]
        for out in outputs:
            assert out["reason"] is not None and out["n_errors"] == 0
        by_worker = [sum(t.user_attrs["worker"] == me for t in trials) for me in range(WORKERS)]
        assert all(0 < n < MAX_TRIALS // 2 for n in by_worker), by_worker
        assert len(finished) == len(trials)  # nothing left running

        # ... and within one trial of it: counted from the first decision (a moment after
        # its flag was written), each worker completed at most the trial it was running
        first = min(out["decided"]["at"] for out in outputs if out["decided"])
        late = [
            sum(t.user_attrs["worker"] == me and _completed_at(t) > first for t in trials)
            for me in range(WORKERS)
        ]
        assert all(n <= 1 for n in late), late
        # (the trials between the decision's storage read and its flag are the decider's refit
        # latency: they finished before the flag existed)
        assert flag["n_trials"] <= len(finished)

        # no completed trial lost: a callback reading the storage counts every one of them
        checker = OptunaCallback(
            Never(), min_trials=10**6, report_attr="check:report", stop_attr="check:stop"
        )
        checker.update(study)
        assert checker.monitor.n_trials == len(finished)
        assert checker.report()["optuna"]["trials"]["complete"] == len(complete)
        assert checker.monitor.state.current_best == max(t.value for t in complete)

        # the report in storage is consistent with the trials it describes
        report = study.user_attrs["tailstop:report"]
        counts = report["optuna"]["trials"]
        assert report["should_stop"] and report["n_trials"] <= len(finished)
        assert counts["complete"] + counts["fail"] + counts["pruned"] == report["n_trials"]
        assert report["estimate_n_trials"] is not None and report["best_possible"] is not None
        # its best is the best of the first trials to complete (commits may trail the
        # completion times by the trials in flight: one per worker)
        order = sorted(complete, key=_completed_at)
        plausible = {
            max(t.value for t in order[:k])
            for k in range(max(1, report["n_trials"] - WORKERS),
                           min(len(order), report["n_trials"] + WORKERS) + 1)
        }
        assert report["current_best"] in plausible
        assert report["current_best"] <= study.best_value
        deciders = [out for out in outputs if out["report"] and out["report"]["should_stop"]]
        assert report in [out["report"] for out in deciders]  # written by a deciding worker
    finally:
        with contextlib.suppress(Exception):  # cleanup only
            optuna.delete_study(study_name=name, storage=storage)


def test_the_skip_message_names_the_setup(monkeypatch):
    monkeypatch.delenv("TAILSTOP_TEST_POSTGRES", raising=False)
    monkeypatch.delenv("TAILSTOP_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"\.ci/postgres\.sh"):
        _postgres()
    monkeypatch.setenv("TAILSTOP_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="TAILSTOP_TEST_POSTGRES"):
        _postgres()
    monkeypatch.setenv("TAILSTOP_TEST_POSTGRES", "postgresql://nobody:x@127.0.0.1:1/none")
    with pytest.raises(pytest.fail.Exception, match="unreachable"):
        _postgres()

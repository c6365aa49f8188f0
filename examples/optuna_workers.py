"""Several worker processes share one Optuna study; tailstop stops all of them together.

Each worker runs ``study.optimize`` with its own ``OptunaCallback``.  The callbacks read every
worker's trials from the shared storage, so they all watch the whole search; the first one
whose rule fires writes ``study.user_attrs["tailstop:stop"]`` and every other worker stops
at its next trial (``study.stop()`` alone would stop only the process that calls it).

    python examples/optuna_workers.py                          # 2 workers, budget 300 trials
    python examples/optuna_workers.py --workers 2 --trials 60  # a quick run
    python examples/optuna_workers.py --storage sqlite:///search.db

Without ``--storage`` the study lives in a journal file in a temporary directory.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from tailstop.callbacks import OptunaCallback

STUDY = "tailstop-workers"


def open_storage(url: str):
    """An RDB URL as is; anything else is a journal file path."""
    if "://" in url:
        return url
    return JournalStorage(JournalFileBackend(url))


def objective(trial: optuna.Trial) -> float:
    """A stand-in for training: smooth near its optimum, noisy, a few milliseconds long."""
    x = trial.suggest_float("x", -3.0, 3.0)
    y = trial.suggest_float("log_lr", -5.0, -1.0)
    time.sleep(0.01)
    distance = (x - 0.5) ** 2 + ((y + 3.0) / 1.5) ** 2
    noise = np.random.default_rng(trial.number).normal(0.0, 0.002)
    return 0.9 - 0.4 * (1.0 - math.exp(-distance)) + noise


def worker(storage_url: str, name: str, budget: int, seed: int) -> None:
    logging.basicConfig(level=logging.INFO, format=f"[{name}] %(message)s")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=STUDY,
        storage=open_storage(storage_url),
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )

    def tag(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", name)
        return objective(trial)

    # the budget is the study's, shared by all workers; the callback counts every trial
    callback = OptunaCallback(budget=budget, bounds=(0.0, 1.0))
    study.optimize(tag, n_trials=budget, callbacks=[callback])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=300, help="budget of the whole study")
    parser.add_argument("--storage", default=None, help="RDB URL or journal file path")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        url = args.storage or str(Path(folder) / "journal.log")
        optuna.create_study(
            study_name=STUDY, storage=open_storage(url), direction="maximize",
            load_if_exists=True,
        )
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(target=worker, args=(url, f"worker-{i}", args.trials, i))
            for i in range(args.workers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        if any(process.exitcode != 0 for process in processes):
            raise SystemExit("a worker failed")

        study = optuna.load_study(study_name=STUDY, storage=open_storage(url))
        n_trials = len(study.trials)
        per_worker = Counter(t.user_attrs.get("worker") for t in study.trials)
        stop = study.user_attrs.get("tailstop:stop")
        report = study.user_attrs.get("tailstop:report", {})

    print()
    print(f"{n_trials} trials of a budget of {args.trials}: {dict(per_worker)}")
    if stop:
        print(f"stopped at {stop['n_trials']} trials: {stop['reason']}")
    if report.get("best_possible"):
        bp = report["best_possible"]
        print(f"best {report['current_best']:.4f}; best possible {bp['estimate']:.4f} "
              f"[{bp['low']:.4f}, {bp['high']:.4f}]")
    return {"trials": n_trials, "per_worker": dict(per_worker), "stop": stop,
            "report": report}


if __name__ == "__main__":
    main()

"""Benchmark: how many trials a time budget leaves, as forecast, against the trials that ran.

A real Optuna study (random search, in memory) whose trials sleep a random time (log-normal,
median ``--median`` seconds, sigma 0.5) runs under ``OptunaCallback(time_budget=...)`` with a
rule that never stops, so the time budget ends it. At each refit the monitor's horizon is the
trials it expects to finish in the time left (the rate measured so far times the seconds
left); afterwards that is compared with the trials that did finish after that refit. Beside
the monitor's, two forecasts computed afterwards from the trials' completion times at the
same points: the rate over the whole span since the first trial, and over the later half of
the trials (the monitor's). Prints, per setting and forecast, the median and the largest
relative error in each quarter of the budget.

Run from the repository root::

    python examples/benchmarks/bench_time_budget.py --budget 20   # after pip install -e ".[optuna]"
"""

from __future__ import annotations

import argparse
import datetime
import math
import time

import numpy as np
import optuna
from tailstop.callbacks import OptunaCallback

from tailstop.rules import Patience


def run(budget: float, median: float, n_jobs: int, background: bool, seed: int):
    """One study; returns its trial count and, per refit, ``(share of the budget used, the
    monitor's horizon, the whole span's forecast, the later half's, the trials that ran)``.
    The two forecasts are computed afterwards from the trials' completion times, at the same
    points, so that they are compared on the same run."""
    rng = np.random.default_rng(seed)
    durations = iter(median * rng.lognormal(0.0, 0.5, 10**6))

    def objective(trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        y = trial.suggest_float("y", -1.0, 1.0)
        time.sleep(next(durations))
        return -(x * x + 2 * y * y) + float(rng.normal(0.0, 0.01))

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    created = datetime.datetime.now()
    callback = OptunaCallback(Patience(10**9), time_budget=budget, background=background,
                              refit_step=5)
    study.optimize(objective, n_trials=10**6, n_jobs=n_jobs, callbacks=[callback])
    callback.flush()
    finished = len(study.trials)
    done = sorted((t.datetime_complete - created).total_seconds() for t in study.trials)
    rows = []
    for record in callback.monitor.history:
        n = record["n_trials"]
        if "horizon" not in record or n > len(done):
            continue
        now, left = done[n - 1], max(budget - done[n - 1], 0.0)
        whole = (n - 1) / (now - done[0]) if now > done[0] else math.nan
        half = n - (n - 1) // 2
        later = (n - half) / (now - done[half - 1]) if now > done[half - 1] else math.nan
        rows.append((now / budget, record["horizon"], whole * left, later * left, finished - n))
    return finished, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per study")
    parser.add_argument("--median", type=float, default=0.1, help="median trial seconds")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"time budget {args.budget:g} s, trials of median {args.median:g} s (log-normal, "
          f"sigma 0.5); forecast of the trials left at each refit against the trials that ran: "
          f"median / largest relative error per quarter of the budget")
    print(f"{'n_jobs':>6} {'background':>10} {'trials':>7} {'forecast':>12} "
          + " ".join(f"{f'q{q}':>15}" for q in (1, 2, 3, 4)))
    names = ("monitor", "whole span", "later half")
    for n_jobs in (1, 2):
        for background in (False, True):
            errors = {name: {q: [] for q in (1, 2, 3, 4)} for name in names}
            totals = []
            for seed in range(args.seeds):
                finished, rows = run(args.budget, args.median, n_jobs, background, seed)
                totals.append(finished)
                for share, *forecasts, realised in rows:
                    quarter = min(int(share * 4) + 1, 4)
                    for name, forecast in zip(names, forecasts, strict=True):
                        errors[name][quarter].append((forecast - realised) / max(realised, 1))
            for name in names:
                cells = []
                for q in (1, 2, 3, 4):
                    e = np.asarray(errors[name][q])
                    e = e[np.isfinite(e)]
                    cells.append(f"{'-':>15}" if e.size == 0 else
                                 f"{f'{np.median(e):+.0%} / {e[np.argmax(np.abs(e))]:+.0%}':>15}")
                print(f"{n_jobs:>6} {background!s:>10} {np.mean(totals):>7.0f} {name:>12} "
                      + " ".join(cells))


if __name__ == "__main__":
    main()

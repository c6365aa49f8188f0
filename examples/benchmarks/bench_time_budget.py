"""Benchmark: how many trials a time budget leaves, as forecast, against the trials that ran.

A real Optuna study (random search, in memory) whose trials sleep a random time (log-normal,
median ``--median`` seconds, sigma 0.5) runs under ``OptunaCallback(time_budget=...)`` with a
rule that never stops, so the time budget ends it. At each refit the monitor's horizon is the
trials it expects to finish in the time left (the rate measured so far times the seconds
left); afterwards that is compared with the trials that did finish after that refit. Prints,
per setting, the median and the worst relative error of the forecast in each quarter of the
budget.

Run from the repository root::

    python examples/benchmarks/bench_time_budget.py --budget 20   # after pip install -e ".[optuna]"
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import optuna
from tailstop.callbacks import OptunaCallback

from tailstop.rules import Patience


def run(budget: float, median: float, n_jobs: int, background: bool, seed: int):
    rng = np.random.default_rng(seed)
    durations = iter(median * rng.lognormal(0.0, 0.5, 10**6))

    def objective(trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        y = trial.suggest_float("y", -1.0, 1.0)
        time.sleep(next(durations))
        return -(x * x + 2 * y * y) + float(rng.normal(0.0, 0.01))

    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    callback = OptunaCallback(Patience(10**9), time_budget=budget, background=background,
                              refit_step=5)
    study.optimize(objective, n_trials=10**6, n_jobs=n_jobs, callbacks=[callback])
    callback.flush()
    finished = len(study.trials)
    monitor = callback.monitor
    rows = []
    # each refit's time: the share of the budget used when its trial finished
    starts = {t.number: t.datetime_complete for t in study.trials}
    first = min(t.datetime_start for t in study.trials)
    for record in monitor.history:
        n = record["n_trials"]
        done = starts.get(n - 1)
        if done is None or "horizon" not in record:
            continue
        share = (done - first).total_seconds() / budget
        rows.append((share, record["horizon"], finished - n))
    return finished, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per study")
    parser.add_argument("--median", type=float, default=0.1, help="median trial seconds")
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"time budget {args.budget:g} s, trials of median {args.median:g} s (log-normal, "
          f"sigma 0.5); forecast of the trials left at each refit / trials that ran")
    print(f"{'n_jobs':>6} {'background':>10} {'trials':>7} "
          + " ".join(f"{f'q{q} median / worst':>20}" for q in (1, 2, 3, 4)))
    for n_jobs in (1, 2):
        for background in (False, True):
            errors: dict[int, list[float]] = {q: [] for q in (1, 2, 3, 4)}
            totals = []
            for seed in range(args.seeds):
                finished, rows = run(args.budget, args.median, n_jobs, background, seed)
                totals.append(finished)
                for share, forecast, realised in rows:
                    quarter = min(int(share * 4) + 1, 4)
                    errors[quarter].append((forecast - realised) / max(realised, 1))
            cells = []
            for q in (1, 2, 3, 4):
                e = np.asarray(errors[q])
                cells.append(f"{'-':>20}" if e.size == 0 else
                             f"{f'{np.median(e):+.0%} / {e[np.argmax(np.abs(e))]:+.0%}':>20}")
            print(f"{n_jobs:>6} {background!s:>10} {np.mean(totals):>7.0f} " + " ".join(cells))


if __name__ == "__main__":
    main()

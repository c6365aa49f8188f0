"""Benchmark: OptunaCallback in a threaded study (``n_jobs > 1``): trials finish during refits.

For each trial length (``--sleep``: seconds the objective sleeps; 0 for instant trials),
``--trials`` trials of a 2-hyperparameter random search run in memory with ``--jobs`` worker
threads, three ways, one after the other and repeated ``--repeats`` times (interleaved, so
machine load hits all alike):

* ``no callback``: the search alone;
* ``queued``: every call waits for the previous one to finish (an outer lock around the
  callback: what the callback itself did before session 19);
* ``shipped``: the callback as it is: a call that finds another worker refitting returns at
  once, and that worker reads the new trials before it returns, unless the decision lags by
  more than max(10, 5%) of the trials: the call then waits for the refit (session 53).

The budget is far away (the default rule never stops the search).  Printed per way: the wall
time's range over the repeats, the refits, the longest single call (a worker that kept
refitting while others searched) and the largest gap: the most trials that finished between two
refits, how far the decision fell behind the search.

    PYTHONPATH=src python examples/benchmarks/bench_threads.py
    PYTHONPATH=src python examples/benchmarks/bench_threads.py --trials 100 --repeats 1
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
import warnings

import numpy as np
import optuna
from tailstop.callbacks import OptunaCallback


def make_objective(sleep: float):
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        y = trial.suggest_float("y", -1.0, 1.0)
        time.sleep(sleep)
        noise = np.random.default_rng(trial.number).normal(0.0, 0.01)
        return float(1.0 - x * x - 2.0 * y * y + noise)

    return objective


def run(way: str, trials: int, jobs: int, sleep: float, seed: int) -> dict:
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    callback = OptunaCallback(budget=10**9)
    outer = threading.Lock()
    longest = 0.0

    def queued(study, trial):
        with outer:
            callback(study, trial)

    def timed(study, trial):
        nonlocal longest
        started = time.perf_counter()
        (queued if way == "queued" else callback)(study, trial)
        longest = max(longest, time.perf_counter() - started)

    callbacks = [] if way == "no callback" else [timed]
    started = time.perf_counter()
    study.optimize(make_objective(sleep), n_trials=trials, n_jobs=jobs, callbacks=callbacks)
    wall = time.perf_counter() - started
    refits = 0 if callback.monitor is None else len(callback.monitor.history)
    # the most trials that finished between two refits (the throttling's step is 1 up to
    # 50 trials, then 2% of the trials): how far the decision fell behind the search
    seen = [h["n_trials"] for h in (callback.monitor.history if callback.monitor else [])]
    gap = int(np.max(np.diff(seen))) if len(seen) > 1 else 0
    if callbacks:
        callback.update(study)
        assert callback.monitor.n_trials == trials
    return {"wall": wall, "refits": refits, "longest": longest, "gap": gap}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sleep", type=float, nargs="+", default=[0.003, 0.05])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("tailstop").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    ways = ("no callback", "queued", "shipped")
    print(f"{args.trials} trials, {args.jobs} worker threads, in memory, {args.repeats} repeats")
    print(
        f"{'trial s':>8}  {'way':<12} {'wall s (min-max)':>17} {'refits':>9} "
        f"{'longest call s':>15} {'largest gap':>12}"
    )
    for sleep in args.sleep:
        results = {way: [] for way in ways}
        for repeat in range(args.repeats):
            for way in ways:
                results[way].append(run(way, args.trials, args.jobs, sleep, seed=repeat))
        for way in ways:
            walls = [r["wall"] for r in results[way]]
            refits = [r["refits"] for r in results[way]]
            longest = max(r["longest"] for r in results[way])
            gap = max(r["gap"] for r in results[way])
            print(
                f"{sleep:>8.3f}  {way:<12} {min(walls):>8.2f}-{max(walls):<8.2f}"
                f" {min(refits):>4}-{max(refits):<4} {longest:>15.2f} {gap:>12}"
            )


if __name__ == "__main__":
    main()

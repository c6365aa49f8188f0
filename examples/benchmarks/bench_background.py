"""Benchmark: what ``OptunaCallback`` costs a whole search, refitting in the calling thread or
in a background thread (``background=True``).

A random search (``RandomSampler``, in-memory storage) of ``--trials`` trials on a
``tailstop.synthetic`` problem (r = 2 of 5 hyperparameters, noise 1% of the range), run three
ways: without a callback, with ``OptunaCallback`` refitting in the call, and with
``background=True``. The rule never stops (``GainBelow(1e-12)``), so every run does every
trial and the monitor refits as a live search's does (each trial up to 50, then every 2% of
growth). Each trial takes ``--seconds``, spent one of two ways:

* ``sleep``: waiting outside Python (a training step in C, on a GPU, in another process),
  which lets a background thread run;
* ``python``: a pure-Python loop that holds the interpreter lock, the worst case for a
  background thread, which then competes for it.

Prints, per kind of trial and way: the search's wall time, its overhead over the search
without a callback, the refits made and, for the background runs, how long ``flush()`` waited
after ``optimize`` returned. Run from the repository root (about 3 minutes)::

    PYTHONPATH=src python examples/benchmarks/bench_background.py --trials 200 --seconds 0.05
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import optuna
from tailstop.callbacks import OptunaCallback

from tailstop.rules import GainBelow
from tailstop.synthetic import make_problem


def busy(seconds: float) -> None:
    """Hold the interpreter lock for about ``seconds``."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(i * i for i in range(200))


def run(problem, trials: int, seconds: float, kind: str, way: str) -> tuple[float, int, float]:
    def objective(trial: optuna.Trial) -> float:
        x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(problem.dimension)])
        if kind == "sleep":
            time.sleep(seconds)
        else:
            busy(seconds)
        return float(problem.objective(x, generator=trial.number))

    study = optuna.create_study(direction=problem.direction,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    callbacks = []
    callback = None
    if way != "none":
        callback = OptunaCallback(GainBelow(1e-12), budget=trials,
                                  background=way == "background")
        callbacks = [callback]
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, callbacks=callbacks)
    elapsed = time.perf_counter() - start
    flushed = 0.0
    refits = 0
    if callback is not None:
        start = time.perf_counter()
        callback.flush()
        flushed = time.perf_counter() - start
        refits = callback.monitor.refits
        assert callback.monitor.n_trials == trials
    return elapsed, refits, flushed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=0.05, help="time per trial")
    parser.add_argument("--kinds", nargs="+", default=["sleep", "python"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    print(f"{args.trials} trials of {args.seconds * 1e3:.0f} ms each; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'trial':<8} {'callback':<12} {'search s':>9} {'overhead':>9} {'refits':>7} "
          f"{'flush s':>8}")
    for kind in args.kinds:
        base = None
        for way in ("none", "inline", "background"):
            elapsed, refits, flushed = run(problem, args.trials, args.seconds, kind, way)
            base = elapsed if base is None else base
            overhead = "" if way == "none" else f"{100 * (elapsed / base - 1):+.0f}%"
            shown_refits = "" if way == "none" else str(refits)
            shown_flush = f"{flushed:.2f}" if way == "background" else ""
            print(f"{kind:<8} {way:<12} {elapsed:>9.1f} {overhead:>9} {shown_refits:>7} "
                  f"{shown_flush:>8}")


if __name__ == "__main__":
    main()

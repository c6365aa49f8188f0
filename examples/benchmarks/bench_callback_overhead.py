"""Benchmark: time ``OptunaCallback`` adds to each trial at 100, 500 and 1,000 finished trials.

For each storage (in-memory, SQLite in a temporary directory) and each contender, a fresh
random-search study (the same seed for all, so the same trial history) grows to each size
(trials added directly, no callback); a fresh callback is attached, its first call (which
reads the whole history and fits cold) is timed on its own, and then ``--trials`` more trials
run through ``study.optimize`` with the callback, each call timed with ``time.perf_counter``.
The table gives the median and 95th percentile per call, split into the monitor
(``Monitor.observe``: refits, and the rule's decision after every trial) and the adapter
(storage reads, bookkeeping, report writes).  Rules:

* ``GainBelow(1e-12)``: the default rule's cost (it consults the forecast after every trial)
  without ever stopping, so every size gets its ``--trials`` calls;
* ``Patience``: a rule that needs no forecast, so the monitor's cost is its refits alone.

Where torch is installed, Optuna's ``TerminatorCallback`` (GP regret bound
``RegretBoundEvaluator`` against ``StaticErrorEvaluator(1e-12)``, so it never stops) is timed
the same way, ``--terminator-trials`` calls per size, in a second table.
Target: <= 10 ms median per call at 1,000 trials.  The machine may be shared: the load average
is printed with the table.

    PYTHONPATH=src python examples/benchmarks/bench_callback_overhead.py
    PYTHONPATH=src python examples/benchmarks/bench_callback_overhead.py --trials 20 --sizes 100
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from tailstop.callbacks import OptunaCallback

from tailstop.rules import GainBelow, Patience

DISTRIBUTIONS = {"x": FloatDistribution(-1.0, 1.0), "y": FloatDistribution(-1.0, 1.0)}


def score(x: float, y: float, seed: int) -> float:
    noise = np.random.default_rng(seed).normal(0.0, 0.01)
    return float(-(x * x + 2.0 * y * y) + noise)


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    y = trial.suggest_float("y", -1.0, 1.0)
    return score(x, y, trial.number)


def grow(study: optuna.Study, size: int, rng: np.random.Generator) -> None:
    """Add finished trials (no callback) until the study holds ``size`` of them."""
    missing = size - len(study.trials)
    trials = []
    for i in range(max(missing, 0)):
        x, y = rng.uniform(-1.0, 1.0, 2)
        trials.append(
            optuna.trial.create_trial(
                params={"x": x, "y": y},
                distributions=DISTRIBUTIONS,
                value=score(x, y, 10**6 + len(study.trials) + i),
            )
        )
    study.add_trials(trials)


class Timed:
    """Wraps a callback; records the wall time of each call and of the monitor inside it."""

    def __init__(self, callback: OptunaCallback):
        self.callback = callback
        self.total: list[float] = []
        self.monitor: list[float] = []
        self.cpu: list[float] = []
        self._inside = 0.0

    def patch_monitor(self) -> None:
        monitor = self.callback.monitor
        observe = monitor.observe

        def timed_observe(*args, **kwargs):
            start = time.perf_counter()
            try:
                return observe(*args, **kwargs)
            finally:
                self._inside += time.perf_counter() - start

        monitor.observe = timed_observe

    def __call__(self, study, trial) -> None:
        self._inside = 0.0
        start, cpu = time.perf_counter(), time.process_time()
        self.callback(study, trial)
        self.total.append(time.perf_counter() - start)
        self.cpu.append(time.process_time() - cpu)
        self.monitor.append(self._inside)


def measure(study, rule, n_calls: int) -> dict:
    callback = OptunaCallback(rule, warn_sampler=False)
    start = time.perf_counter()
    callback.update(study)
    first = time.perf_counter() - start
    timed = Timed(callback)
    timed.patch_monitor()
    refits_before = len(callback.monitor.history)
    study.optimize(objective, n_trials=n_calls, callbacks=[timed])
    total, inside = np.array(timed.total) * 1e3, np.array(timed.monitor) * 1e3
    return {
        "first": first,
        "median": float(np.median(total)),
        "cpu_median": float(np.median(timed.cpu) * 1e3),
        "p95": float(np.percentile(total, 95)),
        "max": float(total.max()),
        "monitor_median": float(np.median(inside)),
        "adapter_median": float(np.median(total - inside)),
        "adapter_p95": float(np.percentile(total - inside, 95)),
        "refits": len(callback.monitor.history) - refits_before,
        "errors": callback.n_errors,
    }


def optuna_alone(study, n_calls: int) -> float:
    """Median wall time of one trial of ``study.optimize`` without any callback (ms)."""
    ends: list[float] = []

    def stamp(study, trial):
        ends.append(time.perf_counter())

    study.optimize(objective, n_trials=n_calls + 1, callbacks=[stamp])
    return float(np.median(np.diff(ends)) * 1e3)


def terminator_row(study, n_calls: int) -> dict:
    """Median and p95 wall time (and median CPU time) of ``TerminatorCallback`` per call (ms).

    The Terminator is Optuna's GP regret bound (``RegretBoundEvaluator``) against a static
    error of 1e-12, so it never stops and every size gets its ``n_calls`` calls. One untimed
    ``should_terminate`` runs first: the first call imports torch and Optuna's GP module
    (about 1.5 s), a one-off cost that is not per trial.
    """
    from optuna.terminator import Terminator, TerminatorCallback
    from optuna.terminator.erroreval import StaticErrorEvaluator
    from optuna.terminator.improvement.evaluator import RegretBoundEvaluator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        terminator = Terminator(RegretBoundEvaluator(), StaticErrorEvaluator(1e-12))
        callback = TerminatorCallback(terminator)
        start = time.perf_counter()
        terminator.should_terminate(study)
        first = time.perf_counter() - start
        times: list[float] = []
        cpu: list[float] = []

        def timed(study, trial):
            start, start_cpu = time.perf_counter(), time.process_time()
            callback(study, trial)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)

        study.optimize(objective, n_trials=n_calls, callbacks=[timed])
    ms = np.array(times) * 1e3
    return {
        "first": first,
        "median": float(np.median(ms)),
        "cpu_median": float(np.median(cpu) * 1e3),
        "p95": float(np.percentile(ms, 95)),
        "max": float(ms.max()),
    }


def make_study(storage: str, folder: str, name: str, seed: int) -> optuna.Study:
    url = {
        "memory": None,
        "sqlite": f"sqlite:///{Path(folder) / (name + '.db')}",
        "journal": JournalStorage(JournalFileBackend(str(Path(folder) / (name + ".log")))),
    }[storage]
    return optuna.create_study(
        storage=url, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--trials", type=int, default=60, help="timed calls per size and rule")
    parser.add_argument(
        "--terminator-trials", type=int, default=20,
        help="timed Terminator calls per size (about 1 s each; 0 skips the Terminator)",
    )
    parser.add_argument(
        "--storages", nargs="+", default=["memory", "sqlite"],
        choices=["memory", "sqlite", "journal"],
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("tailstop").setLevel(logging.ERROR)
    rules = {"GainBelow(1e-12)": GainBelow(1e-12), "Patience": Patience(10**9)}
    has_torch = importlib.util.find_spec("torch") is not None
    run_terminator = has_torch and args.terminator_trials > 0

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    # Each contender gets its own study grown from the same seed, so every row at a given
    # size is measured on the same trial history, starting at exactly that many trials.
    rows: dict[tuple[str, int, str], dict] = {}
    terminator_rows: list[tuple[str, int, dict]] = []
    with tempfile.TemporaryDirectory() as folder:
        for storage in args.storages:
            for name, rule in rules.items():
                study = make_study(storage, folder, f"{storage}-{len(rows)}", args.seed)
                rng = np.random.default_rng(args.seed)
                for size in args.sizes:
                    grow(study, size, rng)
                    row = measure(study, rule, args.trials)
                    row["alone"] = optuna_alone(study, 20)
                    rows[storage, size, name] = row
            if run_terminator:
                study = make_study(storage, folder, f"{storage}-terminator", args.seed)
                rng = np.random.default_rng(args.seed)
                for size in args.sizes:
                    grow(study, size, rng)
                    terminator_rows.append(
                        (storage, size, terminator_row(study, args.terminator_trials))
                    )

    header = (
        f"{'storage':7} {'trials':>6} {'rule':17} {'first s':>8} {'median ms':>10} "
        f"{'cpu ms':>7} {'p95 ms':>8} {'max ms':>7} {'monitor':>8} {'adapter':>8} {'adapt p95':>9} "
        f"{'refits':>6} {'optuna/trial':>12}"
    )
    print(header)
    print("-" * len(header))
    for storage in args.storages:
        for size in args.sizes:
            for name in rules:
                row = rows[storage, size, name]
                print(
                    f"{storage:7} {size:6d} {name:17} {row['first']:8.2f} "
                    f"{row['median']:10.2f} {row['cpu_median']:7.2f} {row['p95']:8.1f} "
                    f"{row['max']:7.0f} "
                    f"{row['monitor_median']:8.2f} {row['adapter_median']:8.2f} "
                    f"{row['adapter_p95']:9.2f} {row['refits']:6d} {row['alone']:12.1f}"
                    + (f"  errors={row['errors']}" if row["errors"] else "")
                )
    print()
    print("monitor = time inside Monitor.observe; adapter = the rest of the callback; cpu = "
          "process time of the call (less sensitive to a busy machine).")
    print("optuna/trial = Optuna's own wall time per trial without the callback, for scale.")
    print("max = the slowest call (a refit; the monitor refits every trial up to 50, then every "
          "2% of trials).")
    print("first s = the first call: reads the whole history and fits cold (once per search).")
    if not has_torch:
        print("torch is not installed: Optuna's Terminator was not measured "
              "(it needs torch; ../shared/notes/optuna-and-ray.md measured 0.7-1.5 s per "
              "check at 20-200 trials).")
        return
    if not run_terminator:
        return
    print()
    print(f"Optuna TerminatorCallback(Terminator(RegretBoundEvaluator(), "
          f"StaticErrorEvaluator(1e-12))), {args.terminator_trials} timed calls per size:")
    header = (
        f"{'storage':7} {'trials':>6} {'first s':>8} {'median ms':>10} {'cpu ms':>7} "
        f"{'p95 ms':>8} {'max ms':>7} {'vs GainBelow':>12}"
    )
    print(header)
    print("-" * len(header))
    for storage, size, row in terminator_rows:
        ours = rows.get((storage, size, "GainBelow(1e-12)"))
        ratio = f"{row['median'] / ours['median']:11.0f}x" if ours else ""
        print(
            f"{storage:7} {size:6d} {row['first']:8.2f} {row['median']:10.1f} "
            f"{row['cpu_median']:7.1f} {row['p95']:8.1f} {row['max']:7.0f} {ratio:>12}"
        )
    print("first s = one untimed should_terminate before the timed calls (torch and GP imports "
          "on the first size); cpu can exceed wall time when torch uses both cores.")


if __name__ == "__main__":
    main()

"""Benchmark: a 10,000-trial Optuna study with ``OptunaCallback``: per-trial overhead and memory.

One random-search study (instant objective, ``RandomSampler``; in-memory storage, or any
Optuna storage URL with ``--storage``) runs ``--trials`` trials through ``study.optimize``
with the callback wrapped in a timer.  The callback runs a rule that never fires
(``GainBelow(1e-12)``: the default rule's full cost, the forecast consulted after every trial)
so that every trial is measured; ``--rule default`` uses the default ``GainBelow()`` instead
(the study may then stop early).

The table splits the calls into windows ending at 1k, 5k and 10k trials and gives the median,
95th percentile, maximum and mean time per call (the maximum is a refit: the monitor refits
every trial up to 50, then each time the search has grown by 2%), Optuna's median time per
trial including the callback, the number of refits, the trial count of the latest estimate,
and the process's resident memory at the end of each window.  A baseline without the callback
runs in its own process (RSS is only comparable between fresh processes), so the callback's
share shows; ``--no-baseline`` skips it.  ``--tracemalloc`` also reports the memory held by
objects allocated in tailstop's own files (slow: 2-3x).

Target (issue 6): <= 10 ms median per trial, memory bounded.

    PYTHONPATH=src python examples/benchmarks/bench_long_search.py
    PYTHONPATH=src python examples/benchmarks/bench_long_search.py --trials 2000 \
        --storage sqlite:////tmp/long.db
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import optuna
from tailstop.callbacks import OptunaCallback

from tailstop.rules import GainBelow

MARKS = (1_000, 5_000, 10_000)


def objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    y = trial.suggest_float("y", -1.0, 1.0)
    noise = np.random.default_rng(trial.number).normal(0.0, 0.01)
    return float(-(x * x + 2.0 * y * y) + noise)


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover - not Linux


def tailstop_memory_mb() -> float:
    """MiB held now by objects allocated in tailstop's files (callbacks/ and src/tailstop/)."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, "*tailstop*"), tracemalloc.Filter(True, "*callbacks*")]
    )
    return sum(stat.size for stat in snapshot.statistics("filename")) / 2**20


class Probe:
    """A callback (wrapping tailstop's, or none) that times each call and samples memory."""

    def __init__(self, callback: OptunaCallback | None, marks: list[int], trace: bool):
        self.callback = callback
        self.marks = set(marks)
        self.trace = trace
        self.calls: list[float] = []
        self.trial_ends: list[float] = []  # perf_counter at each call: time per trial
        self.memory: dict[int, dict] = {}

    def __call__(self, study: optuna.Study, trial) -> None:
        start = time.perf_counter()
        if self.callback is not None:
            self.callback(study, trial)
        end = time.perf_counter()
        self.calls.append(end - start)
        self.trial_ends.append(end)
        n = len(self.calls)
        if n in self.marks:
            sample = {"rss": rss_mb()}
            if self.trace:
                sample["traced"] = tailstop_memory_mb()
            if self.callback is not None and self.callback.monitor is not None:
                monitor = self.callback.monitor
                sample["refits"] = len(monitor.history)
                sample["estimate_n"] = monitor.report()["estimate_n_trials"]
            self.memory[n] = sample


def run(args, with_callback: bool) -> Probe:
    gc.collect()
    study = optuna.create_study(
        storage=args.storage,
        study_name=f"long-{time.time_ns()}" if args.storage else None,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=args.seed),
    )
    callback = None
    if with_callback:
        rule = None if args.rule == "default" else GainBelow(1e-12)
        callback = OptunaCallback(rule)
    marks = [m for m in MARKS if m <= args.trials] or [args.trials]
    probe = Probe(callback, marks, args.tracemalloc)
    if args.tracemalloc:
        tracemalloc.start()
    probe.memory[0] = {"rss": rss_mb()}
    if args.storage and args.storage.startswith("sqlite:///"):
        print(f"(SQLite file {args.storage[len('sqlite:///'):]})")
    study.optimize(objective, n_trials=args.trials, callbacks=[probe])
    if args.tracemalloc:
        tracemalloc.stop()
    if callback is not None and callback.n_errors:
        print(f"warning: the callback failed {callback.n_errors} times")
    return probe


def window_rows(probe: Probe) -> list[tuple]:
    rows, start = [], 0
    calls = np.asarray(probe.calls) * 1e3
    per_trial = np.diff(np.r_[probe.trial_ends[0], probe.trial_ends]) * 1e3
    refits_before = 0
    for mark in sorted(m for m in probe.memory if m > 0):
        window = calls[start:mark]
        sample = probe.memory[mark]
        refits = sample.get("refits", 0)
        rows.append(
            (
                f"{start + 1}-{mark}",
                float(np.median(window)),
                float(np.percentile(window, 95)),
                float(window.max()),
                float(window.mean()),
                float(np.median(per_trial[max(start, 1):mark])),
                refits - refits_before,
                sample.get("estimate_n"),
                sample["rss"],
                sample.get("traced"),
            )
        )
        start, refits_before = mark, refits
    return rows


def print_table(title: str, probe: Probe) -> None:
    print(title)
    header = (
        f"{'trials':>12} {'median ms':>9} {'p95 ms':>8} {'max ms':>8} {'mean ms':>8} "
        f"{'trial ms':>8} {'refits':>6} {'fit at':>6} {'RSS MiB':>8} {'tailstop MiB':>12}"
    )
    print(header)
    print("-" * len(header))
    for name, median, p95, top, mean, trial, refits, fit_at, rss, traced in window_rows(probe):
        print(
            f"{name:>12} {median:9.3f} {p95:8.2f} {top:8.1f} {mean:8.2f} {trial:8.2f} "
            f"{refits:6d} {fit_at if fit_at is not None else '-':>6} {rss:8.1f} "
            f"{traced if traced is not None else float('nan'):12.2f}"
        )
    print(f"RSS at start {probe.memory[0]['rss']:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: memory)")
    parser.add_argument("--rule", choices=["never", "default"], default="never")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["callback", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("tailstop").setLevel(logging.ERROR)

    if args.only is None:
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
              f"storage: {args.storage or 'in-memory'}; {args.trials} trials")
        modes = ["callback", "baseline"] if args.baseline else ["callback"]
        for mode in modes:  # each in a fresh process: RSS growth is comparable only so
            sys.stdout.flush()
            subprocess.run([sys.executable, __file__, *sys.argv[1:], "--only", mode], check=True)
        print(f"\nload average at end: {os.getloadavg()[0]:.1f}")
        return
    started = time.perf_counter()
    probe = run(args, with_callback=args.only == "callback")
    elapsed = time.perf_counter() - started
    if args.only == "baseline":
        print_table(f"\nbaseline, no callback: {len(probe.calls)} trials in {elapsed:.1f} s", probe)
        return
    rule = "GainBelow() (default)" if args.rule == "default" else "GainBelow(1e-12), never fires"
    title = f"\nwith OptunaCallback({rule}): {len(probe.calls)} trials in {elapsed:.1f} s"
    print_table(title, probe)
    calls = np.asarray(probe.calls) * 1e3
    print(f"overall: median {np.median(calls):.3f} ms, p95 {np.percentile(calls, 95):.2f} ms, "
          f"max {calls.max():.0f} ms, total in the callback {calls.sum() / 1e3:.1f} s")


if __name__ == "__main__":
    main()

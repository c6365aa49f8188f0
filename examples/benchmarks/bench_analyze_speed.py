"""Benchmark: how long ``analyze`` takes, cold and as an update after one more trial.

For each search (synthetic problems from ``tailstop.synthetic`` at n trials, and the real searches
in ``../shared/data/scores`` when present), times a cold ``analyze`` (threshold choice, fits,
profile intervals) and then ``--updates`` updates, each after one more trial, that reuse the
previous estimate (``previous=``). Prints the median and 90th percentile per kind of search.

Run from the repository root::

    PYTHONPATH=src python examples/benchmarks/bench_analyze_speed.py --n 1000

``--cpu`` times CPU (``time.process_time``) instead of wall time: steadier on a shared machine.
To compare two revisions, run the same command on each checkout one after the other.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

from tailstop.estimate import analyze
from tailstop.synthetic import random_problems

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"


CLOCK = time.perf_counter


def time_search(scores: np.ndarray, n: int, direction: str, updates: int, bounds=None):
    start = CLOCK()
    estimate = analyze(scores[:n], direction, bounds=bounds)
    cold = CLOCK() - start
    warm = []
    for m in range(n + 1, min(n + updates, scores.size) + 1):
        start = CLOCK()
        estimate = analyze(scores[:m], direction, bounds=bounds, previous=estimate)
        warm.append(CLOCK() - start)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--cpu", action="store_true", help="time CPU, not wall clock")
    args = parser.parse_args()
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    warnings.simplefilter("ignore")
    rows = []
    colds, warms = [], []
    for i, problem in enumerate(random_problems(args.problems, generator=1)):
        scores = problem.run_search(args.n + args.updates, generator=np.random.default_rng(i))
        cold, warm = time_search(scores, args.n, problem.direction, args.updates)
        colds.append(cold)
        warms += warm
    rows.append((f"synthetic ({args.problems} problems)", args.n, colds, warms))
    for path in sorted(SCORES.glob("*.csv")):
        with path.open() as fh:
            scores = np.array([float(r["score"]) for r in csv.DictReader(fh)])
        n = min(args.n, scores.size - args.updates)
        scores = np.random.default_rng(0).permutation(scores)
        cold, warm = time_search(scores, n, "maximize", args.updates, bounds=(0.0, 1.0))
        rows.append((path.stem, n, [cold], warm))
    clock = "CPU" if args.cpu else "wall"
    print(f"analyze() {clock} time in ms; updates add one trial and pass previous= "
          f"({args.updates} each)")
    print(f"{'search':<26} {'n':>5} {'cold median':>12} {'update median':>14} {'update p90':>11}")
    for name, n, cold, warm in rows:
        print(f"{name:<26} {n:>5} {1e3 * np.median(cold):>12.0f} {1e3 * np.median(warm):>14.0f} "
              f"{1e3 * np.percentile(warm, 90):>11.0f}")


if __name__ == "__main__":
    main()

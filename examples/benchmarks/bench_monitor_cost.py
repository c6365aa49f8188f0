"""Benchmark: what a live ``Monitor`` costs over a whole search, refit by refit.

The per-call overhead benchmark (``bench_callback_overhead.py``) reports the median call,
which refits nothing on most trials. This one adds up every refit a monitor makes while a
search runs from its first trial to its last, with a rule that never stops
(``GainBelow(1e-12)``, so every search runs to its end): the CPU seconds in all, the number of
refits, the median and 90th percentile of one, the share spent in the refits that choose the
tail afresh (every 10% of growth) and the overhead on a search whose trials take 1 s or 10 s
each (refit seconds over trial seconds, one worker). Each search runs with the default
throttling (``refit_growth=0.02``: a refit per 2% of growth from 50 trials on) and with
``--growth`` (default 0.1).

Searches: ``--problems`` synthetic ones (from ``tailstop.synthetic.random_problems``: the
effective dimension r = 1, 2, 3, 4 in turn, the noise and the direction varying) at each of
``--ns`` trials, and the four shared searches in a random order, all their trials (when
``../shared/data/scores`` is present).

    PYTHONPATH=src python examples/benchmarks/bench_monitor_cost.py [--problems 3] [--ns 300 1000]
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

import tailstop.monitor as monitor_module
from tailstop.monitor import Monitor
from tailstop.rules import GainBelow
from tailstop.synthetic import random_problems

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"


def run_search(scores, direction: str, growth: float, bounds=None) -> dict:
    """Feed ``scores`` to a monitor one by one; time every refit (CPU seconds)."""
    refits: list[tuple[float, bool]] = []
    analyze = monitor_module.analyze

    def timed(*args, **kwargs):
        start = time.process_time()
        estimate = analyze(*args, **kwargs)
        fresh = estimate._state.selected_at == estimate._clean.values.size
        refits.append((time.process_time() - start, fresh))
        return estimate

    monitor_module.analyze = timed
    try:
        monitor = Monitor(direction, GainBelow(1e-12), bounds=bounds, refit_growth=growth)
        for score in scores:
            monitor.observe(float(score))
    finally:
        monitor_module.analyze = analyze
    seconds = np.array([s for s, _ in refits])
    fresh = np.array([f for _, f in refits], dtype=bool)
    return {
        "total": float(seconds.sum()),
        "refits": len(seconds),
        "median": float(np.median(seconds)),
        "p90": float(np.quantile(seconds, 0.9)),
        "fresh": float(seconds[fresh].sum() / seconds.sum()),
        "n": len(scores),
    }


def row(label: str, growth: float, result: dict) -> str:
    per_trial = result["total"] / result["n"]
    return (f"{label:28s} {result['n']:>5d} {growth:>6.2f} {result['refits']:>6d} "
            f"{result['total']:>8.1f} {result['median'] * 1e3:>8.0f} {result['p90'] * 1e3:>7.0f} "
            f"{result['fresh']:>6.0%} {per_trial / 1.0:>8.1%} {per_trial / 10.0:>8.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=4)
    parser.add_argument("--ns", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--growth", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-real", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'search':28s} {'n':>5s} {'growth':>6s} {'refits':>6s} {'CPU s':>8s} "
          f"{'med ms':>8s} {'p90 ms':>7s} {'fresh':>6s} {'1 s/tr':>8s} {'10 s/tr':>8s}")
    growths = (0.02, args.growth)
    pool = random_problems(24, generator=args.seed)  # r = 1..4, six of each, in order
    chosen = [pool[(6 * i + i % 6) % 24] for i in range(args.problems)]  # r, noise, direction vary
    for problem_index, problem in enumerate(chosen):
        for n in args.ns:
            scores = problem.run_search(n, generator=args.seed + 100 + problem_index)
            label = (f"synthetic r={problem.effective_dimension} noise "
                     f"{problem.noise / problem.scale:g}")
            for growth in growths:
                print(row(label, growth, run_search(scores, problem.direction, growth)),
                      flush=True)
    if args.no_real or not SCORES.is_dir():
        return
    rng = np.random.default_rng(args.seed)
    for path in sorted(SCORES.glob("*.csv")):
        with path.open() as fh:
            scores = np.array([float(r["score"]) for r in csv.DictReader(fh)])
        order = rng.permutation(scores)
        for growth in growths:
            print(row(path.stem, growth, run_search(order, "maximize", growth, (0, 1))),
                  flush=True)


if __name__ == "__main__":
    main()

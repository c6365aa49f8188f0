"""Benchmark: replays of ``NearOptimum(epsilon)``, the rule that reads the best-possible interval.

Replays each shared search (``../shared/data/scores``, maximise, bounds (0, 1)) in ``--orders``
random orders with the budget known, under ``NearOptimum(epsilon)``, and prints the replay's
table (mean trials, success: final regret against the best of all the trials at most epsilon,
mean regret, against the oracle's first trial within epsilon).

Run from the repository root (about 5 minutes for 20 orders)::

    PYTHONPATH=src python examples/benchmarks/bench_near_optimum.py --orders 20
"""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path

import numpy as np

from tailstop.replay import replay
from tailstop.rules import NearOptimum

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--epsilon", type=float, default=0.005)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    paths = sorted(SCORES.glob("*.csv"))
    if not paths:
        raise SystemExit(f"no scores in {SCORES}")
    for path in paths:
        with path.open() as fh:
            scores = np.array([float(row["score"]) for row in csv.DictReader(fh)])
        rule = NearOptimum(args.epsilon)
        result = replay(scores, "maximize", {f"NearOptimum({args.epsilon:g})": rule},
                        epsilon=args.epsilon, orders=args.orders,
                        monitor_options={"bounds": (0.0, 1.0)})
        print(result.table(title=path.stem), flush=True)


if __name__ == "__main__":
    main()

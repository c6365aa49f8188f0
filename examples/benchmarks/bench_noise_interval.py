"""Benchmark: coverage of ``TailEstimate.noise_interval``, the seed noise's profile interval.

Two kinds of searches, at each n and confidence 0.9:

* ``law``: draws from the noisy quadratic itself, ``NQ(0, 1, c, o)`` with c in {1, 2, 4} and
  o in {0.01, 0.03, 0.1} (maximise), where ``o`` is the truth the interval is about;
* ``synthetic``: ``tailstop.synthetic`` problems (r in {1..4}, noise / range in {0.01, 0.05},
  both directions), whose score is quadratic only near the optimum: the fitted ``o`` also
  absorbs the surface's departure from the law, so the seed noise is not exactly what it
  estimates; and noise 0 problems, where the question is how often the low end reaches 0.

Per row: the two-sided coverage of the true seed noise, how often the low end is at or below it
(what ``GainBelow()``'s default epsilon relies on: an epsilon above the true noise stops on a
gain that is real), the median of the point estimate and of the low end over the truth, and
the share of low ends at 0.

Run from the repository root (a few minutes)::

    PYTHONPATH=src python examples/benchmarks/bench_noise_interval.py --ns 30 100 300 1000
"""

from __future__ import annotations

import argparse
import itertools
import warnings

import numpy as np

from tailstop import NoisyQuadraticDistribution, analyze
from tailstop.errors import TailstopError
from tailstop.synthetic import random_problems


def law_searches(n: int, count: int, seed: int):
    combos = list(itertools.product((1, 2, 4), (0.01, 0.03, 0.1)))
    for i in range(count):
        c, o = combos[i % len(combos)]
        rng = np.random.default_rng([seed, n, i])
        yield NoisyQuadraticDistribution(0.0, 1.0, c, o).sample(n, generator=rng), "maximize", o


def synthetic_searches(n: int, count: int, seed: int, ratios):
    for i, problem in enumerate(random_problems(count, noise_ratios=ratios, generator=seed)):
        rng = np.random.default_rng([seed, n, i])
        yield problem.run_search(n, generator=rng), problem.direction, problem.noise


def measure(searches, confidence: float) -> tuple:
    covered, low_below, point, low_ratio, zero, errors = [], [], [], [], [], 0
    for scores, direction, truth in searches:
        try:
            noise, low, high = analyze(scores, direction, confidence=confidence).noise_interval
        except TailstopError:
            errors += 1
            continue
        covered.append(low <= truth <= high)
        low_below.append(low <= truth)
        zero.append(low == 0.0)
        if truth > 0:
            point.append(noise / truth)
            low_ratio.append(low / truth)
    def med(values: list) -> float:
        return float(np.median(values)) if values else float("nan")

    return (np.mean(covered), np.mean(low_below), med(point), med(low_ratio), np.mean(zero),
            errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ns", type=int, nargs="+", default=[30, 100, 300, 1000])
    parser.add_argument("--count", type=int, default=90, help="searches per row")
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"noise_interval at confidence {args.confidence}, {args.count} searches per row")
    print(f"{'searches':<22} {'n':>5} {'coverage':>9} {'low<=true':>10} {'est/true':>9} "
          f"{'low/true':>9} {'low = 0':>8} {'errors':>7}")
    kinds = {
        "law": lambda n: law_searches(n, args.count, args.seed),
        "synthetic, noise > 0": lambda n: synthetic_searches(n, args.count, args.seed,
                                                             (0.01, 0.05)),
        "synthetic, noise 0": lambda n: synthetic_searches(n, args.count, args.seed, (0.0,)),
    }
    for name, searches in kinds.items():
        for n in args.ns:
            cov, below, point, low, zero, errors = measure(searches(n), args.confidence)
            print(f"{name:<22} {n:>5} {cov:>9.3f} {below:>10.3f} {point:>9.2f} {low:>9.2f} "
                  f"{zero:>8.2f} {errors:>7d}", flush=True)


if __name__ == "__main__":
    main()

"""Check: is analyze()'s estimate the optimum of its tail's spacing objective?

Every constrained fit the profiles make (ends of ``b`` and ``o``, other ``c``, noiseless and
least-gain fits) is a law of the same tail; one with a *negative* deviance fits better than
the estimate, which then is not the global optimum (and the intervals, measured from it, are
off). For synthetic problems (``tailstop.synthetic.random_problems``) at several n, reports the
share of cold ``analyze`` calls where some profile fit beats the estimate by more than 0.05,
0.5 and 2 deviance units, the worst, and the best-possible coverage among those calls.

Run from the repository root (about 10 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_estimate_optimum.py --problems 48
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import tailstop._profile as profile_module
from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.synthetic import random_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=48)
    parser.add_argument("--ns", type=int, nargs="+", default=[30, 100, 300, 1000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    least = [0.0]
    original = profile_module.Profile.fit

    def recorded(self, constraints, warm=None, *, screen=True):
        dist, deviance = original(self, constraints, warm, screen=screen)
        least[0] = min(least[0], deviance)
        return dist, deviance

    profile_module.Profile.fit = recorded
    problems = random_problems(args.problems, generator=args.seed)
    print(f"{args.problems} synthetic problems (seed {args.seed}): profile fits better than the "
          "estimate, by more than")
    print(f"{'n':>6} {'0.05':>7} {'0.5':>7} {'2':>7} {'worst':>8} {'best cov there':>15}")
    for n in args.ns:
        lows, covered = [], []
        for i, problem in enumerate(problems):
            scores = problem.run_search(n, generator=np.random.default_rng([args.seed, n, i]))
            least[0] = 0.0
            try:
                estimate = analyze(scores, problem.direction)
            except TailstopError:
                continue
            bp = estimate.best_possible
            lows.append(least[0])
            covered.append(bp.low <= problem.best <= bp.high)
        lows, covered = np.array(lows), np.array(covered)
        there = covered[lows < -0.05]
        print(f"{n:>6} {np.mean(lows < -0.05):>7.3f} {np.mean(lows < -0.5):>7.3f} "
              f"{np.mean(lows < -2):>7.3f} {lows.min():>8.2f} "
              f"{(f'{there.mean():.2f} of {there.size}' if there.size else '-'):>15}")


if __name__ == "__main__":
    main()

"""Check: does the fit find the global optimum of the spacing objective on law draws?

For draws of noisy quadratic laws (three shapes x three noise levels x n, uncensored and
censored at the median), compares ``fit_parameters`` with an exhaustive search: a local
descent on the full objective from *every* screening candidate (every c allowed, every noise
ratio of the screening grid, every plotting position), with no screening, pruning or coarse
stage. Prints, per case, how often the fit's loss is above the exhaustive search's by more
than 0.01 in deviance units (``2 (n + 1) dL``) and the largest such gap.

Run from the repository root (about 10 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_global_fit.py --seeds 6

To compare two revisions, run the same command on each checkout.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from tailstop import NoisyQuadraticDistribution
from tailstop._fitproblem import _coordinates, _setup
from tailstop._globalsearch import _Batch, _start_candidates
from tailstop.fitting import fit_parameters

GAP = 0.01  # deviance units: a smaller gap is within the fit's tolerance


def exhaustive_loss(ys, limits, constraints) -> float:
    """The least loss of a full-objective descent from every screening candidate."""
    problem = _setup(ys, limits, constraints, True)
    coords = _coordinates(problem)
    best = np.inf
    for convex in problem.convexs:
        cd = coords[convex]
        a, b, o, c, _ = _start_candidates(problem, convex)
        X = cd.from_params(a, b, o)
        starts = [(convex, int(c[i]), X[i]) for i in range(a.size)]
        batch = _Batch(coords, {cv: problem.objective for cv in coords}, starts, True)
        batch.run(max_iter=60)
        for _, cv, c_, x, _ in batch.results():
            a_, b_, o_, _ = cd.to_params(x[None])
            best = min(best, float(problem.objective.loss(a_[0], b_[0], c_, o_[0], cv)[0]))
    return best


def check(convex: bool, c: int, o: float, n: int, censored: bool, seeds: int):
    """Deviance gaps of the fit against the exhaustive search, and the fit's CPU times."""
    gaps, times = [], []
    law = NoisyQuadraticDistribution(0.0, 1.0, c, o, convex=convex)
    constraints = {"convex": convex, "c": (1, 6)}
    for seed in range(seeds):
        ys = law.sample(n, generator=np.random.default_rng(100 + seed))
        median = float(np.median(ys))
        limits = (-np.inf, np.inf)
        if censored:
            limits = (-np.inf, median) if convex else (median, np.inf)
        start = time.process_time()
        fit = fit_parameters(ys, limits, constraints)
        times.append(time.process_time() - start)
        gaps.append(2 * (n + 1) * (fit.loss - exhaustive_loss(ys, limits, constraints)))
    return np.array(gaps), np.array(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"fit_parameters against an exhaustive multi-start search; miss = gap > {GAP} in "
          f"deviance; {args.seeds} draws per row")
    print(f"{'law':<26} {'n':>5} {'censored':>9} {'misses':>7} {'worst gap':>10} {'fit ms':>7}")
    total = missed = 0
    for convex, c in ((False, 2), (True, 1), (False, 4)):
        for o in (0.003, 0.01, 0.03):
            for n in args.ns:
                for censored in (False, True):
                    gaps, times = check(convex, c, o, n, censored, args.seeds)
                    misses = int(np.sum(gaps > GAP))
                    total, missed = total + gaps.size, missed + misses
                    name = f"NQ(0, 1, {c}, {o}) {'convex' if convex else 'concave'}"
                    print(f"{name:<26} {n:>5} {censored!s:>9} {misses:>7} "
                          f"{max(gaps.max(), 0.0):>10.3f} {1e3 * np.median(times):>7.1f}",
                          flush=True)
    print(f"misses: {missed} of {total}")


if __name__ == "__main__":
    main()

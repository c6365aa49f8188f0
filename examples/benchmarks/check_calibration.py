"""Check: is the chi-square calibration of the profile deviance of ``b`` right on the law itself?

The chosen tail's own best-possible interval is ``{b : D(b) <= chi2_1(confidence)}``, with ``D``
the profile deviance ``2 (n + 1) (L(b) - L^)`` of the censored spacing loss (``c`` free in
1..10). ``b`` ends the support, a non-regular parameter, so Wilks' theorem does not promise a
chi-square. This draws ``n = k / mass`` points from ``NQ(0, 1, c, o)`` itself, censors all but
the ``k`` best below the ``(k + 1)``-th (as ``analyze`` censors a search below its threshold, but
with the law exact and the threshold fixed: no misspecification, no threshold choice), fits as
``analyze`` fits a tail, refits with ``b`` at its true value 1, and reports per cell how often
``D`` exceeds the chi-square point (the interval's miss rate, nominal ``1 - confidence``), the
``confidence`` quantile of ``D`` and the fitted c's median.

Run from the repository root (about 15 minutes per core with the defaults; ``--cs`` splits the
work between processes)::

    PYTHONPATH=src python examples/benchmarks/check_calibration.py --reps 200
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import stats

from tailstop.errors import TailstopError
from tailstop.fitting import fit_parameters
from tailstop.regime import tail_constraints


def deviances(c: int, k: int, o: float, reps: int, mass: float):
    """Profile deviances of ``b`` at the truth and fitted c over ``reps`` censored samples."""
    rng = np.random.default_rng([c, k, round(o * 1e6), 9])
    n = max(round(k / mass), k + 1)
    constraints = tail_constraints(10)
    found, fitted_c = [], []
    for _ in range(reps):
        ys = 1.0 - rng.random(n) ** (2.0 / c)
        if o > 0:
            ys = ys + rng.normal(0.0, o, size=n)
        limits = (float(np.sort(ys)[n - k - 1]), np.inf)
        try:
            free = fit_parameters(ys, limits, constraints)
            at_truth = fit_parameters(ys, limits, {**constraints, "b": 1.0})
        except TailstopError:
            continue
        found.append(2 * (n + 1) * (at_truth.loss - free.loss))
        fitted_c.append(free.c)
    return np.array(found), np.array(fitted_c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--cs", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--ks", type=int, nargs="+", default=[30, 100, 300],
                        help="tail sizes (uncensored points)")
    parser.add_argument("--noises", type=float, nargs="+", default=[0.0, 0.01, 0.1])
    parser.add_argument("--mass", type=float, default=0.3, help="the tail's share of the sample")
    parser.add_argument("--confidence", type=float, default=0.9)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    critical = stats.chi2.ppf(args.confidence, 1)
    print(f"profile deviance of b at the truth; {args.reps} samples per cell, tail share "
          f"{args.mass:g}; chi2_1 {args.confidence:g} point {critical:.2f}")
    print(f"{'c':>3} {'k':>5} {'o':>6}  {'P(D > crit)':>11}  {'quantile':>8}  {'median c^':>9}  "
          f"{'s':>4}")
    for c in args.cs:
        for k in args.ks:
            for o in args.noises:
                start = time.perf_counter()
                d, fitted_c = deviances(c, k, o, args.reps, args.mass)
                print(f"{c:>3} {k:>5} {o:>6g}  {np.mean(d > critical):>11.3f}  "
                      f"{np.quantile(d, args.confidence):>8.2f}  {np.median(fitted_c):>9g}  "
                      f"{time.perf_counter() - start:>4.0f}", flush=True)


if __name__ == "__main__":
    main()

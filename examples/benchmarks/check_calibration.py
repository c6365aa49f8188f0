"""Check: is the chi-square calibration of the profile deviance of ``b`` right on the law itself?

The best-possible interval is ``{b : D(b) <= chi2_1(confidence)}``, with ``D`` the profile
deviance ``2 (n + 1) (L(b) - L^)`` of the spacing loss (``c`` free in 1..10). ``b`` is an end of
the support, a non-regular parameter, so Wilks' theorem does not promise a chi-square. This draws
``--reps`` samples of ``n`` points from ``NQ(0, 1, c, o)`` (concave, the whole sample as the
tail: no threshold to choose), fits, refits with ``b`` fixed at its true value 1, and reports how
often ``D`` exceeds the 90% chi-square point (nominal 0.10: the interval's miss rate) and the
90% quantile of ``D`` (nominal 2.71).

Run from the repository root (about 5 minutes with the defaults)::

    PYTHONPATH=src python examples/benchmarks/check_calibration.py --reps 120
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy import stats

from tailstop import NoisyQuadraticDistribution
from tailstop.errors import TailstopError
from tailstop.fitting import fit_parameters


def deviances(n: int, c: int, o: float, reps: int) -> np.ndarray:
    law = NoisyQuadraticDistribution(0.0, 1.0, c, o)
    constraints = {"c": (1, 10), "convex": False}
    out = []
    for rep in range(reps):
        ys = law.sample(n, generator=np.random.default_rng([n, c, round(o * 1e4), rep]))
        try:
            free = fit_parameters(ys, (-np.inf, np.inf), constraints)
            at_truth = fit_parameters(ys, (-np.inf, np.inf), {**constraints, "b": 1.0})
        except TailstopError:
            continue
        out.append(2 * (n + 1) * (at_truth.loss - free.loss))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=120)
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--cs", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--noises", type=float, nargs="+", default=[0.0, 0.01, 0.05])
    parser.add_argument("--confidence", type=float, default=0.9)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    critical = stats.chi2.ppf(args.confidence, 1)
    print(f"profile deviance of b at the truth, {args.reps} samples per cell; "
          f"chi2_1 {args.confidence:g} point {critical:.2f}")
    print(f"{'n':>5} {'c':>3} {'o':>6}  {'P(D > crit)':>11}  {'q90 of D':>8}  {'median D':>8}")
    for n in args.ns:
        for c in args.cs:
            for o in args.noises:
                d = deviances(n, c, o, args.reps)
                print(f"{n:>5} {c:>3} {o:>6g}  {np.mean(d > critical):>11.3f}  "
                      f"{np.quantile(d, args.confidence):>8.2f}  {np.median(d):>8.2f}",
                      flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: the expected-gain interval on draws from the noisy quadratic law itself.

``bench_analyze.py`` checks analyze() on synthetic searches that are *not* draws from the law
(their tails only approach it). Here the model is exactly right: ``n`` draws from
``NQ(0, 1, c, o)`` (``Q(0, 1, c)`` when ``o = 0``), maximised, for c in {1, 2, 4} and o in
{0, 0.01, 0.05}. The truth is the expected gain of ``k = n`` more draws under the true law given
the observed best, ``tailstop.forecast.expected_gain(true law, best, k)``, the quantity
``TailEstimate.expected_gain(k)`` estimates. Per cell: the median true and estimated gain, the
median log ratio estimate / truth, how often the truth lies below the interval's lower end and
above its upper end, the fitted c (counts of 1..5) and the median fitted noise.

Run from the repository root (about 2 minutes at the defaults)::

    PYTHONPATH=src python examples/benchmarks/bench_gain_law.py [--n 100] [--reps 20]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from tailstop import forecast
from tailstop.distributions import NoisyQuadraticDistribution, QuadraticDistribution
from tailstop.estimate import analyze


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--reps", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n = args.n
    print(f"analyze() on {args.reps} samples of n = {n} draws per law; gain over k = {n} more")
    print(f"{'c':>2} {'o':>5} {'true gain':>10} {'estimate':>9} {'log ratio':>9} "
          f"{'below lo':>8} {'above hi':>8}  {'fitted c 1..5':<18} {'fitted o':>8}")
    for c in (1, 2, 4):
        for o in (0.0, 0.01, 0.05):
            if o:
                law = NoisyQuadraticDistribution(0.0, 1.0, c, o)
            else:
                law = QuadraticDistribution(0.0, 1.0, c)
            rows = []
            for rep in range(args.reps):
                ys = law.sample(n, generator=np.random.default_rng([c, round(o * 1000), rep]))
                est = analyze(ys, "maximize")
                truth = float(forecast.expected_gain(law, ys.max(), n))
                gain = est.expected_gain(n)
                rows.append((truth, gain.estimate, gain.low, gain.high,
                             est.effective_dimension.estimate, est.noise))
            r = np.array(rows, dtype=float)
            counts = np.bincount(r[:, 4].astype(int), minlength=11)[1:6]
            with np.errstate(divide="ignore", invalid="ignore"):
                log_ratio = np.median(np.log(r[:, 1] / r[:, 0]))
            print(f"{c:>2} {o:>5.2f} {np.median(r[:, 0]):>10.4f} {np.median(r[:, 1]):>9.4f} "
                  f"{log_ratio:>+9.2f} {np.mean(r[:, 0] < r[:, 2]):>8.2f} "
                  f"{np.mean(r[:, 0] > r[:, 3]):>8.2f}  {counts.tolist()!s:<18} "
                  f"{np.median(r[:, 5]):>8.4f}")


if __name__ == "__main__":
    main()

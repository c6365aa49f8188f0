"""Speed and accuracy of tailstop's (noisy) quadratic distributions, side by side with opda.

Run:  PYTHONPATH=src python examples/benchmarks/bench_distributions.py   (about a minute)

Prints
1. for c = 1..10 and o / (b - a) in {1e-3, 1e-2, 1e-1}: the time of ``cdf`` and ``pdf`` on
   1e5 points spread over [a - 5o, b + 5o] and of ``ppf`` on 1e4 levels in [0, 1] (opda's
   ppf, 30 bisection steps, is too slow for 1e5 in a short run), tailstop and opda 0.8.0
   timed in alternation, four rounds of three calls of tailstop's and one of opda's, the
   best of each (the machine is shared, so the ratios are what matter; a burst of load then
   falls on both), and tailstop's first ``cdf`` call on a
   fresh instance, which builds its tables (the first instance of the process also builds
   the universal tables, ~50 ms);
2. the largest errors against an mpmath reference (CDF absolute, PDF relative) over a grid
   of c, noise ratios from 1e-8 to 1e3 and points at and beyond the ends of the support;
3. the cost per point of the batched kernel ``_moments.std_cdf`` / ``std_sf`` / ``std_pdf``
   on (K, n) = (100, 1000) arrays with one noise ratio per row, as the fit calls it.
"""

from __future__ import annotations

import functools
import sys
import time
import timeit
from pathlib import Path

import numpy as np

from tailstop import _moments
from tailstop.distributions import NoisyQuadraticDistribution

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from mpmath_reference import reference

try:
    from opda.parametric import NoisyQuadraticDistribution as OpdaNoisyQuadratic
except ImportError:  # pragma: no cover - opda is a dev dependency
    OpdaNoisyQuadratic = None


def best(function, repeat: int) -> float:
    """Best wall time of ``repeat`` calls, in milliseconds."""
    return 1e3 * min(timeit.repeat(function, number=1, repeat=repeat))


def interleaved(mine, other, rounds: int = 4, mine_per_round: int = 3) -> tuple[float, float]:
    """Best wall times (ms) of two functions timed in alternation, ``rounds`` times each
    (the first ``mine_per_round`` times per round): a burst of load on the shared machine
    then falls on both rather than on whichever ran during it."""
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(best(mine, mine_per_round))
        theirs.append(best(other, 1))
    return min(ours), min(theirs)


# ----------------------------------------------------------------------------------------
# 1. speed


def speed_table() -> None:
    print("1. time per call, ms (tailstop / opda = speed-up); concave, a = 0, b = 1")
    print(f"{'c':>2} {'o/(b-a)':>7} | {'cdf 1e5':>22} | {'pdf 1e5':>22} | {'ppf 1e4':>22}"
          f" | first cdf")
    worst = {"cdf": np.inf, "pdf": np.inf, "ppf": np.inf}
    targets = {"cdf": 5.0, "pdf": 5.0, "ppf": 20.0}  # issue 2's speed-ups
    below = {name: [] for name in targets}
    for c in range(1, 11):
        for ratio in (1e-3, 1e-2, 1e-1):
            ys = np.linspace(-5 * ratio, 1 + 5 * ratio, 100_000)
            qs = np.linspace(0.0, 1.0, 10_000)
            start = time.perf_counter()
            ours = NoisyQuadraticDistribution(0.0, 1.0, c, ratio)
            ours.cdf(ys)
            first = 1e3 * (time.perf_counter() - start)
            ours.pdf(ys)
            ours.ppf(qs)
            theirs = OpdaNoisyQuadratic(0.0, 1.0, c, ratio)
            cells = []
            for name, points in (("cdf", ys), ("pdf", ys), ("ppf", qs)):
                mine, other = interleaved(
                    functools.partial(getattr(ours, name), points),
                    functools.partial(getattr(theirs, name), points),
                )
                worst[name] = min(worst[name], other / mine)
                if other / mine < targets[name]:
                    below[name].append(f"c={c} o={ratio:g} {other / mine:.1f}x")
                cells.append(f"{mine:6.2f} / {other:6.1f} = {other / mine:5.1f}x")
            print(f"{c:>2} {ratio:>7g} | " + " | ".join(cells) + f" | {first:6.1f}")
    print("   smallest speed-ups: " + ", ".join(f"{k} {v:.1f}x" for k, v in worst.items()))
    for name, cells in below.items():
        listed = ": " + ", ".join(cells) if cells else ""
        print(f"   {name} below {targets[name]:g}x in {len(cells)} of 30 cells{listed}")


# ----------------------------------------------------------------------------------------
# 2. accuracy


def accuracy_table() -> None:
    print("\n2. largest errors against mpmath (c = 1..10; points -3s, -s, 1e-6, 0.01, 0.3, 0.7,"
          " 1 - 1e-6, 1 + s, 1 + 3s)")
    print(f"{'o/(b-a)':>8} | {'tailstop cdf abs':>16} {'pdf rel':>9} | {'(large arrays)':>14}"
          f" {'pdf rel':>9} | {'opda cdf abs':>12} {'pdf rel':>9}")
    for s in (1e-8, 1e-6, 1e-4, 1e-2, 1e-1, 1.0, 10.0, 1e3):
        points = np.array([-3 * s, -s, 1e-6, 0.01, 0.3, 0.7, 1 - 1e-6, 1 + s, 1 + 3 * s])
        errors = np.zeros(6)
        for c in range(1, 11):
            exact = np.array([reference(float(m), s, c) for m in points])
            for convex in (True, False):
                ys = points if convex else 1.0 - points
                cdf_true = exact[:, 0] if convex else exact[:, 1]
                ours = NoisyQuadraticDistribution(0.0, 1.0, c, s, convex)
                big = np.tile(ys, 1000)  # large arrays take the tabulated fast path
                theirs = OpdaNoisyQuadratic(0.0, 1.0, c, s, convex)
                for i, (cdf, pdf) in enumerate(((ours.cdf(ys), ours.pdf(ys)),
                                                (ours.cdf(big)[:9], ours.pdf(big)[:9]),
                                                (theirs.cdf(ys), theirs.pdf(ys)))):
                    errors[2 * i] = max(errors[2 * i], np.max(np.abs(cdf - cdf_true)))
                    errors[2 * i + 1] = max(errors[2 * i + 1],
                                            np.max(np.abs(pdf / exact[:, 2] - 1.0)))
        print(f"{s:>8g} | {errors[0]:16.1e} {errors[1]:9.1e} | {errors[2]:14.1e}"
              f" {errors[3]:9.1e} | {errors[4]:12.1e} {errors[5]:9.1e}")


# ----------------------------------------------------------------------------------------
# 3. the batched kernel


def kernel_table() -> None:
    print("\n3. batched kernel, ns per point, (K, n) = (100, 1000), s log-uniform in the range,"
          " m in [-0.05, 1.05] (median of 3)")
    rng = np.random.default_rng(0)
    m = np.sort(rng.uniform(-0.05, 1.05, (100, 1000)), axis=1)
    for lo, hi in ((1e-3, 1e-2), (1e-2, 0.1), (1e-6, 1.0)):
        s = np.exp(rng.uniform(np.log(lo), np.log(hi), (100, 1)))
        cells = []
        for c in (1, 2, 5):
            for name, function in (("cdf", _moments.std_cdf), ("sf", _moments.std_sf),
                                   ("pdf", _moments.std_pdf)):
                function(m, c, s)
                times = timeit.repeat(functools.partial(function, m, c, s), number=1, repeat=3)
                cells.append(f"c={c} {name} {1e9 * np.median(times) / m.size:4.0f}")
        print(f"   s in [{lo:g}, {hi:g}]: " + ", ".join(cells))


if __name__ == "__main__":
    if OpdaNoisyQuadratic is None:
        raise SystemExit("opda is needed for the side-by-side comparison (pip install opda)")
    start = time.perf_counter()
    speed_table()
    accuracy_table()
    kernel_table()
    print(f"\n(total {time.perf_counter() - start:.0f} s)")

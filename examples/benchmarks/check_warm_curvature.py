"""Check: a warm refit whose first two Newton steps take mixed curvature from the previous fit.

A fit keeps the Hessian of its last Newton step (``FitResult.curvature``). A warm refit (the
fit of a live search after one more trial, started from the fit before it) takes the mixed
terms of its first two steps' Hessians from that one and measures only the diagonal: a
stencil of 1 + 2d points instead of 1 + 2d + d(d - 1), 7 instead of 13 loss evaluations per
start at d = 3. Its later steps (from the third on) measure the full Hessian again. This
script makes each warm refit of ``bench_fit.py``'s cases both ways, interleaved (the
machine's drift hits both alike), and prints per case the median time of each, their ratio,
the loss evaluations the refit spent, and the loss difference (with - without; negative is
better). A second table follows live searches: ``--chain`` successive warm refits, each from
the one before (whose Hessian is then measured at its result), both ways, the two chains
interleaved step by step (each refit timed three times, the median kept).

Run from the repository root (about 3 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_warm_curvature.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_fit import REAL, SCORES, real_case, synthetic_case

import tailstop._localsearch as localsearch
from tailstop import _spacing
from tailstop._fitproblem import _objectives
from tailstop.fitting import fit_parameters

AGES = {"with": localsearch._CURVATURE_AGE, "without": 0}  # 0: no previous curvature used


class _Counter:
    """Counts the points at which the fit evaluates the model CDF."""

    def __init__(self):
        self.points = 0
        self._cdf = _spacing._moments.std_cdf

    def __call__(self, m, c, s):
        out = self._cdf(m, c, s)
        self.points += np.size(out)
        return out


def _refit(ys, limits, constraints, previous, mode: str, counter: _Counter):
    localsearch._CURVATURE_AGE = AGES[mode]
    _objectives.cache_clear()  # a live search's refit meets new data: nothing is cached
    counter.points = 0
    start = time.perf_counter()
    result = fit_parameters(ys, limits, constraints, warm_start=previous)
    return result, time.perf_counter() - start, counter.points


def cases():
    for truth in ("A", "B"):
        for n in (48, 256, 1024):
            for censored in (False, True):
                label = f"{truth} n={n:<5d} {'censored' if censored else 'full'}"
                yield label, synthetic_case(truth, n, censored, 0)
    if SCORES.exists():
        for name, threshold, c_max, error in REAL:
            yield f"{name}{' (error)' if error else ''}", real_case(name, threshold, c_max, error)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--chain", type=int, default=20)
    args = parser.parse_args()
    counter = _Counter()
    _spacing._moments.std_cdf = counter
    print(f"{'case':28s} {'with':>8s} {'without':>8s} {'ratio':>6s} {'points w/wo':>16s} "
          f"{'loss diff':>10s}")
    ratios = []
    medians: dict[str, list[float]] = {"with": [], "without": []}
    for label, (ys, limits, constraints) in cases():
        previous = fit_parameters(ys[:-1], limits, constraints)
        times: dict[str, list[float]] = {"with": [], "without": []}
        outcome = {}
        for _ in range(args.repeats):
            for mode in times:
                result, seconds, points = _refit(ys, limits, constraints, previous, mode, counter)
                times[mode].append(seconds)
                outcome[mode] = (result, points)
        t = {mode: float(np.median(v)) * 1e3 for mode, v in times.items()}
        for mode in t:
            medians[mode].append(t[mode])
        ratios.append(t["with"] / t["without"])
        diff = outcome["with"][0].loss - outcome["without"][0].loss
        print(f"{label:28s} {t['with']:6.2f}ms {t['without']:6.2f}ms {ratios[-1]:6.2f} "
              f"{outcome['with'][1]:7d}/{outcome['without'][1]:<8d} {diff:+10.1e}")
    print(f"median refit: with {np.median(medians['with']):.2f} ms, without "
          f"{np.median(medians['without']):.2f} ms; ratio median {np.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f})")

    print(f"\nlive searches: {args.chain} successive warm refits, each from the one before")
    print(f"{'case':28s} {'with':>8s} {'without':>8s} {'ratio':>6s} {'points w/wo':>16s} "
          f"{'worst loss diff':>16s}")
    for label, (ys, limits, constraints) in cases():
        if "n=48 " in label or ys.size < args.chain + 40:
            continue
        n0 = ys.size - args.chain
        previous = {mode: fit_parameters(ys[:n0], limits, constraints) for mode in AGES}
        totals = dict.fromkeys(AGES, 0.0)
        points = dict.fromkeys(AGES, 0)
        losses: dict[str, list[float]] = {mode: [] for mode in AGES}
        for m in range(n0 + 1, ys.size + 1):
            for mode in AGES:  # the two chains step by step, interleaved
                runs = [_refit(ys[:m], limits, constraints, previous[mode], mode, counter)
                        for _ in range(3)]
                totals[mode] += float(np.median([r[1] for r in runs])) * 1e3 / args.chain
                previous[mode] = runs[0][0]
                points[mode] += runs[0][2] // args.chain
                losses[mode].append(runs[0][0].loss)
        worst = max(a - b for a, b in zip(losses["with"], losses["without"], strict=True))
        print(f"{label:28s} {totals['with']:6.2f}ms {totals['without']:6.2f}ms "
              f"{totals['with'] / totals['without']:6.2f} "
              f"{points['with']:7d}/{points['without']:<8d} {worst:+16.1e}")


if __name__ == "__main__":
    main()

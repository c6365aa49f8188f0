"""Benchmark: coverage and width of analyze()'s intervals on problems with a known truth.

Problems come from ``tailstop.synthetic`` (quadratic in r directions near the optimum, not a
draw from the noisy quadratic), cycling through r in {1, 2, 3, 4}, noise / range in
{0, 0.01, 0.05} and both directions. For each problem and sample size n the search is run once,
``analyze`` is called at the given confidence, and the table reports, per n:

* coverage of the best-possible interval (does it contain the true best expected score?) and
  its median width relative to the score range;
* coverage of the ``expected_gain(k)`` interval (k = n) against the realised mean gain of k more
  trials, estimated from ``--gain-reps`` independent continuations (``gain cov``), and against
  the exact expected gain under the problem's law, integrated from ``--reference`` draws of its
  scores (``exact cov``, the last column), and how often the realised
  gain lies below its upper end alone (``gain <= hi``: what the stopping rules rely on) and
  below its lower end (``gain < lo``);
* how often the effective-dimension set contains the true r, and the median time per call;
* then, per n, the pointwise coverage of the ``tuning_curve(N, q=0.5)`` band at N = n (inside
  the data), 4n and 16n (extrapolated) against the problem's true median tuning curve (the
  quantile of the best of N trials at level 1/2, from ``--reference`` draws of its scores);
* and the coverages again among the estimates whose ``fits_well`` is True.

With ``--known-noise``, ``analyze`` is given each problem's true seed noise
(``analyze(..., noise=problem.noise)``), as a user who measured it would give it.

With ``--parts``, a line per n splits the best-possible interval into its parts (private
state, for design checks): the chosen tail's own profile interval (``main``), and the union of
the reported interval with the stability partner's whole profile interval (``union``: the
interval analyze reported until session 36; it now widens the chosen tail's interval by the gap
to the partner's estimate instead).

Run from the repository root::

    PYTHONPATH=src python examples/benchmarks/bench_analyze.py --problems 200 --ns 30 100 300
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.synthetic import random_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--ns", type=int, nargs="+", default=[30, 100, 300, 1000])
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--gain-reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", action="store_true", help="also the interval's parts")
    parser.add_argument("--known-noise", action="store_true",
                        help="give analyze each problem's true seed noise")
    parser.add_argument("--reference", type=int, default=2_000_000,
                        help="draws of each problem's scores for its true tuning curve")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    problems = random_problems(args.problems, generator=args.seed)
    print(f"analyze() on {args.problems} synthetic problems, confidence {args.confidence}"
          + (", the true seed noise given" if args.known_noise else ""))
    print(f"{'n':>6} {'best cov':>9} {'width/range':>12} {'gain cov':>9} {'r in set':>9} "
          f"{'gain<=hi':>9} {'gain<lo':>8} {'fits_well':>9} {'errors':>7} {'ms/call':>8} "
          f"{'exact cov':>9}")
    all_curve_ns = np.array(sorted({f * n for n in args.ns for f in CURVE_FACTORS}), float)
    curve_rows, well_rows = [], []
    for n in args.ns:
        covered, widths, gain_cov, r_in, well, errors, times = [], [], [], [], [], 0, []
        exact_cov = []
        gain_below_high, gain_below_low, parts = [], [], []
        curve_cov, curve_widths = [], []
        for i, problem in enumerate(problems):
            rng = np.random.default_rng([args.seed, n, i])
            scores = problem.run_search(n, generator=rng)
            start = time.perf_counter()
            try:
                est = analyze(scores, problem.direction, confidence=args.confidence,
                              noise=problem.noise if args.known_noise else None)
            except TailstopError:
                errors += 1
                continue
            times.append(time.perf_counter() - start)
            bp = est.best_possible
            covered.append(bp.low <= problem.best <= bp.high)
            widths.append((bp.high - bp.low) / problem.scale)
            r_in.append(problem.effective_dimension in est.effective_dimension.consistent)
            well.append(est.fits_well)
            if args.parts:
                parts.append(interval_parts(est, problem))
            more = problem.run_search(n * args.gain_reps, generator=rng).reshape(args.gain_reps, n)
            if problem.direction == "maximize":
                realised = np.maximum(more.max(axis=1) - scores.max(), 0.0).mean()
            else:
                realised = np.maximum(scores.min() - more.min(axis=1), 0.0).mean()
            gain = est.expected_gain(n)
            gain_cov.append(gain.low <= realised <= gain.high)
            gain_below_high.append(realised <= gain.high)
            gain_below_low.append(realised < gain.low)
            curve_ns = np.array([f * n for f in CURVE_FACTORS], float)
            truth, exact = reference_truth(problem, all_curve_ns, args, i)
            exact_cov.append(gain.low <= exact[n] <= gain.high)
            truth = truth[np.searchsorted(all_curve_ns, curve_ns)]
            curve = est.tuning_curve(curve_ns, q=0.5)
            curve_cov.append((curve.low <= truth) & (truth <= curve.high))
            curve_widths.append((curve.high - curve.low) / problem.scale)
        print(f"{n:>6} {np.mean(covered):>9.3f} {np.median(widths):>12.4f} "
              f"{np.mean(gain_cov):>9.3f} {np.mean(r_in):>9.3f} {np.mean(gain_below_high):>9.3f} "
              f"{np.mean(gain_below_low):>8.3f} {np.mean(well):>9.3f} "
              f"{errors:>7d} {1e3 * np.median(times):>8.0f} {np.mean(exact_cov):>9.3f}",
              flush=True)
        curve_rows.append((n, np.mean(curve_cov, axis=0), np.median(curve_widths, axis=0)))
        ok = np.array(well, dtype=bool)
        if ok.any():
            curve_ok = np.array(curve_cov)[ok].mean(axis=0)
            well_rows.append((n, int(ok.sum()), np.mean(np.array(covered)[ok]),
                              np.mean(np.array(gain_cov)[ok]),
                              np.mean(np.array(gain_below_high)[ok]), curve_ok))
        if args.parts:
            p = np.array(parts, dtype=float)
            print(f"{'':>6} parts: cov main {p[:, 0].mean():.3f} union {p[:, 1].mean():.3f}; "
                  f"median width/range main {np.median(p[:, 2]):.4f} union "
                  f"{np.median(p[:, 3]):.4f}", flush=True)


    factors = " ".join(f"{f}n" for f in CURVE_FACTORS)
    print(f"\ntuning_curve(N, q=0.5) band at N = {factors}: pointwise coverage of the true median")
    print("tuning curve; median width / range")
    for n, cov, width in curve_rows:
        cells = " ".join(f"{c:>6.3f}" for c in cov)
        spans = " ".join(f"{w:>7.4f}" for w in width)
        print(f"{n:>6}  cov {cells}   width {spans}", flush=True)
    print("\nthe same, among the estimates with fits_well True")
    print(f"{'n':>6} {'count':>6} {'best cov':>9} {'gain cov':>9} {'gain<=hi':>9}  curve cov at "
          + factors)
    for n, count, best, gain, below_high, curve in well_rows:
        cells = " ".join(f"{c:>6.3f}" for c in curve)
        print(f"{n:>6} {count:>6d} {best:>9.3f} {gain:>9.3f} {below_high:>9.3f}  {cells}",
              flush=True)


CURVE_FACTORS = (1, 4, 16)
_TRUTH: dict = {}


def reference_truth(problem, ns: np.ndarray, args, index: int) -> tuple[np.ndarray, dict]:
    """From ``args.reference`` draws of the problem's scores (cached per problem): the median
    of the best of N trials for each N in ``ns`` (the score quantile at level 2^(-1/N), or
    1 - 2^(-1/N) when minimising), and for each n of ``args.ns`` the exact expected gain of n
    more trials over the best of the benchmark's search of n trials (drawn again from its own
    generator): E (M_n - y0)+ = int_{y0}^inf (1 - F(y)^n) dy with F the draws' empirical law."""
    key = (id(problem), args.seed, index)
    if key not in _TRUTH:
        scores = problem.run_search(
            args.reference, generator=np.random.default_rng([args.seed, index, 99])
        )
        levels = 0.5 ** (1.0 / ns)
        if problem.direction == "minimize":
            levels = 1.0 - levels
        sign = 1.0 if problem.direction == "maximize" else -1.0
        folded = np.sort(sign * scores)
        exact = {}
        for n in args.ns:
            search = problem.run_search(n, generator=np.random.default_rng([args.seed, n, index]))
            y0 = float((sign * search).max())
            start = np.searchsorted(folded, y0, side="right")
            edges = np.concatenate([[y0], folded[start:]])
            below = (start + np.arange(edges.size - 1)) / folded.size  # F on each step
            exact[n] = float(np.sum((1.0 - below**n) * np.diff(edges)))
        _TRUTH[key] = (np.quantile(scores, levels), exact)
    return _TRUTH[key]


def interval_parts(est, problem) -> tuple:
    """(main covers, union covers, main width, union width), widths relative to the range."""
    ends = est._state.ends  # maximise orientation
    sign = 1.0 if problem.direction == "maximize" else -1.0
    truth = sign * problem.best
    low, high = ends[("b", -1.0)], ends[("b", 1.0)]
    u_low, u_high = sorted(sign * v for v in est.best_possible[1:])
    if ("deeper", "b", 1.0) in ends:
        u_low = min(u_low, ends[("deeper", "b", -1.0)])
        u_high = max(u_high, ends[("deeper", "b", 1.0)])
    return (low <= truth <= high, u_low <= truth <= u_high,
            (high - low) / problem.scale, (u_high - u_low) / problem.scale)


if __name__ == "__main__":
    main()

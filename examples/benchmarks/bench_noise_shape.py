"""Benchmark: analyze()'s intervals when the seed noise is not normal.

The noisy quadratic law takes the seed noise as normal with one standard deviation for every
configuration. Real seed noise need not be: a few runs may diverge or get lucky (heavy tails),
bad runs may be more common than good ones (skew), and configurations far from the optimum may
vary more between seeds (an uneven noise). This script runs ``tailstop.synthetic`` problems
(r in {1, 2, 3, 4}, noise / range in {0.01, 0.05}, both directions) with the seed noise of each
shape below, all of mean 0 and of the problem's standard deviation at the optimum, so that the
true best expected score is the problem's ``best`` in every case:

* ``normal``: the law's own assumption (the reference row);
* ``t5``, ``t3``: Student's t with 5 and 3 degrees of freedom, scaled to the same standard
  deviation (heavy tails both ways; t3's kurtosis is infinite);
* ``bad-runs``: one run in ten scores three standard deviations of the rest worse (a
  mixture, standardised): skewed towards worse scores, as unstable training is;
* ``lucky-runs``: the mirror image, skewed towards better scores;
* ``uneven``: normal, its standard deviation growing with the distance in expected score from
  the optimum: ``noise * (1 + 3 drop / scale)``, 4 times the optimum's at the far end.

For each it reports, per n, the coverage of the best-possible interval (confidence 0.9) and its
median width relative to the score range, the median error of the estimate (relative to the
range, signed: above the truth is positive in the maximise orientation), the share of estimates
whose ``fits_well`` is True, and the coverage of the ``expected_gain(n)`` interval against the
exact mean gain of n more trials from the current best (from ``--reference`` draws of the
problem's scores), with how often that gain lies below the interval's upper end alone (what the
stopping rules read).

Run from the repository root (about 10 minutes on 2 cores with ``--jobs 2``)::

    PYTHONPATH=src python examples/benchmarks/bench_noise_shape.py --problems 96 --jobs 2
"""

from __future__ import annotations

import argparse
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from bench_law_known import conditional_gain  # E[max(best, T_k)] - best, from sorted draws

from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.synthetic import random_problems

SHAPES = ("normal", "t5", "t3", "bad-runs", "lucky-runs", "uneven")
_MIX_SHARE, _MIX_SHIFT = 0.1, 3.0  # the bad (lucky) runs: a tenth, three deviations off


def standard_noise(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of mean 0 and standard deviation 1, of the given shape, in the orientation
    "higher is better" (``bad-runs`` skews towards lower values)."""
    if shape in ("normal", "uneven"):
        return rng.standard_normal(size)
    if shape in ("t5", "t3"):
        dof = int(shape[1:])
        return rng.standard_t(dof, size) / np.sqrt(dof / (dof - 2))
    if shape in ("bad-runs", "lucky-runs"):
        shift = np.where(rng.random(size) < _MIX_SHARE, -_MIX_SHIFT, 0.0)
        mean = -_MIX_SHARE * _MIX_SHIFT
        std = np.sqrt(1.0 + _MIX_SHARE * (1 - _MIX_SHARE) * _MIX_SHIFT**2)
        draws = (rng.standard_normal(size) + shift - mean) / std
        return draws if shape == "bad-runs" else -draws
    raise ValueError(f"unknown shape {shape!r}")


def scores_of(problem, shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` random-search scores of ``problem`` with seed noise of ``shape``."""
    x = rng.random((size, problem.dimension))
    return with_noise(problem, shape, problem.expected_score(x), rng)


def with_noise(problem, shape: str, expected: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Expected scores of ``problem`` plus one draw each of seed noise of ``shape`` (of
    standard deviation ``problem.noise`` at the optimum; ``bad-runs`` worse in the problem's
    direction)."""
    spread = np.full(expected.shape, problem.noise)
    if shape == "uneven":
        spread = spread * (1.0 + 3.0 * np.abs(expected - problem.best) / problem.scale)
    sign = 1.0 if problem.direction == "maximize" else -1.0
    return expected + sign * spread * standard_noise(shape, expected.size, rng)


def run_shape(shape: str, problems: int, ns: list[int], confidence: float, reference: int,
              seed: int) -> dict:
    warnings.simplefilter("ignore")
    rows = {n: [] for n in ns}
    for i, problem in enumerate(random_problems(problems, noise_ratios=(0.01, 0.05),
                                                generator=seed)):
        rng = np.random.default_rng([seed, i])
        search = scores_of(problem, shape, max(ns), rng)
        sign = 1.0 if problem.direction == "maximize" else -1.0
        ref = np.sort(sign * scores_of(problem, shape, reference, rng))
        for n in ns:
            try:
                est = analyze(search[:n], problem.direction, confidence=confidence)
            except TailstopError:
                rows[n].append(None)
                continue
            rows[n].append(interval_checks(est, problem.best, problem, ref, n))
    return {"shape": shape, "rows": rows}


def interval_checks(est, truth: float, problem, reference: np.ndarray, k: int) -> dict:
    """What one estimate got right: the best-possible interval's coverage of ``truth``, its
    width and the estimate's signed error (over the problem's range, in the maximise
    orientation), ``fits_well``, and the ``expected_gain(k)`` interval against the exact mean
    gain of ``k`` more trials from the current best, ``reference`` the problem's scores,
    sorted, in the maximise orientation."""
    sign = 1.0 if problem.direction == "maximize" else -1.0
    low, high = sorted((sign * est.best_possible.low, sign * est.best_possible.high))
    gain = est.expected_gain(k)
    realised = conditional_gain(reference, sign * est.current_best, k)
    return {
        "covers": low <= sign * truth <= high,
        "width": (high - low) / problem.scale,
        "error": sign * (est.best_possible.estimate - truth) / problem.scale,
        "fits": bool(est.fits_well),
        "gain_covers": gain.low <= realised <= gain.high,
        "gain_below_high": realised <= gain.high,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=96)
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--reference", type=int, default=200_000,
                        help="draws of each problem's scores for the exact mean gain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    tasks = [(shape, args.problems, args.ns, args.confidence, args.reference, args.seed)
             for shape in args.shapes]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run_shape, *zip(*tasks, strict=True)))
    else:
        results = [run_shape(*task) for task in tasks]
    print(f"{args.problems} synthetic problems per shape (r 1-4, noise 1% and 5% of the range, "
          f"both directions), confidence {args.confidence}")
    print(f"{'noise':<11} {'n':>5} {'bp cov':>7} {'width':>7} {'median err':>11} "
          f"{'fits':>5} {'gain cov':>9} {'gain<=hi':>9} {'failed':>7}")
    for result in results:
        for n, row in result["rows"].items():
            done = [r for r in row if r is not None]
            def share(key, done=done):
                return np.mean([r[key] for r in done])
            print(f"{result['shape']:<11} {n:>5} {share('covers'):>7.3f} "
                  f"{np.median([r['width'] for r in done]):>7.4f} "
                  f"{np.median([r['error'] for r in done]):>+11.4f} {share('fits'):>5.2f} "
                  f"{share('gain_covers'):>9.3f} {share('gain_below_high'):>9.3f} "
                  f"{len(row) - len(done):>7}")


if __name__ == "__main__":
    main()

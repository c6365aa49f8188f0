"""Benchmark: are ``prob_improvement``'s chances calibrated?

From the first ``n`` trials of a search, ``TailEstimate.prob_improvement(delta, k)`` gives the
chance that ``k`` more trials beat the best by more than ``delta``. This compares it with what
``k`` further trials did:

* the real searches in ``../shared/data/scores`` (maximise accuracy, ``bounds=(0, 1)``): each
  repetition is a random order of the search's trials, its first ``n`` the history and the
  next ``k`` the future (drawn without replacement from the same finished search);
* searches on ``tailstop.synthetic`` problems (r = 1-4, noise 0 / 1% / 5% of the range, both
  directions), run for ``n + k`` trials, ``delta`` in units of the problem's range.

``prob_improvement`` is the mean over the fit and its plausible fits ``F`` of
``k / (n + k) * (1 - F(y* + delta)^k) / (1 - F(y*)^k)``: the chance of any gain from the ranks,
times a fitted law's share of gains beyond ``delta``; the same tables follow for the best fit's
own chance ``1 - F(y* + delta)^k``, which runs too high.

For each search, ``n``, ``k`` and ``delta`` it prints the mean predicted chance against the
observed frequency, and Brier scores (mean squared error of the chance against the 0/1
outcome, lower is better) of tailstop, of the exchangeability baseline ``k / (n + k)`` (the
chance that the best of ``n + k`` exchangeable trials is among the ``k`` new ones: exact for
``delta = 0`` with continuous scores, too high for ``delta > 0``) and of the base rate (the
observed frequency itself, a constant no forecaster knows in advance: what a forecast must
beat to tell searches apart). Then a reliability table over every case: predictions binned
by their chance, the mean chance against the observed frequency in each bin.

Run from the repository root (about 10-12 minutes on 2 cores)::

    PYTHONPATH=src python examples/benchmarks/bench_prob_calibration.py --reps 100

``--ns`` and ``--ks`` change the history sizes and the trials ahead (on a real search, a history
size that leaves fewer than the largest ``k`` trials is skipped); ``--synthetic 0`` skips the
synthetic searches.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
NS = (32, 64, 128)
KS = (32, 128)
REAL_DELTAS = (0.0, 0.001, 0.005)  # accuracy units
SYNTHETIC_DELTAS = (0.0, 0.005, 0.02)  # fractions of the problem's range


def _cases(order, direction, bounds, deltas, ns, ks):
    """(n, k, delta, predicted chance, outcome, fits_well) for one search order."""
    from tailstop import forecast
    from tailstop.errors import TailstopError
    from tailstop.estimate import analyze

    sign = 1.0 if direction == "maximize" else -1.0
    rows = []
    for n in ns:
        try:
            estimate = analyze(order[:n], direction, bounds=bounds)
        except TailstopError:
            continue
        best = sign * np.max(sign * order[:n])
        for k in ks:
            future = sign * np.max(sign * order[n:n + k])
            for delta in deltas:
                chance = float(estimate.prob_improvement(delta, k))
                own = float(forecast.prob_improvement(  # the fitted law's own 1 - F(y* + d)^k
                    estimate._fits[0], float(estimate._clean.values.max()), delta, k,
                    ceiling=estimate._ceiling))
                outcome = float(sign * (future - best) > delta)
                rows.append((n, k, delta, chance, outcome, estimate.fits_well, own))
    return rows


def _real_task(task):
    name, scores, seed, ns, ks = task
    warnings.simplefilter("ignore")
    order = np.random.default_rng(seed).permutation(scores)
    ns = tuple(n for n in ns if n + max(ks) <= scores.size)  # the future: trials of this search
    return name, _cases(order, "maximize", (0.0, 1.0), REAL_DELTAS, ns, ks)


def _synthetic_task(task):
    index, count, ns, ks = task
    from tailstop.synthetic import random_problems

    warnings.simplefilter("ignore")
    problem = random_problems(count, generator=7)[index]
    order = problem.run_search(max(ns) + max(ks), generator=1000 + index)
    deltas = tuple(d * problem.scale for d in SYNTHETIC_DELTAS)
    rows = _cases(order, problem.direction, None, deltas, ns, ks)
    # report delta in units of the range, comparable across problems
    return "synthetic", [(n, k, d / problem.scale, *rest) for n, k, d, *rest in rows]


def _summary(name, rows):
    rows = np.array(rows, dtype=float)
    print(f"\n{name}")
    print(f"{'n':>4} {'k':>4} {'delta':>7} | {'cases':>5} {'fits':>5} | {'mean chance':>11} "
          f"{'observed':>8} | {'Brier: chance':>15} {'k/(n+k)':>8} {'base rate':>9}")
    for n in np.unique(rows[:, 0]).astype(int):
        for k in np.unique(rows[:, 1]).astype(int):
            for delta in np.unique(rows[:, 2]):
                sel = (rows[:, 0] == n) & (rows[:, 1] == k) & (rows[:, 2] == delta)
                if not sel.any():
                    continue
                chance, outcome = rows[sel, 3], rows[sel, 4]
                frequency = outcome.mean()
                exchangeable = k / (n + k)
                print(
                    f"{n:>4} {k:>4} {delta:>7.3g} | {sel.sum():>5} {rows[sel, 5].mean():>5.2f} | "
                    f"{chance.mean():>11.3f} {frequency:>8.3f} | "
                    f"{np.mean((chance - outcome) ** 2):>15.3f} "
                    f"{np.mean((exchangeable - outcome) ** 2):>8.3f} "
                    f"{np.mean((frequency - outcome) ** 2):>9.3f}"
                )


def _brier_line(name, rows):
    """Mean Brier scores over every case of one search, and of the baseline k / (n + k)."""
    rows = np.array(rows, dtype=float)
    chance, outcome = rows[:, 3], rows[:, 4]
    exchangeable = rows[:, 1] / (rows[:, 0] + rows[:, 1])
    print(f"{name:<16} mean Brier {np.mean((chance - outcome) ** 2):.3f} "
          f"(k/(n+k): {np.mean((exchangeable - outcome) ** 2):.3f}) over {len(rows)} cases")


def _reliability(all_rows):
    rows = np.array(all_rows, dtype=float)
    edges = np.array([0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0 + 1e-9])
    print("\nreliability over every case (predicted chance binned)")
    print(f"{'bin':>13} | {'cases':>6} {'mean chance':>11} {'observed':>8} {'+- 2 se':>8}")
    for lo, hi in itertools.pairwise(edges):
        sel = (rows[:, 3] >= lo) & (rows[:, 3] < hi)
        if not sel.any():
            continue
        frequency = rows[sel, 4].mean()
        se = np.sqrt(max(frequency * (1 - frequency), 1e-12) / sel.sum())
        print(f"[{lo:.2f}, {min(hi, 1):.2f}) | {sel.sum():>6} {rows[sel, 3].mean():>11.3f} "
              f"{frequency:>8.3f} {2 * se:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="orders of each real search")
    parser.add_argument("--synthetic", type=int, default=200, help="synthetic problems")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--ns", type=int, nargs="+", default=list(NS),
                        help="trials so far (history sizes)")
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS), help="trials ahead")
    args = parser.parse_args()
    tasks = []
    for path in sorted(SCORES.glob("*.csv")):
        with path.open() as fh:
            scores = np.array([float(r["score"]) for r in csv.DictReader(fh)])
        tasks += [(path.stem, scores, seed, tuple(args.ns), tuple(args.ks))
                  for seed in range(args.reps)]
    results: dict[str, list] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for name, rows in pool.map(_real_task, tasks, chunksize=4):
            results.setdefault(name, []).extend(rows)
        synthetic = [(i, args.synthetic, tuple(args.ns), tuple(args.ks))
                     for i in range(args.synthetic)]
        for name, rows in pool.map(_synthetic_task, synthetic, chunksize=4):
            results.setdefault(name, []).extend(rows)
    for column, label in ((3, "tailstop"), (6, "the fitted law's own 1 - F(y* + delta)^k")):
        print(f"\n===== {label} =====")
        for name, rows in results.items():
            picked = [(*r[:3], r[column], *r[4:6]) for r in rows]
            _summary(name, picked)
        _reliability([(*r[:3], r[column], *r[4:6]) for rows in results.values() for r in rows])
        for name in results:
            print(f"\n{name}: ", end="")
            _reliability_line([(*r[:3], r[column], *r[4:6]) for r in results[name]])
        print()
        for name in results:
            _brier_line(name, [(*r[:3], r[column], *r[4:6]) for r in results[name]])


def _reliability_line(rows):
    """Calibration in three bins of the predicted chance, for one search."""
    rows = np.array(rows, dtype=float)
    parts = []
    for lo, hi in ((0.0, 0.2), (0.2, 0.6), (0.6, 1.0 + 1e-9)):
        sel = (rows[:, 3] >= lo) & (rows[:, 3] < hi)
        if sel.any():
            parts.append(f"[{lo:.1f}, {min(hi, 1):.1f}): {rows[sel, 3].mean():.2f} predicted, "
                         f"{rows[sel, 4].mean():.2f} observed ({sel.sum()})")
    print("; ".join(parts))


if __name__ == "__main__":
    main()

"""Benchmark: what the forecasts and the stopping rules could reach with the law known.

Each shared search (``../shared/data/scores/*.csv``, maximise) is its own score law here: a
trial is a draw from the empirical distribution of all its ``N`` trials. Two bounds follow,
for questions the other benchmarks ask of fitted laws:

1. *Forecast* (as ``bench_forecast.py``): from ``n`` trials, the expected best after ``k`` =
   256. Knowing the law, the best prediction given the ``n`` trials is the conditional
   expectation ``E[max(y*, T_(k-n))]`` (``y*`` their best, ``T_m`` the best of ``m`` more
   draws). Its mean absolute error against the unconditional ``E[max of k]`` is what no
   estimator can beat; printed next to the two baselines (the current best and the
   nonparametric estimate) and as a ratio to the better one (issue 3's target: <= 0.5 at
   n = 64).
2. *Stopping* (as ``bench_replay.py``): the replay's orders (seed 0), the budget ``N`` known,
   epsilon = 0.005. Two rules read the known law, from 20 trials on:

   * ``expected gain``: stop when ``E[max(y*, T_h)] - y* < epsilon`` (``h`` = trials left);
     the semantics of ``GainBelow(epsilon)`` with its interval shrunk to the truth;
   * ``chance``: stop when ``P(T_h > y* + epsilon) = 1 - F(y* + epsilon)^h < 0.1``; the
     semantics of the replays' success criterion (final regret <= epsilon in >= 90% of the
     orders).

   Mean trials and success rate per rule, next to the oracle (first trial within epsilon).

Run from the repository root (a few seconds)::

    PYTHONPATH=src python examples/benchmarks/bench_law_known.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from bench_forecast import conditional_expected_best, expected_best, load_scores

from tailstop.replay import _draw_orders

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
MIN_TRIALS = 20


def conditional_gain(ordered: np.ndarray, best: float, m: int) -> float:
    """``E[max(best, T_m)] - best`` under the empirical law of ``ordered`` (bench_forecast's
    :func:`conditional_expected_best`, as a gain; exactly 0 with nothing above ``best``)."""
    if m <= 0 or best >= ordered[-1]:
        return 0.0
    return conditional_expected_best(ordered, best, m) - best


def forecast_bound(scores: np.ndarray, ns, k: int, reps: int, seed: int) -> list[tuple]:
    ordered = np.sort(scores)
    truth = expected_best(scores, k)
    rows = []
    for n in ns:
        rng = np.random.default_rng([seed, n])
        known, best_err, nonpar_err = [], [], []
        for _ in range(reps):
            sub = rng.choice(scores, size=n, replace=False)
            best = float(sub.max())
            known.append(abs(best + conditional_gain(ordered, best, k - n) - truth))
            best_err.append(abs(best - truth))
            nonpar_err.append(abs(expected_best(sub, k) - truth))
        rows.append((n, np.mean(known), np.mean(best_err), np.mean(nonpar_err)))
    return rows


def stopping_bound(scores: np.ndarray, orders: int, epsilon: float, level: float, seed: int):
    ordered = np.sort(scores)
    size = scores.size
    top = ordered[-1]

    def chance(best: float, h: int) -> float:
        return 1.0 - (np.searchsorted(ordered, best + epsilon, side="right") / size) ** h

    rules = {
        "expected gain": lambda best, h: conditional_gain(ordered, best, h) < epsilon,
        "chance": lambda best, h: chance(best, h) < level,
    }
    out = {name: ([], []) for name in rules}
    oracle = []
    for permutation in _draw_orders(size, orders, seed):
        running = np.maximum.accumulate(scores[permutation])
        oracle.append(int(np.argmax(top - running <= epsilon)) + 1)
        for name, rule in rules.items():
            used = size
            for n in range(MIN_TRIALS, size + 1):
                if rule(running[n - 1], size - n):
                    used = n
                    break
            out[name][0].append(used)
            out[name][1].append(top - running[used - 1] <= epsilon)
    return {name: (np.mean(u), np.mean(s)) for name, (u, s) in out.items()}, np.mean(oracle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--ns", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--epsilon", type=float, default=0.005)
    parser.add_argument("--level", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = sorted(args.data.glob("*.csv"))
    if not paths:
        raise SystemExit(f"no CSV files in {args.data}")

    print(f"1. Forecast of the expected best after {args.k} trials with the law known "
          f"({args.reps} subsamples); mean absolute error x1e-3")
    print(f"{'search':<18} {'n':>4} {'law known':>10} {'current best':>13} "
          f"{'nonparametric':>14} {'known / better':>15}")
    for path in paths:
        for n, known, best, nonpar in forecast_bound(
            load_scores(path), args.ns, args.k, args.reps, args.seed
        ):
            print(f"{path.stem:<18} {n:>4} {1e3 * known:>10.2f} {1e3 * best:>13.2f} "
                  f"{1e3 * nonpar:>14.2f} {known / min(best, nonpar):>15.2f}")
    print()
    print(f"2. Stopping with the law known: {args.orders} orders (seed {args.seed}), budget N, "
          f"epsilon {args.epsilon}, from {MIN_TRIALS} trials on; mean trials / success")
    print(f"{'search':<18} {'N':>5} {'expected gain < eps':>20} "
          f"{'chance < ' + format(args.level, 'g'):>20} {'oracle':>8}")
    for path in paths:
        scores = load_scores(path)
        rules, oracle = stopping_bound(scores, args.orders, args.epsilon, args.level, args.seed)
        cells = [f"{t:>12.1f} / {s:.2f}" for t, s in rules.values()]
        print(f"{path.stem:<18} {scores.size:>5} {cells[0]:>20} {cells[1]:>20} {oracle:>8.1f}")


if __name__ == "__main__":
    main()

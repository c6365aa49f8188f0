"""Does a measured seed noise mend the small-search forecasts? A real search, seeds re-run.

The gradient-boosting search of ``check_noisy_search.py`` (scikit-learn's
``HistGradientBoostingRegressor`` on the diabetes data, 5-fold cross-validated RMSE, minimised;
the folds and the early-stopping split come from the trial's seed, so the score of one
configuration varies between seeds). ``--trials`` trials of Optuna's ``RandomSampler``; then,
from ``--reps`` random subsamples of ``--n`` trials, the expected best after ``--k`` trials is
forecast (truth: the empirical average tuning curve of all trials at ``k``) by

* ``fitted``: ``analyze(sub, "minimize", bounds=(0, None))``, the seed noise fitted;
* ``measured``: the same with ``noise=`` the standard deviation of the subsample's best
  configuration re-run with ``--seeds`` new seeds (what a user can do: a few runs of one good
  configuration), measured once per configuration;
* ``pooled``: the same with ``noise=`` :func:`tailstop.seed_noise` over the subsample's
  ``--top`` best configurations, each re-run with ``--pool-seeds`` new seeds (what the README
  recommends);
* the baselines: the current best, and the nonparametric estimate (the subsample's own
  average tuning curve at ``k``).

Prints the mean absolute error of each, its ratio to the better baseline, the bias, and the
measured noise against the noise fitted to all trials.

Run from the repository root (about 20 minutes at the defaults; needs scikit-learn and optuna)::

    PYTHONPATH=src python examples/benchmarks/check_known_noise.py
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_noisy_search import run_search


def main() -> None:
    from tailstop import analyze, seed_noise
    from tailstop.errors import TailstopError
    from tailstop.nonparametric import EmpiricalDistribution

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--seeds", type=int, default=5, help="re-runs of a configuration")
    parser.add_argument("--top", type=int, default=5, help="configurations pooled")
    parser.add_argument("--pool-seeds", type=int, default=3, help="re-runs of each pooled one")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scores, params, evaluate = run_search(args.trials, args.seed)

    # the expected best (lowest) of k draws from all trials
    truth = -float(EmpiricalDistribution(-scores).average_tuning_curve(args.k))
    full = analyze(scores, "minimize", bounds=(0, None))
    measured: dict[int, float] = {}
    reruns: dict[int, list[float]] = {}
    errors: dict[str, list[float]] = {
        "fitted": [], "measured": [], "pooled": [], "best": [], "nonpar": []
    }
    noises: dict[str, list[float]] = {"fitted": [], "measured": [], "pooled": []}
    failures = 0
    for rep in range(args.reps):
        rng = np.random.default_rng([args.seed, rep])
        index = rng.choice(args.trials, size=args.n, replace=False)
        sub = scores[index]
        top = int(index[np.argmin(sub)])
        if top not in measured:
            again = [evaluate(params[top], 20_000 + s) for s in range(args.seeds)]
            measured[top] = float(np.std(again, ddof=1))
        tops = [int(i) for i in index[np.argsort(sub)[: args.top]]]
        for i in tops:
            if i not in reruns:
                reruns[i] = [evaluate(params[i], 30_000 + s) for s in range(args.pool_seeds)]
        pooled_noise = seed_noise([reruns[i] for i in tops]).estimate
        best = float(sub.min())
        try:
            fitted = analyze(sub, "minimize", bounds=(0, None))
            given = analyze(sub, "minimize", bounds=(0, None), noise=measured[top])
            pooled = analyze(sub, "minimize", bounds=(0, None), noise=pooled_noise)
        except TailstopError:
            failures += 1
            continue
        remaining = args.k - args.n
        errors["fitted"].append(best - float(fitted.expected_gain(remaining).estimate) - truth)
        errors["measured"].append(best - float(given.expected_gain(remaining).estimate) - truth)
        errors["pooled"].append(best - float(pooled.expected_gain(remaining).estimate) - truth)
        errors["best"].append(best - truth)
        errors["nonpar"].append(
            -float(EmpiricalDistribution(-sub).average_tuning_curve(args.k)) - truth
        )
        noises["fitted"].append(fitted.noise)
        noises["measured"].append(measured[top])
        noises["pooled"].append(pooled_noise)

    baseline = min(np.mean(np.abs(errors["best"])), np.mean(np.abs(errors["nonpar"])))
    print(f"\nforecast of the expected best after {args.k} trials from {args.n}-trial "
          f"subsamples ({len(errors['best'])} of {args.reps}; {failures} failed); truth "
          f"{truth:.3f} RMSE")
    print(f"{'predictor':<10} {'MAE':>7} {'/ better baseline':>18} {'bias':>8}")
    for name, values in errors.items():
        mae = float(np.mean(np.abs(values)))
        print(f"{name:<10} {mae:>7.3f} {mae / baseline:>17.2f}x {np.mean(values):>+8.3f}")
    q = {name: np.percentile(v, [25, 50, 75]) for name, v in noises.items()}
    print(f"\nseed noise: fitted to all {args.trials} trials {full.noise:.3f}; on the subsamples, "
          f"fitted median {q['fitted'][1]:.3f} [IQR {q['fitted'][0]:.3f}-{q['fitted'][2]:.3f}], "
          f"measured from {args.seeds} seeds median {q['measured'][1]:.3f} "
          f"[IQR {q['measured'][0]:.3f}-{q['measured'][2]:.3f}] over {len(measured)} "
          f"configurations; pooled over the top {args.top} with {args.pool_seeds} seeds each "
          f"median {q['pooled'][1]:.3f} [IQR {q['pooled'][0]:.3f}-{q['pooled'][2]:.3f}] "
          f"over {len(reruns)} configurations")


if __name__ == "__main__":
    main()

"""A real search tailstop has not seen, with seed noise it can be checked against.

Gradient-boosted trees (scikit-learn's ``HistGradientBoostingRegressor``) on the diabetes
data, four hyperparameters (learning rate, leaves, minimum leaf size, L2; log-uniform), scored
by 5-fold cross-validated RMSE (minimised) with the folds and the early-stopping split drawn
from the trial's seed: the score of one configuration varies between seeds, as a network's
does. Runs Optuna's ``RandomSampler`` for ``--trials`` trials, then prints:

1. ``analyze`` on the first 100 / 300 / 1,000 / all trials, with the expected gain of as
   many more trials against the gain the search then realised;
2. where a live monitor (the default rule) stops with budgets of 300 and 1,000;
3. the truth the estimate is about: the five best configurations re-run with 12 new seeds
   each (their mean score and the standard deviation between seeds), against the fitted seed
   noise and best possible score.

Run from the repository root (about 8 minutes at the defaults; needs scikit-learn and optuna)::

    PYTHONPATH=src python examples/benchmarks/check_noisy_search.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def make_evaluate():
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_score

    X, y = load_diabetes(return_X_y=True)

    def evaluate(params: dict, seed: int) -> float:
        model = HistGradientBoostingRegressor(
            learning_rate=params["lr"], max_leaf_nodes=params["leaves"],
            min_samples_leaf=params["min_leaf"], l2_regularization=params["l2"],
            max_iter=100, early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
            random_state=seed,
        )
        cv = KFold(5, shuffle=True, random_state=seed)
        return float(-cross_val_score(model, X, y, cv=cv,
                                      scoring="neg_root_mean_squared_error").mean())

    return evaluate


def suggest(trial) -> dict:
    return {
        "lr": trial.suggest_float("lr", 1e-3, 1.0, log=True),
        "leaves": trial.suggest_int("leaves", 2, 64, log=True),
        "min_leaf": trial.suggest_int("min_leaf", 1, 100, log=True),
        "l2": trial.suggest_float("l2", 1e-4, 10, log=True),
    }


def run_search(trials: int, seed: int) -> tuple[np.ndarray, list[dict], object]:
    """``trials`` trials of Optuna's ``RandomSampler(seed)``, trial ``i`` evaluated with seed
    ``i``: ``(scores, the sampled hyperparameters, evaluate)``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    evaluate = make_evaluate()
    params: list[dict] = []

    def objective(trial):
        params.append(suggest(trial))
        return evaluate(params[-1], trial.number)

    start = time.perf_counter()
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    scores = np.array([t.value for t in study.trials])
    print(f"{trials} trials in {time.perf_counter() - start:.0f} s, best {scores.min():.3f}")
    return scores, params, evaluate


def main() -> None:
    from tailstop import Monitor, analyze

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--reseeds", type=int, default=12)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scores, params, evaluate = run_search(args.trials, args.seed)

    print("1. analyze on the first n trials (bounds (0, None)):")
    for n in (100, 300, 1000, args.trials):
        if n > args.trials:
            continue
        estimate = analyze(scores[:n], "minimize", bounds=(0, None))
        bp = estimate.best_possible
        dim = estimate.effective_dimension
        line = (f"   n = {n:5d}: best {scores[:n].min():.3f}, best possible {bp.estimate:.3f} "
                f"[{bp.low:.3f}, {bp.high:.3f}], c {dim.estimate} (set {min(dim.consistent)}-"
                f"{max(dim.consistent)}), noise {estimate.noise:.3f}, fits {estimate.fits_well}")
        k = min(n, args.trials - n)
        if k > 0:
            gain = estimate.expected_gain(k)
            realised = scores[:n].min() - scores[: n + k].min()
            line += (f"; gain in {k} more {gain.estimate:.3f} [{gain.low:.3f}, {gain.high:.3f}],"
                     f" realised {realised:.3f}")
        print(line)

    print("2. a live monitor (default rule) with the budget known:")
    for budget in (300, 1000):
        if budget > args.trials:
            continue
        monitor = Monitor("minimize", budget=budget, bounds=(0, None))
        for score in scores[:budget]:
            monitor.observe(float(score))
            if monitor.should_stop:
                break
        stopped = monitor.n_trials
        print(f"   budget {budget}: stopped after {stopped} trials, best then "
              f"{scores[:stopped].min():.3f}, at the budget {scores[:budget].min():.3f}, "
              f"after all {scores.min():.3f}")

    print(f"3. the five best configurations, each re-run with {args.reseeds} new seeds:")
    for i in np.argsort(scores)[:5]:
        again = [evaluate(params[i], 10_000 + s) for s in range(args.reseeds)]
        print(f"   trial {i:5d}: observed {scores[i]:.3f}, mean {np.mean(again):.3f}, "
              f"std between seeds {np.std(again, ddof=1):.3f}")


if __name__ == "__main__":
    main()

"""A real search tailstop has not seen, with a score that has no noise at all.

An RBF support-vector regression on scikit-learn's diabetes data, three hyperparameters
(``C``, ``gamma``, ``epsilon``, log-uniform), scored by 5-fold cross-validated RMSE (minimised):
a deterministic objective, the common case of tabular searches with fixed folds. Runs Optuna's
``RandomSampler`` for ``--trials`` trials (the first ``--budget`` with ``OptunaCallback``
attached and that budget, as a user would), then prints:

1. where the callback stopped, its reason, and how much the rest of the search gained;
2. ``analyze`` on the first 296 / 1,000 / all trials (the fitted seed noise should fall to 0,
   the best possible settle on what the search found);
3. the expected gain's forecast against the realised gain of the following trials.

Run from the repository root (about 2 minutes at the defaults; needs scikit-learn and optuna)::

    PYTHONPATH=src python examples/benchmarks/check_deterministic_search.py
"""

from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np


def objective_factory():
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    X, y = load_diabetes(return_X_y=True)

    def objective(trial):
        C = trial.suggest_float("C", 1e-2, 1e4, log=True)
        gamma = trial.suggest_float("gamma", 1e-4, 1e1, log=True)
        epsilon = trial.suggest_float("epsilon", 1e-2, 1e2, log=True)
        model = make_pipeline(StandardScaler(), SVR(C=C, gamma=gamma, epsilon=epsilon))
        scores = cross_val_score(model, X, y, cv=5, scoring="neg_root_mean_squared_error")
        return float(-scores.mean())

    return objective


def main() -> None:
    import optuna
    from tailstop.callbacks import OptunaCallback

    from tailstop import analyze

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("tailstop").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    objective = objective_factory()

    start = time.perf_counter()
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=args.seed))
    callback = OptunaCallback(budget=args.budget, bounds=(0, None))
    study.optimize(objective, n_trials=args.budget, callbacks=[callback])
    stopped = len(study.trials)
    study.optimize(objective, n_trials=args.trials - stopped)  # the rest, to see what it found
    scores = np.array([t.value for t in study.trials])
    print(f"{args.trials} trials in {time.perf_counter() - start:.0f} s")
    best_at = {k: scores[:k].min() for k in (stopped, args.budget, args.trials)}
    print(f"1. the callback (budget {args.budget}) stopped after {stopped} trials: "
          f"{callback.reason}")
    print(f"   best then {best_at[stopped]:.4f}; at the budget ({args.budget}) "
          f"{best_at[args.budget]:.4f}; after all {args.trials} {best_at[args.trials]:.4f}")
    print("2. analyze on the first n trials (bounds (0, None)):")
    print(f"   {'n':>5} {'best':>9} {'best possible [90%]':>30} {'c':>3} {'noise':>7} "
          f"{'gain in k more [90%]':>30} {'k':>5} {'realised':>9}")
    for n in (stopped, 1000, args.trials):
        if n > args.trials:
            continue
        estimate = analyze(scores[:n], "minimize", bounds=(0, None))
        bp = estimate.best_possible
        k = min(n, args.trials - n)
        gain = estimate.expected_gain(k) if k > 0 else None
        realised = scores[:n].min() - scores[: n + k].min() if k > 0 else float("nan")
        gain_text = (f"{gain.estimate:.4f} [{gain.low:.4f}, {gain.high:.4f}]"
                     if gain is not None else "-")
        print(f"   {n:>5} {scores[:n].min():>9.4f} "
              f"{f'{bp.estimate:.4f} [{bp.low:.4f}, {bp.high:.4f}]':>30} "
              f"{estimate.effective_dimension.estimate:>3} {estimate.noise:>7.4f} "
              f"{gain_text:>30} {k:>5} {realised:>9.4f}")


if __name__ == "__main__":
    main()

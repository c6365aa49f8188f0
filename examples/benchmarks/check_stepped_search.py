"""A real search tailstop has not seen, whose score comes in steps (accuracy on a finite set).

An RBF support-vector classifier on the first 500 of scikit-learn's digits, two
hyperparameters (``C``, ``gamma``, log-uniform), scored by 3-fold cross-validated accuracy:
steps of 1/500, and within a step differences of a few 1.2e-5 (folds of 167, 167 and 166
examples). Runs Optuna's ``RandomSampler`` for ``--trials`` trials, then prints:

1. ``analyze`` on the first ``--budget`` trials and on all of them, without and with
   ``resolution=1/500``: the tail chosen, the effective dimension, the best possible and
   whether the law fits;
2. a live monitor fed the first ``--budget`` trials in order (that budget, the default rule and
   ``GainBelow(1/500)``), without and with the resolution: where it stopped, the best it had,
   and the best of the budget and of the whole search.

Run from the repository root (about 3 minutes at the defaults; needs scikit-learn and optuna)::

    PYTHONPATH=src python examples/benchmarks/check_stepped_search.py
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

STEP = 1 / 500


def objective_factory():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    features, labels = load_digits(return_X_y=True)
    features, labels = features[:500], labels[:500]

    def objective(trial):
        model = SVC(C=trial.suggest_float("C", 1e-3, 1e3, log=True),
                    gamma=trial.suggest_float("gamma", 1e-6, 1.0, log=True))
        return float(cross_val_score(model, features, labels, cv=3).mean())

    return objective


def describe(estimate) -> str:
    bp = estimate.best_possible
    return (f"tail {estimate.tail_fraction:5.1%}  c = {estimate.effective_dimension.estimate:<2}  "
            f"best possible {bp.estimate:.4f} [{bp.low:.4f}, {bp.high:.4f}]  "
            f"fits: {'yes' if estimate.fits_well else 'no: ' + estimate.fit_reason[:60]}")


def main() -> None:
    import optuna

    from tailstop import GainBelow, Monitor, analyze

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=600)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=args.seed))
    study.optimize(objective_factory(), n_trials=args.trials)
    scores = np.array([t.value for t in study.trials], dtype=float)
    top = np.sort(scores[: args.budget])[-40:]
    print(f"{args.trials} trials; best {scores.max():.6f}; of the best 40 of the first "
          f"{args.budget}, {np.unique(top).size} distinct values, "
          f"{np.unique(np.round(top / STEP)).size} distinct steps of 1/500")
    print("\n1. analyze")
    for n in (args.budget, args.trials):
        for resolution in (None, STEP):
            est = analyze(scores[:n], "maximize", bounds=(0, 1), resolution=resolution)
            label = "resolution 1/500" if resolution else "no resolution"
            print(f"  {n:>4} trials, {label:<16}  {describe(est)}")
    print(f"\n2. a live monitor, budget {args.budget}")
    budget_best = scores[: args.budget].max()
    for rule_name, rule in (("GainBelow()", None), ("GainBelow(1/500)", GainBelow(STEP))):
        for resolution in (None, STEP):
            monitor = Monitor("maximize", rule, budget=args.budget, bounds=(0, 1),
                              resolution=resolution)
            used = args.budget
            for i, score in enumerate(scores[: args.budget]):
                monitor.observe(score)
                if monitor.should_stop:
                    used = i + 1
                    break
            label = "resolution 1/500" if resolution else "no resolution"
            print(f"  {rule_name:<17} {label:<16} stopped after {used:>3}: best "
                  f"{scores[:used].max():.4f} (budget's {budget_best:.4f}, all "
                  f"{scores.max():.4f}); {describe(monitor.estimate)}")


if __name__ == "__main__":
    main()

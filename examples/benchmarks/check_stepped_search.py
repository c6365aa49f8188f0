"""Real searches tailstop has not seen, whose score comes in steps (accuracy on a finite set).

``--search svc`` (the default): an RBF support-vector classifier on the first 500 of
scikit-learn's digits, two hyperparameters (``C``, ``gamma``, log-uniform), scored by 3-fold
cross-validated accuracy: steps of 1/500, and within a step differences of a few 1.2e-5 (folds
of 167, 167 and 166 examples). ``--search knn``: a k-nearest-neighbours classifier on the first
600 digits, the neighbour count (1-59) and two binary choices (uniform or distance weights,
Manhattan or Euclidean distance), 3-fold accuracy in steps of 1/600: a search with no
continuous hyperparameter. ``--search tree``: a decision tree on the wine data (178 examples),
its depth (1-29) and leaf size (1-39) and the split criterion, its seed drawn per trial, 3-fold
accuracy in steps of about 1/178. Runs Optuna's ``RandomSampler`` for ``--trials`` trials, then
prints:

1. ``analyze`` on the first ``--budget`` trials and on all of them, without and with the
   step as ``resolution``: the tail chosen, the effective dimension, the best possible and
   whether the law fits;
2. a live monitor fed the first ``--budget`` trials in order (that budget, the default rule and
   ``GainBelow(step)``), without and with the resolution, given the scores alone or also each
   trial's parameters (as the Optuna callback gives them: repeated configurations that score
   the same every time make the monitor hold the seed noise at 0, see ``tailstop.repeats``):
   where it stopped, the best it had, and the best of the budget and of the whole search.

Run from the repository root (1-3 minutes per search; needs scikit-learn and optuna)::

    PYTHONPATH=src python examples/benchmarks/check_stepped_search.py [--search knn]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np


def svc_search():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    features, labels = load_digits(return_X_y=True)
    features, labels = features[:500], labels[:500]

    def objective(trial):
        model = SVC(C=trial.suggest_float("C", 1e-3, 1e3, log=True),
                    gamma=trial.suggest_float("gamma", 1e-6, 1.0, log=True))
        return float(cross_val_score(model, features, labels, cv=3).mean())

    return objective, 1 / 500, "1/500"


def knn_search():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    features, labels = load_digits(return_X_y=True)
    features, labels = features[:600], labels[:600]

    def objective(trial):
        model = KNeighborsClassifier(
            trial.suggest_int("n_neighbors", 1, 59),
            weights=trial.suggest_categorical("weights", ["uniform", "distance"]),
            p=trial.suggest_categorical("p", [1, 2]),
        )
        return float(cross_val_score(model, features, labels, cv=3).mean())

    return objective, 1 / 600, "1/600"


def tree_search():
    from sklearn.datasets import load_wine
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier

    features, labels = load_wine(return_X_y=True)

    def objective(trial):
        model = DecisionTreeClassifier(
            max_depth=trial.suggest_int("max_depth", 1, 29),
            min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 39),
            criterion=trial.suggest_categorical("criterion", ["gini", "entropy"]),
            random_state=trial.number,
        )
        return float(cross_val_score(model, features, labels, cv=3).mean())

    return objective, 1 / 178, "1/178"


SEARCHES = {"svc": svc_search, "knn": knn_search, "tree": tree_search}


def describe(estimate) -> str:
    bp = estimate.best_possible
    return (f"tail {estimate.tail_fraction:5.1%}  c = {estimate.effective_dimension.estimate:<2}  "
            f"best possible {bp.estimate:.4f} [{bp.low:.4f}, {bp.high:.4f}]  "
            f"fits: {'yes' if estimate.fits_well else 'no: ' + estimate.fit_reason[:60]}")


def main() -> None:
    import optuna

    from tailstop import GainBelow, Monitor, analyze

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", choices=sorted(SEARCHES), default="svc")
    parser.add_argument("--trials", type=int, default=600)
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    objective, step, step_text = SEARCHES[args.search]()
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=args.seed))
    study.optimize(objective, n_trials=args.trials)
    scores = np.array([t.value for t in study.trials], dtype=float)
    top = np.sort(scores[: args.budget])[-40:]
    print(f"{args.search}: {args.trials} trials; best {scores.max():.6f}; of the best 40 of the "
          f"first {args.budget}, {np.unique(top).size} distinct values, "
          f"{np.unique(np.round(top / step)).size} distinct steps of {step_text}")
    print("\n1. analyze")
    for n in (args.budget, args.trials):
        for resolution in (None, step):
            est = analyze(scores[:n], "maximize", bounds=(0, 1), resolution=resolution)
            label = f"resolution {step_text}" if resolution else "no resolution"
            print(f"  {n:>4} trials, {label:<16}  {describe(est)}")
    print(f"\n2. a live monitor, budget {args.budget}")
    budget_best = scores[: args.budget].max()
    params = [t.params for t in study.trials]
    for rule_name, rule in (("GainBelow()", None), (f"GainBelow({step_text})", GainBelow(step))):
        for resolution in (None, step):
            for with_params in (False, True):
                monitor = Monitor("maximize", rule, budget=args.budget, bounds=(0, 1),
                                  resolution=resolution)
                used = args.budget
                changes = []  # (trial, verdict) whenever the repeats' verdict changed
                for i, score in enumerate(scores[: args.budget]):
                    before = monitor.repeats.deterministic
                    monitor.observe(score, config=params[i] if with_params else None)
                    if monitor.repeats.deterministic != before:
                        changes.append(f"{monitor.repeats.deterministic} at {i + 1}")
                    if monitor.should_stop:
                        used = i + 1
                        break
                label = f"resolution {step_text}" if resolution else "no resolution"
                repeats = monitor.repeats
                seen = (f"params: {repeats.n_repeated:>2} repeated, deterministic "
                        f"{', '.join(changes) or None}" if with_params else "scores only")
                print(f"  {rule_name:<17} {label:<16} {seen:<48} stopped after {used:>3}: best "
                      f"{scores[:used].max():.4f} (budget's {budget_best:.4f}, all "
                      f"{scores.max():.4f}); {describe(monitor.estimate)}")


if __name__ == "__main__":
    main()

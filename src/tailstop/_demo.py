"""``tailstop demo``: a real random search, stopped by tailstop (private; run by the CLI).

An RBF support vector machine on scikit-learn's breast cancer data (569 tumours, 30
features), scored by 5-fold cross-validated accuracy; the folds are reshuffled for every
trial, which is the seed noise of the search. Optuna's ``RandomSampler`` draws three
hyperparameters: ``C`` and ``gamma`` (log-uniform) and ``class_weight``. tailstop's Optuna
callback refits the tail as trials finish and stops the study once the expected gain over the
rest of the budget is below one tumour's worth of accuracy (1/569). Needs ``optuna``,
``scikit-learn`` and, for the figure, ``matplotlib``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from tailstop._io import MissingDependencyError, require

STUDY_NAME = "tailstop-demo"
BAR_WIDTH = 20


def make_objective(seed: int = 0) -> Any:
    """The objective: 5-fold cross-validated accuracy of an RBF SVM on breast cancer data."""
    require("sklearn", "demo")
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    features, labels = load_breast_cancer(return_X_y=True)

    def objective(trial: Any) -> float:
        model = make_pipeline(
            StandardScaler(),
            SVC(
                C=trial.suggest_float("C", 1e-3, 1e3, log=True),
                gamma=trial.suggest_float("gamma", 1e-5, 1e1, log=True),
                class_weight=trial.suggest_categorical("class_weight", [None, "balanced"]),
            ),
        )
        folds = StratifiedKFold(5, shuffle=True, random_state=seed * 100_003 + trial.number)
        return float(cross_val_score(model, features, labels, cv=folds).mean())

    return objective


class _MonitorCallback:
    """The Optuna callback's behaviour from a bare Monitor, for a source checkout where
    ``tailstop.callbacks`` is not importable (the package is not installed)."""

    def __init__(self, **options: Any) -> None:
        from tailstop.monitor import Monitor

        self.monitor = Monitor("maximize", **options)
        self._report: dict | None = None
        self._refits = -1

    @property
    def estimate(self) -> Any:
        return self.monitor.estimate

    @property
    def reason(self) -> str | None:
        return self.monitor.reason if self.monitor.should_stop else None

    def report(self) -> dict | None:
        refits = self.monitor.refits
        if refits != self._refits:  # like the callback: a new report after each refit
            self._report, self._refits = self.monitor.report(), refits
        return self._report

    def __call__(self, study: Any, trial: Any) -> None:
        from optuna.trial import TrialState

        value = trial.value if trial.state == TrialState.COMPLETE else None
        self.monitor.observe(value)
        if self.monitor.should_stop:
            study.set_user_attr("tailstop:stop", {"reason": self.monitor.reason})
            study.stop()


# The smallest gain worth having: one tumour of the 569 classified better (cross-validated
# accuracy moves in steps of 1/569). The default epsilon, the seed noise's low end, is 0 in
# most searches of a few hundred trials, and the rule would run most of the budget.
EPSILON = 1 / 569


def _callback(budget: int) -> Any:
    from tailstop.rules import GainBelow

    options: dict[str, Any] = {
        "rule": GainBelow(EPSILON), "budget": budget, "bounds": (0.0, 1.0), "max_dimension": 3,
    }
    try:
        from tailstop.callbacks import OptunaCallback
    except ImportError:
        return _MonitorCallback(**options)
    return OptunaCallback(**options)


class _Progress:
    """One line per trial: a bar, the best so far, the best possible [low, high] and the
    expected gain over the rest of the budget, from the callback's latest report (written
    after each refit, so showing it costs nothing)."""

    def __init__(self, watcher: Any, budget: int, stream: Any = None) -> None:
        self.watcher, self.budget = watcher, budget
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.started = time.monotonic()
        self.n, self.best = 0, None

    def line(self) -> str:
        filled = round(BAR_WIDTH * min(self.n / self.budget, 1.0))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        best = "-" if self.best is None else f"{self.best:.4f}"
        text = f"[{bar}] {self.n:>4}/{self.budget}  best {best}"
        report = self.watcher.report()
        if not report or not report.get("best_possible"):
            return text + "  (fitting from 20 trials)"
        bp, gain = report["best_possible"], report["expected_gain"]
        return (
            f"{text}  best possible {bp['estimate']:.4f} [{bp['low']:.4f}, {bp['high']:.4f}]"
            f"  gain left {gain['estimate']:.2g} (<= {gain['high']:.2g})"
        )

    def __call__(self, study: Any, trial: Any) -> None:
        self.n += 1
        if trial.value is not None and (self.best is None or trial.value > self.best):
            self.best = trial.value
        text = self.line()
        if self.live:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
        self.stream.write(f"{time.monotonic() - self.started:.0f} s\n")


def _finished() -> tuple:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def _fresh_study(optuna: Any, storage: str, seed: int) -> Any:
    name = STUDY_NAME
    try:
        optuna.delete_study(study_name=name, storage=storage)
        print(f"(replacing the previous {name!r} study in {storage})")
    except KeyError:
        pass
    return optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo with the CLI's arguments (storage, trials, seed, plot); the exit code."""
    from tailstop.cli import format_report, write_plot

    optuna = require("optuna", "demo")  # (the demo's extra has both optuna and sklearn)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = make_objective(args.seed)
    study = _fresh_study(optuna, args.storage, args.seed)
    watcher = _callback(args.trials)
    progress = _Progress(watcher, args.trials)
    print(
        f"Random search of an SVM on the breast cancer data (5-fold CV accuracy), "
        f"budget {args.trials} trials; tailstop stops it when more trials are not worth it.\n"
        f"Follow it from another terminal: tailstop watch {args.storage} "
        f"--study {STUDY_NAME}\n"
    )
    try:
        study.optimize(objective, n_trials=args.trials, callbacks=[watcher, progress])
    finally:
        progress.close()
    n = len(study.get_trials(deepcopy=False, states=_finished()))
    reason = watcher.reason
    if reason:
        print(f"\ntailstop stopped the search after {n} of {args.trials} trials: {reason}\n")
    else:
        print(f"\nthe search used its budget of {args.trials} trials\n")
    estimate = watcher.estimate
    if estimate is None:
        print("too few trials for an estimate")
        return 0
    if estimate.n_trials < n:
        print(
            f"(the estimate below is the one the last decision used, refitted at "
            f"{estimate.n_trials} trials: past 50 trials the monitor refits when the search "
            f"has grown by 2%)\n"
        )
    print(format_report(estimate, source=f"study {STUDY_NAME!r} in {args.storage}"))
    if args.plot:
        try:
            write_plot(estimate, args.plot)
        except MissingDependencyError as exc:
            print(f"\nno plot: {exc}")
        else:
            print(f"\nwrote the tuning curve to {args.plot}")
    print(
        f"\nRe-read it any time: tailstop analyze {args.storage} --study {STUDY_NAME} "
        "--plot curve.png"
    )
    return 0

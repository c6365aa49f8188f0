"""Random search with Optuna that stops itself once more trials would not pay.

The objective stands in for "train a model, return its validation accuracy": three
hyperparameters, a smooth optimum, and seed noise (two runs of one configuration differ).
``OptunaCallback`` refits the noisy quadratic law as trials finish, logs one line per refit,
writes its report to ``study.user_attrs["tailstop:report"]`` and stops the study when the
expected gain over the rest of the budget is below the seed noise.

With ``--measure-noise N`` the search pauses after N trials to measure its seed noise the way
the README recommends (the five best configurations re-run with three new seeds each, pooled by
``tailstop.seed_noise``), hands it to the callback (``set_noise``) and goes on.

    python examples/optuna_random_search.py               # budget of 300 trials
    python examples/optuna_random_search.py --trials 60   # a quick run
    python examples/optuna_random_search.py --measure-noise 64
    python examples/optuna_random_search.py --background  # refits beside the search

With ``--background`` the callback refits in a background thread (``background=True``), so the
search does not wait for refits; ``callback.flush()`` waits for the last one before the report
is read.
"""

from __future__ import annotations

import argparse
import json
import logging
import math

import numpy as np
import optuna
from tailstop.callbacks import OptunaCallback

from tailstop import seed_noise


def validation_accuracy(lr: float, dropout: float, weight_decay: float, seed: int) -> float:
    """A stand-in for training: smooth near its optimum, saturating far from it, noisy."""
    distance = (
        ((math.log10(lr) + 2.5) / 1.2) ** 2
        + ((dropout - 0.2) / 0.35) ** 2
        + ((math.log10(weight_decay) + 4.0) / 3.0) ** 2
    )
    noise = np.random.default_rng(seed).normal(0.0, 0.002)
    return 0.93 - 0.5 * (1.0 - math.exp(-distance)) + noise


def objective(trial: optuna.Trial) -> float:
    return validation_accuracy(
        lr=trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        dropout=trial.suggest_float("dropout", 0.0, 0.7),
        weight_decay=trial.suggest_float("weight_decay", 1e-7, 1e-1, log=True),
        seed=trial.number,
    )


def measure_noise(study: optuna.Study, callback: OptunaCallback, top: int = 5,
                  seeds: int = 3) -> None:
    """Re-run the ``top`` best configurations with ``seeds`` new seeds; pass the pooled noise."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = sorted(done, key=lambda t: t.value, reverse=True)[:top]
    runs = [
        [validation_accuracy(**t.params, seed=10**6 + seeds * t.number + s) for s in range(seeds)]
        for t in best
    ]
    noise = seed_noise(runs)
    print(f"seed noise measured on the {len(best)} best configurations x {seeds} seeds: "
          f"{noise.estimate:.4f} [{noise.low:.4f}, {noise.high:.4f}] (the objective's: 0.002)")
    callback.set_noise(noise.estimate)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300, help="budget of trials")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random sampler")
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: memory)")
    parser.add_argument("--measure-noise", type=int, default=0, metavar="N",
                        help="after N trials, measure the seed noise and give it to tailstop")
    parser.add_argument("--background", action="store_true",
                        help="refit in a background thread (OptunaCallback(background=True))")
    parser.add_argument("--minutes", type=float, default=None,
                        help="a time budget too (optimize's timeout, the callback's "
                             "time_budget): the horizon is then the trials the time left allows")
    args = parser.parse_args(argv)
    seconds = None if args.minutes is None else 60.0 * args.minutes

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    study = optuna.create_study(
        direction="maximize",
        storage=args.storage,
        sampler=optuna.samplers.RandomSampler(seed=args.seed),  # the law is about random search
    )
    callback = OptunaCallback(budget=args.trials, bounds=(0.0, 1.0), background=args.background,
                              time_budget=seconds)
    if 0 < args.measure_noise < args.trials:
        study.optimize(objective, n_trials=args.measure_noise, callbacks=[callback])
        callback.flush()  # (background: the refits of these trials done)
        if callback.reason is None:
            measure_noise(study, callback)
    if callback.reason is None:
        study.optimize(objective, n_trials=args.trials - len(study.trials), callbacks=[callback],
                       timeout=seconds)
    callback.flush()

    report = study.user_attrs.get("tailstop:report", {})
    print()
    print(f"ran {len(study.trials)} of {args.trials} trials; best {study.best_value:.4f}")
    print(f"tailstop: {callback.reason or 'ran the whole budget'}")
    if callback.estimate is not None:
        print(callback.estimate)
    print("report stored in the study:", json.dumps(report)[:200], "...")
    return {"trials": len(study.trials), "budget": args.trials, "report": report}


if __name__ == "__main__":
    main()

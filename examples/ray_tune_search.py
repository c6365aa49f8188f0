"""Random search with Ray Tune, ended by tailstop once more trials would not pay.

``RayTuneStopper`` is both the experiment's stopper (``stop_all`` ends it) and a callback
(it sees errored trials and logs a summary).  It records each trial once, on its final result.

    python examples/ray_tune_search.py               # up to 200 trials
    python examples/ray_tune_search.py --trials 40   # a quick run

On a small machine, keep ``reuse_actors=True`` (a new actor per trial costs seconds) and a
small ``TUNE_MAX_PENDING_TRIALS_PG`` (else random search queues 200 trials up front).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile

import numpy as np

os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", "2")

import ray
from ray import tune
from tailstop.callbacks import RayTuneStopper


def trainable(config: dict) -> None:
    """A stand-in for training: three epochs; the last validation accuracy is the score."""
    distance = (
        ((math.log10(config["lr"]) + 2.5) / 1.2) ** 2
        + ((config["dropout"] - 0.2) / 0.35) ** 2
    )
    rng = np.random.default_rng(config["seed"])
    for epoch in range(1, 4):
        accuracy = 0.93 - 0.5 * (1.0 - math.exp(-distance)) - 0.05 / epoch
        tune.report({"accuracy": accuracy + rng.normal(0.0, 0.002), "epoch": epoch})


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="budget of trials")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage-path", default=None, help="default: a temporary directory")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("tailstop").setLevel(logging.INFO)
    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(include_dashboard=False, log_to_driver=False)

    space = {
        "lr": tune.loguniform(1e-5, 1e-1),
        "dropout": tune.uniform(0.0, 0.7),
        "seed": tune.randint(0, 2**31 - 1),
    }
    # (search_space: the ranges of the report's range_edges, a hyperparameter whose best trials
    # crowd an end; without it they are read off the trials' configs)
    stopper = RayTuneStopper("accuracy", "max", budget=args.trials, bounds=(0.0, 1.0),
                             search_space=space)
    try:
        with tempfile.TemporaryDirectory() as folder:
            tuner = tune.Tuner(
                trainable,
                param_space=space,
                tune_config=tune.TuneConfig(
                    num_samples=args.trials,
                    reuse_actors=True,
                    search_alg=tune.search.BasicVariantGenerator(random_state=args.seed),
                ),
                run_config=tune.RunConfig(
                    name="tailstop-example",
                    storage_path=args.storage_path or folder,
                    stop=stopper,
                    callbacks=[stopper],
                    verbose=0,
                ),
            )
            tuner.fit()
    finally:
        if started_ray:
            ray.shutdown()

    report = stopper.report()
    print()
    print(f"recorded {len(stopper.scores)} finished trials of a budget of {args.trials}")
    print(f"tailstop: {stopper.monitor.reason}")
    if stopper.estimate is not None:
        print(stopper.estimate)
    return {"recorded": len(stopper.scores), "budget": args.trials, "report": report,
            "stopped": stopper.stop_all()}


if __name__ == "__main__":
    main()

"""Benchmark: what RayTuneStopper costs a local Ray Tune run, refitting beside or in the driver.

``--trials`` trials of a 2-hyperparameter function trainable that reports once and returns at
once (``reuse_actors=True``, ``TUNE_MAX_PENDING_TRIALS_PG=2``), the rule ``GainBelow(1e-12)``
with a far budget (it never stops the experiment, and it refits as the monitor's schedule
says), three ways, interleaved over ``--repeats`` repeats:

* ``no stopper``: the experiment alone;
* ``in driver``: ``RayTuneStopper(..., background=False)``: every refit runs inside Ray's call
  to the stopper, in the driver (what the stopper did before session 19);
* ``shipped``: the default, refits in a background thread.

Printed per way: the wall time, the time spent inside the stopper's calls (Ray's driver waits
for them), their median / 95th percentile / longest, and the refits.

    PYTHONPATH=src python examples/benchmarks/bench_ray_overhead.py
    PYTHONPATH=src python examples/benchmarks/bench_ray_overhead.py --trials 60 --repeats 1
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
import warnings

os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", "2")

import numpy as np
import ray
from ray import tune
from tailstop.callbacks import RayTuneStopper

from tailstop.rules import GainBelow


def trainable(config: dict) -> None:
    distance = (
        ((math.log10(config["lr"]) + 2.5) / 1.2) ** 2 + ((config["dropout"] - 0.2) / 0.35) ** 2
    )
    noise = np.random.default_rng(config["seed"]).normal(0.0, 0.002)
    tune.report({"accuracy": 0.93 - 0.5 * (1.0 - math.exp(-distance)) + noise})


class TimedStopper(RayTuneStopper):
    """The stopper, timing each of Ray's calls to it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds: list[float] = []

    def __call__(self, trial_id: str, result: dict) -> bool:
        started = time.perf_counter()
        try:
            return super().__call__(trial_id, result)
        finally:
            self.seconds.append(time.perf_counter() - started)


def run(way: str, trials: int, seed: int, directory: str) -> dict:
    stopper = None
    if way != "no stopper":
        stopper = TimedStopper("accuracy", "max", GainBelow(1e-12), budget=10**6,
                               bounds=(0.0, 1.0), background=way == "shipped")
    config = {"name": "overhead", "storage_path": tempfile.mkdtemp(dir=directory), "verbose": 0}
    if stopper is not None:
        config.update(stop=stopper, callbacks=[stopper])
    space = {
        "lr": tune.loguniform(1e-5, 1e-1),
        "dropout": tune.uniform(0.0, 0.7),
        "seed": tune.randint(0, 2**31 - 1),
    }
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            num_samples=trials,
            reuse_actors=True,
            search_alg=tune.search.BasicVariantGenerator(random_state=seed),
        ),
        run_config=tune.RunConfig(**config),
    )
    started = time.perf_counter()
    tuner.fit()
    wall = time.perf_counter() - started
    if stopper is None:
        return {"wall": wall, "inside": 0.0, "calls": np.zeros(1), "refits": 0}
    stopper.flush()
    calls = np.array(stopper.seconds)
    return {"wall": wall, "inside": calls.sum(), "calls": calls,
            "refits": len(stopper.monitor.history)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.getLogger("tailstop").setLevel(logging.WARNING)
    ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    ways = ("no stopper", "in driver", "shipped")
    results: dict[str, list] = {way: [] for way in ways}
    with tempfile.TemporaryDirectory() as directory:
        for repeat in range(args.repeats):
            for way in ways:
                results[way].append(run(way, args.trials, repeat, directory))
    print(f"{args.trials} instant trials, local Ray on {os.cpu_count()} cores, "
          f"{args.repeats} repeats")
    print(f"{'way':<11} {'wall s':>13} {'in stopper s':>13} {'call p50 ms':>12} "
          f"{'p95 ms':>8} {'max ms':>8} {'refits':>8}")
    for way in ways:
        rows = results[way]
        walls = [r["wall"] for r in rows]
        inside = [r["inside"] for r in rows]
        calls = np.concatenate([r["calls"] for r in rows])
        print(f"{way:<11} {min(walls):>6.1f}-{max(walls):<6.1f}"
              f" {min(inside):>6.2f}-{max(inside):<6.2f}"
              f" {1e3 * np.median(calls):>12.2f} {1e3 * np.percentile(calls, 95):>8.1f}"
              f" {1e3 * calls.max():>8.0f} {min(r['refits'] for r in rows):>4}-"
              f"{max(r['refits'] for r in rows):<3}")
    ray.shutdown()


if __name__ == "__main__":
    main()

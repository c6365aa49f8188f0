"""Robustness check: ``OptunaCallback(background=True)`` on many random Optuna searches.

Each case runs a random search (RandomSampler) with random settings: in-memory or SQLite
storage, ``n_jobs`` 1 to 3, trials that fail (raise), are pruned or return NaN, trials that
sleep (C code) or hold the interpreter lock for a few milliseconds, a random rule (the default,
``GainBelow``, ``NearOptimum``, ``Patience``) with or without a budget, and a random
``min_trials``. After ``optimize`` and ``flush`` a case fails if:

* ``flush`` did not return within 120 s, or the callback logged a failure (``n_errors``);
* the monitor did not read every finished trial (COMPLETE, FAIL and PRUNED) exactly once;
* the report in storage is not plain JSON, or its current best is not the study's best;
* a stop was decided but the study ran more than the lag bound (max(10, 5%) trials, plus one
  in flight per extra worker) past the trials the decision read, or no flag was written.

Prints each failure with what reproduces it, and a summary. Run from the repository root
(about 3 minutes for 40 cases)::

    PYTHONPATH=src python examples/benchmarks/fuzz_optuna_background.py --seed 1 --cases 40
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState
from tailstop.callbacks import OptunaCallback

from tailstop.rules import GainBelow, NearOptimum, Patience

FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def draw_case(rng: np.random.Generator) -> dict:
    rule_kind = str(rng.choice(["default", "gain", "near", "patience"]))
    return {
        "storage": str(rng.choice(["memory", "sqlite"])),
        "n_jobs": int(rng.integers(1, 4)),
        "n_trials": int(rng.integers(30, 151)),
        "min_trials": int(rng.integers(10, 31)),
        "budget": None if rng.random() < 0.4 else int(rng.integers(40, 200)),
        "rule": rule_kind,
        "epsilon": float(10 ** rng.uniform(-4, -1)),
        "patience": int(rng.integers(5, 40)),
        "p_fail": float(rng.choice([0.0, 0.05, 0.2])),
        "p_prune": float(rng.choice([0.0, 0.1])),
        "p_nan": float(rng.choice([0.0, 0.05])),
        "work": str(rng.choice(["sleep", "python", "none"])),
        "ms": float(rng.uniform(0.0, 5.0)),
        "seed": int(rng.integers(2**31)),
    }


def make_rule(case: dict):
    return {
        "default": None,
        "gain": GainBelow(case["epsilon"]),
        "near": NearOptimum(case["epsilon"]),
        "patience": Patience(case["patience"]),
    }[case["rule"]]


def run_case(case: dict, folder: Path) -> tuple[list[str], bool]:
    rng_seed = case["seed"]

    def objective(trial: optuna.Trial) -> float:
        rng = np.random.default_rng([rng_seed, trial.number])
        x = trial.suggest_float("x", -1.0, 1.0)
        y = trial.suggest_float("y", -1.0, 1.0)
        seconds = case["ms"] / 1e3
        if case["work"] == "sleep":
            time.sleep(seconds)
        elif case["work"] == "python":
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                sum(i * i for i in range(100))
        draw = rng.random()
        if draw < case["p_fail"]:
            raise RuntimeError("injected trial failure")
        if draw < case["p_fail"] + case["p_prune"]:
            raise optuna.TrialPruned()
        if draw < case["p_fail"] + case["p_prune"] + case["p_nan"]:
            return math.nan
        return float(-(x * x + 2.0 * y * y) + rng.normal(0.0, 0.01))

    storage = None if case["storage"] == "memory" else f"sqlite:///{folder / 'study.db'}"
    study = optuna.create_study(direction="maximize", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=rng_seed % 2**31))
    callback = OptunaCallback(make_rule(case), budget=case["budget"],
                              min_trials=case["min_trials"], background=True)
    study.optimize(objective, n_trials=case["n_trials"], n_jobs=case["n_jobs"],
                   callbacks=[callback], catch=(RuntimeError,))
    problems = []
    if not callback.flush(timeout=120):
        return ["flush did not return within 120 s"], False
    if callback.n_errors:
        problems.append(f"{callback.n_errors} callback failures logged")
    finished = study.get_trials(states=FINISHED)
    monitor = callback.monitor
    if monitor is None or monitor.n_trials != len(finished):
        problems.append(f"monitor read {None if monitor is None else monitor.n_trials} "
                        f"of {len(finished)} finished trials")
    report = study.user_attrs.get("tailstop:report")
    if report is not None:
        if json.loads(json.dumps(report)) != report:
            problems.append("the report is not plain JSON")
        complete = [t.value for t in finished
                    if t.state == TrialState.COMPLETE and not math.isnan(t.value)]
        if complete and report.get("current_best") != max(complete):
            problems.append(f"report's current best {report.get('current_best')} is not the "
                            f"study's {max(complete)}")
    if callback.reason is not None:
        flag = study.user_attrs.get("tailstop:stop")
        if not flag and "stopping, as decided" not in callback.reason:
            problems.append("a stop was decided but no flag was written")
        elif flag and flag.get("n_trials") is not None:
            decided = int(flag["n_trials"])
            allowed = max(10, 0.05 * len(study.trials)) + case["n_jobs"] + 1
            if len(study.trials) > decided + allowed and len(study.trials) < case["n_trials"]:
                problems.append(f"ran {len(study.trials)} trials, decided at {decided}")
    return problems, callback.reason is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    logging.getLogger("tailstop").setLevel(logging.ERROR)
    rng = np.random.default_rng(args.seed)
    failures = 0
    stopped = 0
    start = time.perf_counter()
    for index in range(args.cases):
        case = draw_case(rng)
        with tempfile.TemporaryDirectory() as folder:
            try:
                problems, stop = run_case(case, Path(folder))
            except Exception as exc:  # anything escaping optimize is a failure too
                problems, stop = [f"{type(exc).__name__}: {exc}"], False
        stopped += stop
        if problems:
            failures += 1
            print(f"case {index} FAILED: {'; '.join(problems)}\n  {case}")
    print(f"{args.cases} cases ({stopped} stopped by their rule) in "
          f"{time.perf_counter() - start:.0f} s, failures: {failures}")


if __name__ == "__main__":
    main()

"""Robustness check: a ``Monitor`` fed trial by trial must never raise, whatever the search.

Each case is one of ``fuzz_analyze.py``'s random searches (a noisy quadratic law with c 1..10
and noise up to 3 times its width, sometimes rounded, with failed trials, blocks of ties,
either direction, random confidence, ``max_dimension`` and ``bounds``), fed to a ``Monitor``
one trial at a time with a trial duration, half the time a budget, for 40% of the cases a
time budget (on a simulated clock that the durations advance, from 0.3 to 3 times the
search's total time, so that some run out mid-search), and for 30% of the cases a
configuration per trial drawn from 40 (so that some repeat, for the repeats detector). The
rules take turns: the default, ``GainBelow`` with and without ``probability``,
``NearOptimum``, ``CostBenefit``, ``Patience``, ``any_of`` and ``all_of``. Every 17 trials
the report goes through JSON and the reason must be a non-empty string; at the end the
estimate's ``str`` and ``to_dict`` and an idempotent ``update`` with the whole history run.
A case fails on any exception. Prints each failure and a summary with the slowest
``observe`` of each case (a refit).

Run from the repository root (about 5 minutes per 40 cases)::

    PYTHONPATH=src python examples/benchmarks/fuzz_monitor.py --seed 11 --cases 40
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz_analyze import draw_case

from tailstop import Monitor
from tailstop._clock import SearchClock
from tailstop.rules import (
    CostBenefit,
    GainBelow,
    NearOptimum,
    Patience,
    all_of,
    any_of,
)


def rules_for(span: float) -> list:
    """The rules the cases take in turn, their thresholds in the search's units."""
    return [
        None,
        GainBelow(0.01 * span),
        GainBelow(0.01 * span, probability=0.1),
        NearOptimum(0.01 * span),
        CostBenefit(1.0, 100.0 / max(span, 1e-12)),
        Patience(15),
        any_of(Patience(30), GainBelow(0.001 * span)),
        all_of(NearOptimum(0.05 * span), Patience(10)),
    ]


def run_case(case: dict, index: int, rng: np.random.Generator) -> float:
    """Feed the case to a Monitor; returns the slowest ``observe`` in seconds."""
    ys = case["ys"]
    finite = ys[np.isfinite(ys)]
    span = float(np.ptp(finite)) if finite.size else 1.0
    rules = rules_for(span)
    budget = int(rng.integers(ys.size, 3 * ys.size)) if rng.random() < 0.5 else None
    configs = rng.integers(0, 40, ys.size) if rng.random() < 0.3 else None
    durations = rng.uniform(0.5, 2.0, ys.size)
    time_budget = (float(rng.uniform(0.3, 3.0) * durations.sum()) if rng.random() < 0.4
                   else None)
    monitor = Monitor(case["direction"], rules[index % len(rules)], budget=budget,
                      bounds=case["bounds"], confidence=case["confidence"],
                      max_dimension=case["max_dimension"], time_budget=time_budget)
    now = [0.0]
    monitor._clock = SearchClock(lambda: now[0])  # simulated: the durations advance it
    slowest = 0.0
    for i, y in enumerate(ys):
        now[0] += float(durations[i])
        start = time.perf_counter()
        monitor.observe(None if not np.isfinite(y) else float(y),
                        duration=float(durations[i]),
                        config=None if configs is None else {"x": int(configs[i])})
        slowest = max(slowest, time.perf_counter() - start)
        if i % 17 == 0 or i == ys.size - 1:
            json.dumps(monitor.report())
            if not (isinstance(monitor.reason, str) and monitor.reason):
                raise AssertionError(f"empty reason after trial {i}")
    if monitor.estimate is not None:
        str(monitor.estimate)
        json.dumps(monitor.estimate.to_dict())
    monitor.update(list(np.where(np.isfinite(ys), ys, np.nan)))  # the same history: idempotent
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--cases", type=int, default=40)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    failures, slowest = 0, []
    for index in range(args.cases):
        case = draw_case(rng)
        try:
            slowest.append(run_case(case, index, np.random.default_rng([args.seed, index, 7])))
        except Exception as exc:  # every failure is reported
            failures += 1
            print(f"FAIL case {index} (--seed {args.seed}): {case['direction']}, n = "
                  f"{case['ys'].size}, law {case['law']}, bounds {case['bounds']}: "
                  f"{type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc()
    print(f"{args.cases} cases, failures: {failures}; slowest observe per case: median "
          f"{np.median(slowest):.2f} s, max {max(slowest, default=0.0):.2f} s")


if __name__ == "__main__":
    main()

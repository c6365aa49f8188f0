"""Check: are updates (``analyze(..., previous=)``) as good as fitting afresh, and how fast?

For synthetic searches (``tailstop.synthetic.random_problems``, at 100 and 400 trials) and the
shared real searches (two random orders, at 60 and 300 trials), runs a cold ``analyze`` and
then ``--updates`` updates, one trial each. At every update it refits the same tail with the
global search and reports how often the update's estimate is worse than that fit by more than
0.01 in deviance (``2 (n + 1) dL``), the largest such gap, the CPU time per update, and its
work: the trust-region Newton steps and the parameter sets evaluated (deterministic, unlike the
times on a shared machine).

Run from the repository root (about 5 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_updates.py --problems 14 --updates 8

To compare two revisions, run the same command on each checkout.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

from tailstop import _globalsearch
from tailstop.estimate import _fit_ys, analyze
from tailstop.fitting import fit_parameters, spacing_loss
from tailstop.regime import tail_constraints
from tailstop.synthetic import random_problems

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
GAP = 0.01
WORK = {"on": False, "steps": 0, "sets": 0}


def _counting(step):
    def counted(batch):
        if WORK["on"]:
            rows, points = batch.newton.points()
            WORK["steps"] += 1
            WORK["sets"] += rows.size * points.shape[1] if rows.size else 0
        return step(batch)

    return counted


_globalsearch._Batch.step = _counting(_globalsearch._Batch.step)


def searches(problems: int):
    """(kind, scores, direction, bounds, n) of every search to update."""
    for i, problem in enumerate(random_problems(problems, generator=11)):
        scores = problem.run_search(500, generator=np.random.default_rng(i))
        for n in (100, 400):
            yield f"synthetic n={n}", scores, problem.direction, None, n
    for path in sorted(SCORES.glob("*.csv")):
        with path.open() as fh:
            scores = np.array([float(r["score"]) for r in csv.DictReader(fh)])
        for seed in (0, 1):
            order = np.random.default_rng(seed).permutation(scores)
            for n in (60, 300):
                yield f"{path.stem} n={n}", order, "maximize", (0.0, 1.0), n


def gap_to_global(estimate) -> float:
    """Deviance of the estimate's fit above the global fit of the same tail."""
    clean = estimate._clean
    ys = _fit_ys(clean)
    threshold = estimate.threshold if clean.direction == "maximize" else -estimate.threshold
    limits = (threshold, np.inf)
    fit = estimate._state.fit
    loss = spacing_loss(ys, limits, fit.a, fit.b, fit.c, fit.o, False)
    bounds = clean.bounds if clean.bounds is not None else (-np.inf, np.inf)
    best = fit_parameters(ys, limits, tail_constraints(10, bounds)).loss
    return float(2 * (ys.size + 1) * (loss - best))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=14)
    parser.add_argument("--updates", type=int, default=8)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows: dict[str, list] = {}
    for kind, scores, direction, bounds, n in searches(args.problems):
        estimate = analyze(scores[:n], direction, bounds=bounds)
        for m in range(n + 1, n + args.updates + 1):
            WORK.update(on=True, steps=0, sets=0)
            start = time.process_time()
            estimate = analyze(scores[:m], direction, bounds=bounds, previous=estimate)
            cpu = time.process_time() - start
            WORK["on"] = False
            rows.setdefault(kind, []).append(
                (cpu, gap_to_global(estimate), WORK["steps"], WORK["sets"])
            )
    print(f"updates of one trial each; miss = the update's fit worse than the global fit of the "
          f"same tail by more than {GAP} in deviance")
    print(f"{'search':<26} {'updates':>8} {'misses':>7} {'worst gap':>10} {'CPU ms mean':>12} "
          f"{'steps mean':>11} {'sets mean':>10}")
    everything = []
    for kind, values in [*rows.items(), ("all", None)]:
        values = everything if values is None else values
        if kind != "all":
            everything = everything + values
        cpu, gaps, steps, sets = np.array(values).T
        print(f"{kind:<26} {gaps.size:>8} {int(np.sum(gaps > GAP)):>7} "
              f"{max(gaps.max(), 0.0):>10.3f} {1e3 * cpu.mean():>12.0f} {steps.mean():>11.1f} "
              f"{sets.mean():>10.0f}")


if __name__ == "__main__":
    main()

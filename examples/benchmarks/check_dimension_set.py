"""Check: how often the effective-dimension set holds the true r, and what each tail adds to it.

Problems from ``tailstop.synthetic`` (as in ``bench_analyze.py``: r in {1, 2, 3, 4}, noise /
range in {0, 0.01, 0.05}, both directions), one search each, ``analyze`` at each n.  From the
estimate's private state, the set is rebuilt four ways:

* ``own``: the c whose profile deviance on the chosen tail passes (the set before session 19);
* ``+partner``: with the c of the stability partner's fit;
* ``no union``: with the c of every plausible fit but the deeper tails' of many trials;
* ``shipped``: with the c of every plausible fit (the chosen tail's, the partner's, the deeper
  tails'), every c between included: ``estimate.effective_dimension.consistent``.

Printed per n: how often each holds the true r, and its mean size (the searches draw as in
the session-19 scratch runs whose figures docs/benchmarks.md quotes).

    PYTHONPATH=src python examples/benchmarks/check_dimension_set.py --problems 200 --seed 1
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy import stats

from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.synthetic import random_problems


def sets_of(estimate) -> dict[str, set[int]]:
    state = estimate._state
    critical = stats.chi2.ppf(estimate.confidence, 1)
    own = {c for c, d in state.dimension_deviances.items() if d <= critical}
    own.add(estimate.effective_dimension.estimate)
    partner = set() if state.deeper_fit is None else {int(state.deeper_fit.c)}
    union = set()
    if state.union is not None and state.union[0] is not None:
        union = {int(fit.c) for fit in state.union[2]}
    every = {int(fit.c) for fit in estimate._fits}
    return {
        "own": own,
        "+partner": own | partner,
        "no union": own | partner | (every - (union - own - partner)),
        "shipped": set(estimate.effective_dimension.consistent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    problems = random_problems(args.problems, generator=args.seed)
    rows: dict[int, list] = {n: [] for n in args.ns}
    for index, problem in enumerate(problems):
        generator = np.random.default_rng([args.seed, index])
        scores = problem.run_search(max(args.ns), generator=generator)
        for n in args.ns:
            try:
                estimate = analyze(scores[:n], problem.direction)
            except TailstopError:
                continue
            rows[n].append((problem.effective_dimension, sets_of(estimate)))
    ways = ("own", "+partner", "no union", "shipped")
    print(f"effective-dimension set on {args.problems} synthetic problems (seed {args.seed}): "
          "holds the true r / mean size (min to max)")
    print(f"{'n':>6} {'searches':>9} " + " ".join(f"{way:>15}" for way in ways))
    for n in args.ns:
        cells = []
        for way in ways:
            held = np.mean([min(s[way]) <= r <= max(s[way]) for r, s in rows[n]])
            size = np.mean([max(s[way]) - min(s[way]) + 1 for _, s in rows[n]])
            cells.append(f"{held:>7.3f} / {size:<5.2f}")
        print(f"{n:>6} {len(rows[n]):>9} " + " ".join(f"{cell:>15}" for cell in cells))


if __name__ == "__main__":
    main()

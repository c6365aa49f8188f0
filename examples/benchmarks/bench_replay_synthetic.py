"""Stopping quality on searches tailstop has not seen: replays of synthetic random searches.

``bench_replay.py`` replays the four shared real searches, all with an effective dimension of 1
or 2 and an accuracy metric. Here the searches are drawn from ``tailstop.synthetic``: objectives
over 2-8 hyperparameters, quadratic in r in {1, 2, 3, 4} directions near the optimum and not
quadratic farther out, seed noise 0, 1% or 5% of the score range, maximised and minimised. For
each problem one search of ``--trials`` trials is run, then replayed in ``--orders`` random
orders (the budget known: all its trials) under ``GainBelow(epsilon)`` and the issue-4
baselines, with ``epsilon = --epsilon`` times the problem's score range (0.01 by default: the
real searches' 0.005 is about 1% of their spread of scores).

Per problem it prints the oracle's mean trials (first within epsilon of the search's best) and
each rule's mean trials and success rate; then, per effective dimension and over all problems,
each rule's success rate (over problems and orders), mean trials and the ratio of its mean
trials to the oracle's; and the issue-4 acceptance check per problem (success >= 0.9, fewer
trials than every baseline that also reaches 0.9, a mean of at most 25 counting as fewer).

Run from the repository root (about 40 minutes at the defaults on one core; ``--n-jobs 2``
halves it)::

    PYTHONPATH=src python examples/benchmarks/bench_replay_synthetic.py
    PYTHONPATH=src python examples/benchmarks/bench_replay_synthetic.py --problems 8 --quick
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
from bench_replay import FEWER_TRIALS_FLOOR  # the issue-4 criteria, as for the shared searches

from tailstop.replay import baselines, replay
from tailstop.rules import GainBelow
from tailstop.synthetic import random_problems

TARGET = "GainBelow(epsilon)"


def meets(outcomes: dict, success_level: float = 0.9) -> bool:
    """The issue-4 criteria for the target rule on one search (success, fewest trials)."""
    ours = outcomes[TARGET]
    if ours["success"] < success_level:
        return False
    rivals = [o["trials"] for name, o in outcomes.items()
              if name != TARGET and o["success"] >= success_level]
    return all(ours["trials"] < t or ours["trials"] <= FEWER_TRIALS_FLOOR for t in rivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=24)
    parser.add_argument("--trials", type=int, default=300, help="trials per search (the budget)")
    parser.add_argument("--orders", type=int, default=3, help="random orders per search")
    parser.add_argument("--epsilon", type=float, default=0.01,
                        help="success regret, as a fraction of the problem's score range")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="coarser refits (Monitor refit_step=5, refit_growth=0.05)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    options = {"refit_step": 5, "refit_growth": 0.05} if args.quick else {}
    problems = random_problems(args.problems, generator=args.seed)
    print(f"{args.problems} synthetic searches of {args.trials} trials, {args.orders} orders each, "
          f"epsilon {args.epsilon:g} x score range; monitor options: {options or 'defaults'}")
    print(f"{'#':>3} {'r':>2} {'noise':>5} {'direction':<9} {'oracle':>7}  "
          f"{'GainBelow trials / success':>27}  {'best baseline at >= 0.9':<34} meets")
    results = []
    by_rule = defaultdict(lambda: {"success": [], "trials": [], "oracle": [], "r": []})
    started = time.perf_counter()
    for i, problem in enumerate(problems):
        scores = problem.run_search(args.trials, generator=np.random.default_rng([args.seed, i]))
        epsilon = args.epsilon * problem.scale
        rules = {TARGET: GainBelow(epsilon)}
        rules.update(baselines(epsilon))
        result = replay(scores, problem.direction, rules, epsilon=epsilon, orders=args.orders,
                        seed=args.seed + i, n_jobs=args.n_jobs, monitor_options=options)
        outcomes = {}
        for name, outcome in result.outcomes.items():
            key = "Ray plateau" if name.startswith("Ray plateau") else name
            outcomes[key] = {"trials": outcome.mean_trials, "success": outcome.success_rate}
            by_rule[key]["success"].append(outcome.success_rate)
            by_rule[key]["trials"].append(outcome.mean_trials)
            by_rule[key]["oracle"].append(result.oracle_mean)
            by_rule[key]["r"].append(problem.effective_dimension)
        good = [(o["trials"], name) for name, o in outcomes.items()
                if name != TARGET and o["success"] >= 0.9]
        rival = f"{min(good)[1]} {min(good)[0]:.1f}" if good else "none"
        ours = outcomes[TARGET]
        ok = meets(outcomes)
        results.append((problem, result.oracle_mean, outcomes, ok))
        print(f"{i:>3} {problem.effective_dimension:>2} {problem.noise_ratio:>5g} "
              f"{problem.direction:<9} {result.oracle_mean:>7.1f}  "
              f"{ours['trials']:>18.1f} / {ours['success']:.2f}  {rival:<34} "
              f"{'yes' if ok else 'no'}", flush=True)

    print(f"\nsummary ({time.perf_counter() - started:.0f} s): success rate over problems x "
          "orders, mean trials, mean trials / mean oracle trials")
    rs = sorted({p.effective_dimension for p in problems})
    header = f"{'rule':<22}" + "".join(f"{'r = ' + str(r):>22}" for r in rs) + f"{'all':>22}"
    print(header)
    for name, data in by_rule.items():
        cells = []
        for r in [*rs, None]:
            keep = [j for j, rr in enumerate(data["r"]) if r is None or rr == r]
            success = np.mean([data["success"][j] for j in keep])
            trials = np.mean([data["trials"][j] for j in keep])
            oracle = np.mean([data["oracle"][j] for j in keep])
            cells.append(f"{success:.2f} {trials:6.1f} {trials / oracle:5.2f}x")
        print(f"{name:<22}" + "".join(f"{c:>22}" for c in cells))
    oracles = [
        np.mean([res[1] for res in results if r is None or res[0].effective_dimension == r])
        for r in [*rs, None]
    ]
    print(f"{'oracle':<22}" + "".join(f"{o:>22.1f}" for o in oracles))
    met = sum(res[3] for res in results)
    print(f"\nGainBelow(epsilon) meets the issue-4 criteria on {met} of {len(results)} searches")


if __name__ == "__main__":
    main()

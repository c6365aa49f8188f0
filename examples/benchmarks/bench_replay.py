"""Stopping quality on real searches: replay each ../shared/data/scores file in random orders.

For every CSV file (column ``score``, maximised) the search is shuffled into ``--orders``
random orders; each order is fed trial by trial to ``GainBelow(0.005)`` (the monitor knows the
budget, N = all the file's trials), to the default rule ``GainBelow()`` (epsilon = fitted
noise) and to the issue-4 baselines (fixed 50 / 100 trials, Patience 20 / 50, Ray's
ExperimentPlateauStopper(top=10, std=epsilon)). Prints one table per file and the issue-4
acceptance check for ``GainBelow(0.005)``:

1. success rate (final regret <= epsilon against the best of all N) >= 0.9;
2. fewer mean trials than every baseline that also reaches 0.9 (a mean <= 25 counts as fewer);
3. mean trials within 1.5x the oracle's (first trial within epsilon), where it can be: the
   monitor fits nothing before ``min_trials`` (20) trials.

Usage::

    PYTHONPATH=src python examples/benchmarks/bench_replay.py            # 200 orders (slow)
    PYTHONPATH=src python examples/benchmarks/bench_replay.py --orders 40 --n-jobs 2
    PYTHONPATH=src python examples/benchmarks/bench_replay.py --quick    # 10 orders, coarse refits
    PYTHONPATH=src python examples/benchmarks/bench_replay.py --probability 0.1  # and that variant
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from tailstop.replay import baselines, replay, terminator_note
from tailstop.rules import GainBelow

SCORES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scores"
EPSILON = 0.005
TARGET_RULE = "GainBelow(0.005)"
FEWER_TRIALS_FLOOR = 25.0  # a mean of at most 25 trials counts as fewer
ORACLE_FACTOR = 1.5


def load(path: Path) -> list[float]:
    with path.open() as fh:
        return [float(row["score"]) for row in csv.DictReader(fh)]


def acceptance(result, baseline_names: list[str], min_trials: int) -> list[str]:
    """The issue-4 criteria for GainBelow(0.005), one line each."""
    ours = result.outcomes[TARGET_RULE]
    lines = []
    ok = ours.success_rate >= 0.9
    lines.append(f"[{'PASS' if ok else 'FAIL'}] success {ours.success_rate:.2f} >= 0.90")
    rivals = [result.outcomes[n] for n in baseline_names if result.outcomes[n].success_rate >= 0.9]
    beaten = [r for r in rivals if ours.mean_trials < r.mean_trials or ours.mean_trials <= 25.0]
    ok = len(beaten) == len(rivals)
    names = ", ".join(f"{r.name} {r.mean_trials:.1f}" for r in rivals) or "none"
    lines.append(
        f"[{'PASS' if ok else 'FAIL'}] mean trials {ours.mean_trials:.1f} below every baseline "
        f"reaching 0.90 ({names}; <= {FEWER_TRIALS_FLOOR:g} counts as fewer)"
    )
    oracle = result.oracle_mean
    ratio = ours.mean_trials / oracle
    if ORACLE_FACTOR * oracle < min_trials:
        lines.append(
            f"[n/a ] {ratio:.2f}x the oracle's {oracle:.1f} trials: 1.5x the oracle is below "
            f"min_trials={min_trials}, unreachable for a fitted rule"
        )
    else:
        ok = ratio <= ORACLE_FACTOR
        lines.append(
            f"[{'PASS' if ok else 'FAIL'}] {ratio:.2f}x the oracle's {oracle:.1f} trials "
            f"(<= {ORACLE_FACTOR}x)"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="10 orders, refits every 5 trials")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--refit-step", type=int, default=None, help="Monitor refit_step")
    parser.add_argument("--refit-growth", type=float, default=None, help="Monitor refit_growth")
    parser.add_argument("--files", nargs="*", default=None, help="file stems (default: all)")
    parser.add_argument(
        "--skip-noise-rule", action="store_true", help="leave out GainBelow() (epsilon = noise)"
    )
    parser.add_argument(
        "--probability",
        type=float,
        default=None,
        help="also replay GainBelow(0.005, probability=P): stop only when, besides, the chance "
        "to gain more than epsilon is below P",
    )
    args = parser.parse_args()
    orders = 10 if args.quick and args.orders == 200 else args.orders
    options = {}
    if args.quick:
        options.update(refit_step=5, refit_growth=0.05)
    if args.refit_step is not None:
        options["refit_step"] = args.refit_step
    if args.refit_growth is not None:
        options["refit_growth"] = args.refit_growth
    min_trials = options.get("min_trials", 20)

    paths = sorted(SCORES.glob("*.csv"))
    if args.files:
        paths = [p for p in paths if p.stem in args.files]
    if not paths:
        raise SystemExit(f"no score files in {SCORES}")
    print(f"monitor options: {options or 'defaults'}; orders {orders}; seed {args.seed}")
    note = terminator_note()
    for path in paths:
        scores = load(path)
        base = baselines(EPSILON)
        rules = {TARGET_RULE: GainBelow(EPSILON)}
        if args.probability is not None:
            rules[f"GainBelow(0.005, probability={args.probability:g})"] = GainBelow(
                EPSILON, probability=args.probability
            )
        if not args.skip_noise_rule:
            rules["GainBelow() (noise)"] = GainBelow()
        rules.update(base)
        started = time.perf_counter()
        result = replay(
            scores,
            "maximize",
            rules,
            epsilon=EPSILON,
            orders=orders,
            seed=args.seed,
            n_jobs=args.n_jobs,
            monitor_options=options,
            notes=[note] if note else [],
        )
        print()
        print(result.table(path.stem))
        for line in acceptance(result, list(base), min_trials):
            print(f"  {line}")
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: the default rule's epsilon, the fitted noise's point estimate or its lower end.

``GainBelow()`` without an epsilon stops when the upper end of the expected gain over the
trials left is below the seed noise (floored at 1% of the tail's width). Early in a search the
fitted noise can be many times the truth (the noise and the tail's curvature are hard to tell
apart in a few trials), and the rule then stops on an inflated epsilon. This runs one Monitor
per order (the replay's orders, seed 0) with a rule that records, at every refit, the expected
gain's upper end and both candidate epsilons, and says when each would have stopped:

* ``point``: epsilon = ``max(noise, floor)``, the fitted noise (the default up to session 23);
* ``low end``: epsilon = ``max(noise_interval.low, floor)``, the lower end of the noise's
  profile interval at the estimate's confidence (the default since session 24).

Per source and budget B (the first B trials of each order), the table gives the mean trials
used, the mean and 90th percentile of the regret against the best of those B trials (what
running the whole budget would have reached), the share within 0.005 of it, and the mean
epsilon at the stop. Sources: the shared searches (accuracy, bounds 0 1) and ``example``, the
objective of ``examples/optuna_random_search.py`` (seed noise 0.002) sampled 1,000 times.

Run from the repository root (a few minutes per source and budget at 20 orders)::

    PYTHONPATH=src python examples/benchmarks/bench_default_epsilon.py --budgets 60 100 300
"""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path

import numpy as np
from bench_forecast import load_scores

from tailstop.monitor import Monitor
from tailstop.replay import _draw_orders
from tailstop.rules import Decision, Rule, gain_bracket, gain_interval, noise_floor

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
SUCCESS = 0.005
CHOICES = ("point", "low end")


def example_scores(size: int, seed: int) -> np.ndarray:
    """``examples/optuna_random_search.py``'s objective at ``size`` random configurations."""
    rng = np.random.default_rng(seed)
    lr = 10 ** rng.uniform(-5, -1, size)
    dropout = rng.uniform(0.0, 0.7, size)
    weight_decay = 10 ** rng.uniform(-7, -1, size)
    distance = (
        ((np.log10(lr) + 2.5) / 1.2) ** 2
        + ((dropout - 0.2) / 0.35) ** 2
        + ((np.log10(weight_decay) + 4.0) / 3.0) ** 2
    )
    return 0.93 - 0.5 * (1.0 - np.exp(-distance)) + rng.normal(0.0, 0.002, size)


class Recorder(Rule):
    """Stops once every candidate epsilon has stopped; records when each one did."""

    def __init__(self):
        self.stopped: dict[str, tuple[int, float]] = {}

    def describe(self) -> str:
        return "recorder"

    def decide(self, estimate, state) -> Decision:
        horizon = int(state.remaining)
        floor = noise_floor(estimate)
        epsilons = {
            "point": max(float(estimate.noise), floor),
            "low end": max(float(estimate.noise_interval.low), floor),
        }
        if horizon <= 0:
            high = 0.0
        else:
            low, high = gain_bracket(estimate, horizon)
            pending = [e for k, e in epsilons.items() if k not in self.stopped]
            if any(low < e <= high for e in pending):
                high = gain_interval(estimate, horizon)[2]
        for key, epsilon in epsilons.items():
            if key not in self.stopped and high < epsilon:
                self.stopped[key] = (state.n_trials, epsilon)
        stop = len(self.stopped) == len(epsilons)
        return Decision(stop, "recorded", "recorder", high, min(epsilons.values()))


def run(scores: np.ndarray, budget: int, orders: int, seed: int, bounds) -> dict:
    out: dict[str, list] = {key: [] for key in CHOICES}
    for permutation in _draw_orders(scores.size, orders, seed):
        ordered = scores[permutation][:budget]
        recorder = Recorder()
        monitor = Monitor("maximize", recorder, budget=budget, bounds=bounds)
        for score in ordered:
            monitor.observe(float(score))
            if monitor.should_stop:
                break
        running = np.maximum.accumulate(ordered)
        for key in CHOICES:
            used, epsilon = recorder.stopped.get(key, (budget, math.nan))
            out[key].append((used, running[-1] - running[used - 1], epsilon))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--sources", nargs="+", default=None,
                        help="file stems and/or 'example' (default: all)")
    parser.add_argument("--budgets", type=int, nargs="+", default=[60, 100, 300])
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sources = {"example": example_scores(1000, args.seed)}
    if args.data.is_dir():
        sources.update({p.stem: load_scores(p) for p in sorted(args.data.glob("*.csv"))})
    if args.sources:
        sources = {k: v for k, v in sources.items() if k in args.sources}
    if not sources:
        raise SystemExit("no matching source")
    print(f"GainBelow() with budget B, {args.orders} orders (seed {args.seed}), bounds 0 1; "
          f"regret against the best of the B trials; success = regret <= {SUCCESS}")
    print(f"{'source':<16} {'B':>5} {'epsilon':<8} {'trials':>7} {'regret':>8} "
          f"{'p90':>8} {'success':>8} {'eps at stop':>11}")
    for name, scores in sources.items():
        for budget in args.budgets:
            if budget > scores.size:
                continue
            found = run(scores, budget, args.orders, args.seed, (0.0, 1.0))
            for key in CHOICES:
                rows = np.array(found[key], dtype=float)
                stops = rows[np.isfinite(rows[:, 2]), 2]
                epsilon = float(np.median(stops)) if stops.size else math.nan
                print(f"{name:<16} {budget:>5} {key:<8} {rows[:, 0].mean():>7.1f} "
                      f"{rows[:, 1].mean():>8.4f} {np.quantile(rows[:, 1], 0.9):>8.4f} "
                      f"{np.mean(rows[:, 1] <= SUCCESS):>8.2f} "
                      f"{epsilon:>11.4f}",
                      flush=True)


if __name__ == "__main__":
    main()

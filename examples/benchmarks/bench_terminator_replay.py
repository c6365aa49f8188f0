"""Stopping quality of Optuna's Terminator on the real searches, replayed as bench_replay does.

Issue 4's baseline "Optuna's Terminator with a static error of epsilon": for each
../shared/data/scores CSV file (column ``score``, maximised, plus the sampled hyperparameters
of each trial), the search is shuffled into ``--orders`` random orders -- the very orders
``tailstop.replay.replay(..., orders, seed)`` draws, so the rows are comparable with
``bench_replay.py`` run with the same ``--seed`` -- and each order is fed trial by trial to an
in-memory Optuna study (``optuna.trial.create_trial(params, distributions, value)``, direction
maximize). From ``--min-trials`` completed trials on (20, the Terminator's default), every
``--every`` trials, the script asks::

    Terminator(improvement_evaluator=RegretBoundEvaluator(seed=order),
               error_evaluator=StaticErrorEvaluator(epsilon),
               min_n_trials=min_trials).should_terminate(study)

and the order stops at the first check that says yes (else it uses all N trials). The metrics
are ``tailstop.replay``'s own (the stopping trials are handed to :func:`tailstop.replay.replay`
as a baseline, so the same code scores them): mean trials used; success = final regret (best
of all N minus best at the stop) <= epsilon; mean regret; oracle = first trial whose best so
far is within epsilon of the best of all N. Checking every m trials can only delay a stop, by
at most m - 1 trials; the ``every`` column says which m was used.

Search space, inferred from each file's columns (every column but ``trial`` and ``score``):

* a non-numeric column -> ``CategoricalDistribution`` of its distinct values;
* an integer column with at most 8 distinct values that are not consecutive integers (e.g.
  batch size 128/256/512/1024) -> ``CategoricalDistribution`` of them; consecutive integers
  (e.g. epochs 1..4) -> ``IntDistribution(min, max)``;
* any other integer column -> ``IntDistribution(min, max, log=...)``, a float column ->
  ``FloatDistribution(min, max, log=...)``;
* the range is the observed [min, max] (the maximum-likelihood range of a uniform sample);
  ``log=True`` when the values are positive and the Kolmogorov-Smirnov distance of their
  logarithms to a uniform law on [log min, log max] is smaller than that of the raw values to
  a uniform law on [min, max] (so learning rate and weight decay come out log-scale).

The script prints the inferred space of each file; it matches the documented spaces
(../shared/data/opda/*/README.md: batch size categorical, epochs and train batch size integer
ranges, learning rate and weight decay log-scale, the rest linear) up to the observed ranges,
except for the two derived columns, which no Optuna distribution describes exactly:
``lr_peak_epoch`` = floor(U[0, 0.8] * epochs) comes out as a linear integer range [0, 76], and
``warmup_steps`` (a uniform warmup proportion times the steps in the first epoch, which vary
with the batch size) as a log-scale integer range [23, 14475].

Cost: each check fits Optuna's GP to the top half of the trials, about 0.3-1.5 s of CPU; torch
is limited to one thread (``--threads``) so the machine's other jobs keep a core. ``--tailstop``
adds ``GainBelow(epsilon)`` on the same orders for comparison.

    python examples/benchmarks/bench_terminator_replay.py --orders 10 --every 10
    python examples/benchmarks/bench_terminator_replay.py --orders 2 --every 50 --files alexnet
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from scipy import stats

from tailstop.replay import _draw_orders, replay  # the very orders replay() runs
from tailstop.rules import GainBelow

SCORES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scores"
EPSILON = 0.005
MAX_CATEGORIES = 8
SKIPPED_COLUMNS = ("trial", "score")


# -- data and search space ---------------------------------------------------------------------
def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def load(path: Path) -> tuple[np.ndarray, dict[str, list]]:
    """Scores and the raw hyperparameter columns (ints where every value is integral)."""
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    scores = np.array([float(row["score"]) for row in rows])
    columns: dict[str, list] = {}
    for name in rows[0]:
        if name in SKIPPED_COLUMNS:
            continue
        raw = [row[name] for row in rows]
        numbers = [_number(v) for v in raw]
        if any(v is None for v in numbers):
            columns[name] = raw
        elif all(float(v).is_integer() for v in numbers):
            columns[name] = [int(v) for v in numbers]
        else:
            columns[name] = [float(v) for v in numbers]
    return scores, columns


def _uniform_distance(values: np.ndarray) -> float:
    low, high = values.min(), values.max()
    return float(stats.kstest(values, "uniform", args=(low, high - low)).statistic)


def _prefers_log(values: np.ndarray) -> bool:
    if values.min() <= 0 or values.max() <= values.min():
        return False
    return _uniform_distance(np.log(values)) < _uniform_distance(values)


def infer_distribution(values: list) -> BaseDistribution:
    """One column's distribution, by the rules in the module docstring."""
    if any(isinstance(v, str) for v in values):
        return CategoricalDistribution(sorted(set(values)))
    array = np.asarray(values, dtype=float)
    distinct = sorted(set(values))
    if all(isinstance(v, int) for v in values):
        consecutive = distinct == list(range(distinct[0], distinct[-1] + 1))
        if len(distinct) <= MAX_CATEGORIES and not consecutive:
            return CategoricalDistribution(distinct)
        if len(distinct) == 1:
            return IntDistribution(distinct[0], distinct[0])
        return IntDistribution(distinct[0], distinct[-1], log=_prefers_log(array))
    return FloatDistribution(float(array.min()), float(array.max()), log=_prefers_log(array))


def describe_space(distributions: dict[str, BaseDistribution]) -> str:
    parts = []
    for name, d in distributions.items():
        if isinstance(d, CategoricalDistribution):
            parts.append(f"{name} in {list(d.choices)}")
        else:
            kind = "int" if isinstance(d, IntDistribution) else "float"
            scale = " log" if d.log else ""
            parts.append(f"{name} {kind}{scale} [{d.low:g}, {d.high:g}]")
    return "; ".join(parts)


# -- the Terminator on one order ------------------------------------------------------------------
@dataclass
class OrderRun:
    trials: int
    stopped: bool
    bounds: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run_terminator(
    order: np.ndarray,
    scores: np.ndarray,
    columns: dict[str, list],
    distributions: dict[str, BaseDistribution],
    *,
    epsilon: float,
    min_trials: int,
    every: int,
    seed: int,
) -> OrderRun:
    from optuna.terminator import Terminator
    from optuna.terminator.erroreval import StaticErrorEvaluator
    from optuna.terminator.improvement.evaluator import (
        BaseImprovementEvaluator,
        RegretBoundEvaluator,
    )

    class Recorded(BaseImprovementEvaluator):
        """Delegates to RegretBoundEvaluator and keeps each regret bound it returns."""

        def __init__(self, inner: BaseImprovementEvaluator):
            self.inner = inner
            self.values: list[float] = []

        def evaluate(self, trials, study_direction) -> float:
            value = self.inner.evaluate(trials, study_direction)
            self.values.append(float(value))
            return value

    improvement = Recorded(RegretBoundEvaluator(seed=seed))
    terminator = Terminator(
        improvement_evaluator=improvement,
        error_evaluator=StaticErrorEvaluator(epsilon),
        min_n_trials=min_trials,
    )
    study = optuna.create_study(direction="maximize")
    run = OrderRun(trials=len(order), stopped=False)
    for n, index in enumerate(order, start=1):
        params = {name: values[index] for name, values in columns.items()}
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=distributions, value=float(scores[index])
            )
        )
        if n < min_trials or (n - min_trials) % every or n == len(order):
            continue
        start, start_cpu = time.perf_counter(), time.process_time()
        stop = terminator.should_terminate(study)
        run.wall.append(time.perf_counter() - start)
        run.cpu.append(time.process_time() - start_cpu)
        if stop:
            run.trials, run.stopped = n, True
            break
    run.bounds = improvement.values
    return run


class Precomputed:
    """A ``tailstop.replay`` baseline that returns trials already found for each order.

    The replay hands over one order's scores; the order is recognised by those scores (the
    same permutations were replayed here), so the replay's own code computes every metric.
    """

    def __init__(self, label: str, by_order: dict[bytes, int]):
        self.label = label
        self.by_order = by_order

    def __call__(self, ordered_scores: np.ndarray, direction: str) -> int:
        key = np.ascontiguousarray(ordered_scores, dtype=float).tobytes()
        if key not in self.by_order:
            raise RuntimeError("replay drew an order this script did not run (seeding changed?)")
        return self.by_order[key]

    def describe(self) -> str:
        return self.label


# -- main ------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10)
    parser.add_argument("--every", type=int, default=10, help="check every m trials")
    parser.add_argument("--min-trials", type=int, default=20)
    parser.add_argument("--epsilon", type=float, default=EPSILON)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--files", nargs="*", default=None, help="file stems (default: all)")
    parser.add_argument(
        "--tailstop", action="store_true", help="add GainBelow(epsilon) on the same orders"
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # the Terminator is deprecated and experimental
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    paths = sorted(SCORES.glob("*.csv"))
    if args.files:
        paths = [p for p in paths if p.stem in args.files]
    if not paths:
        raise SystemExit(f"no score files in {SCORES}")
    print(
        f"optuna {optuna.__version__}, torch {torch.__version__} ({args.threads} thread); "
        f"epsilon {args.epsilon:g}; min trials {args.min_trials}; check every {args.every}; "
        f"seed {args.seed}"
    )

    rows, details = [], []
    started_all, cpu_all = time.perf_counter(), time.process_time()
    for path in paths:
        scores, columns = load(path)
        distributions = {name: infer_distribution(v) for name, v in columns.items()}
        print(f"{path.stem}: {describe_space(distributions)}", flush=True)
        runs = []
        by_order: dict[bytes, int] = {}
        for i, order in enumerate(_draw_orders(len(scores), args.orders, args.seed)):
            run = run_terminator(
                order, scores, columns, distributions, epsilon=args.epsilon,
                min_trials=args.min_trials, every=args.every, seed=args.seed * 1000 + i,
            )
            runs.append(run)
            by_order[scores[order].tobytes()] = run.trials
            print(
                f"  order {i}: {'stopped' if run.stopped else 'no stop'} at {run.trials}, "
                f"{len(run.wall)} checks, {sum(run.cpu):.0f} s CPU, regret bound "
                f"first {run.bounds[0]:.4g} min {min(run.bounds):.4g} last {run.bounds[-1]:.4g}",
                flush=True,
            )
        label = f"Terminator(RegretBound, static error {args.epsilon:g})"
        rules = {"Terminator": Precomputed(label, by_order)}
        if args.tailstop:
            rules[f"GainBelow({args.epsilon:g})"] = GainBelow(args.epsilon)
        result = replay(
            scores, "maximize", rules, epsilon=args.epsilon, orders=args.orders, seed=args.seed
        )
        details.append(result.table(path.stem))
        wall = np.concatenate([r.wall for r in runs])
        cpu = np.concatenate([r.cpu for r in runs])
        for name, outcome in result.outcomes.items():
            is_terminator = name == "Terminator"
            rows.append((
                path.stem,
                name,
                str(args.orders),
                str(args.every) if is_terminator else "1",
                f"{outcome.mean_trials:.1f}",
                f"{outcome.success_rate:.2f}",
                f"{outcome.mean_regret:.4g}",
                f"{result.oracle_mean:.1f}",
                f"{sum(r.stopped for r in runs)}/{len(runs)}" if is_terminator else "",
                f"{np.median([min(r.bounds) for r in runs]):.3g}" if is_terminator else "",
                f"{wall.mean():.2f}/{cpu.mean():.2f}" if is_terminator else "",
            ))

    header = (
        "file", "rule", "orders", "every", "mean trials", "success", "mean regret",
        "oracle trials", "stopped", "min bound", "s/check wall/cpu",
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(
            [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
            + [c.rjust(w) for c, w in zip(line[2:], widths[2:], strict=True)]
        ))
    print(
        "every = Terminator checked every m trials from min trials on (it can only stop later "
        "than with a check per trial, by < m trials); stopped = orders where it fired; min "
        "bound = median over orders of the smallest regret bound seen (it stops when the bound "
        f"< {args.epsilon:g})."
    )
    print(
        f"total {time.perf_counter() - started_all:.0f} s wall, "
        f"{time.process_time() - cpu_all:.0f} s CPU"
    )
    for table in details:
        print()
        print(table)


if __name__ == "__main__":
    main()

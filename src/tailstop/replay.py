"""Replay a finished search in random orders to measure what stopping rules really achieve.

A finished random search of ``N`` trials is a sample from the score distribution; shuffled, it
is a search that could have happened. :func:`replay` feeds ``orders`` random orders of it to
each stopping rule, trial by trial, as a live search would, and reports per rule

* the mean number of trials used (the stopping time, or the budget when the rule never stops),
* the success rate: the share of orders whose final regret ``best of all N - best at the
  stop`` is at most ``epsilon``,
* the mean regret,

next to the *oracle*: the first trial at which the best so far is within ``epsilon`` of the
best of all ``N`` (mean over the same orders), the fewest trials any rule could use to succeed.

Rules are :class:`tailstop.rules.Rule` objects (run through a fresh :class:`~tailstop.Monitor`
per order, which knows the budget) or baselines: callables ``stopper(scores, direction) ->
trials used`` that read one order's scores from the first one on. Baselines (in
:mod:`tailstop.baselines`, importable from here too), with no dependency on Ray or Optuna:
:class:`FixedTrials` and :class:`RayPlateau` (a faithful copy of Ray Tune's
``ExperimentPlateauStopper``); ``Patience`` is a rule.

Example
-------
>>> from tailstop.replay import FixedTrials, replay
>>> from tailstop.rules import Patience
>>> scores = [0.1 * (i % 7) for i in range(40)]
>>> result = replay(scores, "maximize", {"fixed 10": FixedTrials(10), "patience 5": Patience(5)},
...                 epsilon=0.05, orders=20)
>>> result.outcomes["fixed 10"].mean_trials
10.0
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from tailstop._data import as_generator, check_direction, clean_scores, integer, real_number
from tailstop._tracker import _Tracker, check_score
from tailstop.baselines import FixedTrials, RayPlateau, Stopper, baselines, terminator_note
from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.monitor import Monitor, build_monitor
from tailstop.rules import Rule

__all__ = [
    "FixedTrials",
    "RayPlateau",
    "ReplayResult",
    "RuleOutcome",
    "baselines",
    "check_options",
    "replay",
    "terminator_note",
    "without_budget",
]

RuleLike = Union[Rule, "WithoutBudget", Stopper]


@dataclass(frozen=True)
class WithoutBudget:
    """A rule replayed by a monitor that is *not* told the budget (the replay still ends there).

    Made by :func:`without_budget`.
    """

    rule: Rule

    def describe(self) -> str:
        return f"{self.rule.describe()} without budget"


def without_budget(rule: Rule) -> WithoutBudget:
    """Replay ``rule`` with a monitor that does not know the budget.

    Rules whose defaults depend on the budget (``GainBelow`` forecasts over the remaining
    budget when it knows one, else over as many trials as have run) then behave as in a
    search of unknown length; the replay still ends at the budget.

    Parameters
    ----------
    rule : Rule
        A :class:`~tailstop.rules.Rule`.

    Returns
    -------
    WithoutBudget
        A wrapper :func:`replay` recognises.

    Examples
    --------
    >>> from tailstop.rules import GainBelow, Patience
    >>> without_budget(GainBelow()).describe()
    'GainBelow(epsilon=seed noise, horizon=remaining budget or n_trials) without budget'

    Patience ignores the budget, so hiding it changes nothing:

    >>> from tailstop.synthetic import make_problem
    >>> scores = make_problem(2, noise_ratio=0.01, generator=5).run_search(200, generator=6)
    >>> result = replay(scores, "maximize",
    ...                 {"told": Patience(20), "not told": without_budget(Patience(20))},
    ...                 epsilon=0.02, orders=20, budget=100)
    >>> bool(result.outcomes["told"].trials.tolist() == result.outcomes["not told"].trials.tolist())
    True
    """
    if not isinstance(rule, Rule):
        raise InvalidParameterError(f"not a tailstop rule: {rule!r}")
    return WithoutBudget(rule)


# -- results ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleOutcome:
    """How one rule did over the replayed orders (arrays have one entry per order).

    Parameters
    ----------
    name : str
        The rule's key in :func:`replay`'s ``rules``.
    description : str
        The rule's own description (``describe()``).
    trials : ndarray of int
        Trials the rule used on each order.
    regrets : ndarray of float
        Best of all the scores minus the best at the stop, per order (>= 0).
    epsilon : float
        The regret counted as success.

    The properties ``mean_trials``, ``success_rate`` (share of orders with a regret of at
    most ``epsilon``) and ``mean_regret`` summarise the arrays; ``to_dict`` gives them as
    plain JSON.

    Examples
    --------
    >>> from tailstop.rules import Patience
    >>> from tailstop.synthetic import make_problem
    >>> scores = make_problem(2, noise_ratio=0.01, generator=5).run_search(200, generator=6)
    >>> result = replay(scores, "maximize", {"patience": Patience(20)}, epsilon=0.02, orders=50)
    >>> outcome = result.outcomes["patience"]
    >>> outcome.trials.shape, bool(outcome.trials.min() >= 20)
    ((50,), True)
    >>> outcome.success_rate == float((outcome.regrets <= 0.02).mean())
    True
    >>> sorted(outcome.to_dict())
    ['description', 'mean_regret', 'mean_trials', 'name', 'success_rate']
    """

    name: str
    description: str
    trials: np.ndarray = field(repr=False)
    regrets: np.ndarray = field(repr=False)
    epsilon: float

    @property
    def mean_trials(self) -> float:
        return float(np.mean(self.trials))

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.regrets <= self.epsilon))

    @property
    def mean_regret(self) -> float:
        return float(np.mean(self.regrets))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "mean_trials": self.mean_trials,
            "success_rate": self.success_rate,
            "mean_regret": self.mean_regret,
        }


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of :func:`replay`: one :class:`RuleOutcome` per rule, and the oracle.

    Parameters
    ----------
    direction : str
        ``"maximize"`` or ``"minimize"``.
    n_scores : int
        Trials in the replayed search.
    budget : int
        Trials each replayed order could use.
    epsilon : float
        Regret counted as success.
    orders : int
        Random orders replayed.
    best : float
        Best of all the scores (the regret is measured against it).
    oracle_trials : ndarray of int
        Per order, the first trial whose best so far is within ``epsilon`` of ``best`` (the
        budget when there is none); ``oracle_mean`` is its mean.
    outcomes : dict of str to RuleOutcome
        One per rule, in the order given.
    notes : tuple of str
        Lines printed under the table.
    seconds : float
        Time the replay took.

    Examples
    --------
    >>> from tailstop.rules import Patience
    >>> from tailstop.synthetic import make_problem
    >>> scores = make_problem(2, noise_ratio=0.01, generator=5).run_search(200, generator=6)
    >>> result = replay(scores, "maximize", {"fixed 50": FixedTrials(50), "Patience(20)":
    ...                 Patience(20)}, epsilon=0.02, orders=100)
    >>> print(result.table("synthetic"))
    synthetic: 200 trials (maximize, best 0.775844), budget 200, epsilon 0.02, 100 random orders
    rule                           mean trials  success  mean regret  vs oracle
    -----------------------------  -----------  -------  -----------  ---------
    fixed 50                              50.0     0.44       0.0325      0.76x
    Patience(20)                          36.1     0.36      0.05031      0.55x
    oracle (first within epsilon)         66.2     1.00            0      1.00x
    >>> result.oracle_trials.shape, round(result.oracle_mean, 1)
    ((100,), 66.2)
    >>> [rule["name"] for rule in result.to_dict()["rules"]]
    ['fixed 50', 'Patience(20)']
    """

    direction: str
    n_scores: int
    budget: int
    epsilon: float
    orders: int
    best: float
    oracle_trials: np.ndarray = field(repr=False)
    outcomes: dict[str, RuleOutcome]
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def oracle_mean(self) -> float:
        return float(np.mean(self.oracle_trials))

    def table(self, title: str | None = None) -> str:
        """A plain-text table: rule, mean trials, success rate, mean regret, trials / oracle."""
        oracle = self.oracle_mean
        rows = [
            (
                name,
                f"{o.mean_trials:.1f}",
                f"{o.success_rate:.2f}",
                f"{o.mean_regret:.4g}",
                f"{o.mean_trials / oracle:.2f}x",
            )
            for name, o in self.outcomes.items()
        ]
        rows.append(("oracle (first within epsilon)", f"{oracle:.1f}", "1.00", "0", "1.00x"))
        header = ("rule", "mean trials", "success", "mean regret", "vs oracle")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

        def line(cells):
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            return "  ".join([first, *rest])

        heading = title or "replay"
        text = [
            f"{heading}: {self.n_scores} trials ({self.direction}, best {self.best:.6g}), "
            f"budget {self.budget}, epsilon {self.epsilon:g}, {self.orders} random orders",
            line(header),
            line(["-" * w for w in widths]),
            *(line(r) for r in rows),
        ]
        text.extend(f"note: {note}" for note in self.notes)
        return "\n".join(text)

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "n_scores": self.n_scores,
            "budget": self.budget,
            "epsilon": self.epsilon,
            "orders": self.orders,
            "best": self.best,
            "oracle_mean_trials": self.oracle_mean,
            "rules": [o.to_dict() for o in self.outcomes.values()],
            "notes": list(self.notes),
        }


# -- running -------------------------------------------------------------------------------------
def _describe(rule: RuleLike) -> str:
    describe = getattr(rule, "describe", None)
    if callable(describe):
        return str(describe())
    return getattr(rule, "__name__", repr(rule))


def _run_rule(
    rule: RuleLike, scores: np.ndarray, direction: str, budget: int, options: dict
) -> int:
    """Trials one rule uses on one order (``scores`` already cut at the budget)."""
    if isinstance(rule, (Rule, WithoutBudget)):
        known = budget if isinstance(rule, Rule) else None
        inner = rule if isinstance(rule, Rule) else rule.rule
        if not inner.needs_estimate:
            return _run_without_fits(inner, scores, direction, known, options)
        monitor = Monitor(direction, inner, budget=known, **options)
        for score in scores:
            monitor.observe(score)
            if monitor.should_stop:
                break
        return monitor.n_trials
    used = int(rule(scores, direction))
    return min(max(used, 1), len(scores))


def _run_without_fits(rule: Rule, scores, direction, budget, options) -> int:
    """What a Monitor decides for a rule that needs no estimate, without fitting anything."""
    min_trials = options.get("min_trials", 20)
    tracker = _Tracker(direction)
    for score in scores:
        tracker.append(float(score), math.nan)
        n = tracker.n_trials
        if n >= min_trials and rule.decide(None, tracker.state(budget)).stop:
            return n
    return len(scores)


def _draw_orders(size: int, orders: int, seed) -> np.ndarray:
    """The ``orders`` random orders of ``size`` trials a replay with ``seed`` runs."""
    rng = as_generator(seed)
    return np.array([rng.permutation(size) for _ in range(orders)])


def _run_chunk(scores, direction, rules, permutations, budget, options,
               done=None) -> np.ndarray:
    """Trials used per (order, rule) for a block of orders (``done()`` after each order)."""
    used = np.empty((len(permutations), len(rules)), dtype=int)
    for i, permutation in enumerate(permutations):
        ordered = scores[permutation][:budget]
        for j, rule in enumerate(rules):
            used[i, j] = _run_rule(rule, ordered, direction, budget, options)
        if done is not None:
            done(1)
    return used


def check_options(scores, direction: str, monitor_options: Mapping[str, Any]) -> None:
    """Validate the ``Monitor`` options of a replay, and every score against their ``bounds``,
    before any order runs (an error raised in the middle of an order names nothing useful).

    Examples
    --------
    >>> check_options([0.2, 0.7], "maximize", {"bounds": (0, 1)})
    >>> check_options([0.2, 1.5], "maximize", {"bounds": (0, 1)})
    Traceback (most recent call last):
    ...
    tailstop.errors.InvalidDataError: score 1 = 1.5 lies outside the declared bounds [0.0, 1.0]
    """
    monitor = build_monitor(direction, None, dict(monitor_options), "monitor_options")
    bounds = monitor.bounds
    if bounds is not None:
        for index, score in enumerate(scores):
            check_score(score, index, bounds)
    if monitor.resolution is not None:  # a step too small for these scores: analyze's error
        clean_scores(scores, direction, bounds, resolution=monitor.resolution)


def _abandon(pool: ProcessPoolExecutor, before: set) -> None:
    """Cancel the chunks not started and kill the pool's worker processes (every child
    process not in ``before``; SIGKILL: a SIGTERM handler a worker inherits, e.g. from Ray in
    the parent, can hold it a second). The pool may start a worker while it is shut down
    (Python 3.10), so the children are looked for again once its manager thread is done."""
    pool.shutdown(wait=False, cancel_futures=True)
    for _ in range(2):
        workers = [p for p in multiprocessing.active_children() if p not in before]
        for process in workers:
            process.kill()
        for process in workers:
            process.join(5)
        pool.shutdown(wait=True)  # (its workers dead, the manager thread ends at once)


def replay(
    scores,
    direction: str,
    rules: Mapping[str, RuleLike],
    *,
    epsilon: float,
    orders: int = 200,
    budget: int | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    monitor_options: Mapping[str, Any] | None = None,
    notes: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Replay a finished search in ``orders`` random orders under each stopping rule.

    Parameters
    ----------
    scores : sequence of float or None
        One score per trial of the finished search (``None``/NaN/inf = failed trial).
    direction : {"maximize", "minimize"}
    rules : mapping of name to rule
        :class:`~tailstop.rules.Rule` objects (each order runs a fresh ``Monitor`` that knows
        the budget; wrap in :func:`without_budget` to hide it), or baselines: callables
        ``stopper(scores_in_order, direction) -> trials used``, such as :class:`FixedTrials`
        and :class:`RayPlateau`. See :func:`baselines` for the issue-4 set.
    epsilon : float
        Regret counted as success, in score units (> 0).
    orders : int
        Random orders (the same ones for every rule).
    budget : int, optional
        Trials each replayed search may use; default (and at most) ``len(scores)``. Regret
        is always against the best of all the scores.
    seed : int
        Seed of the random orders.
    n_jobs : int
        Worker processes (``-1``: one per CPU); rules must then be picklable.
    monitor_options : mapping, optional
        Extra keyword arguments for every ``Monitor`` (``min_trials``, ``confidence``,
        ``refit_growth``, ``refit_step``, ...).
    notes : sequence of str
        Lines printed under the table (e.g. :func:`terminator_note`).
    progress : callable, optional
        Called as ``progress(done, orders)`` each time orders finish (after each order in
        one process; after each block of orders with ``n_jobs > 1``), e.g. to show how far
        a long replay has got; what it raises propagates.

    Returns
    -------
    ReplayResult

    Examples
    --------
    Patience stops earlier than a fixed 50 trials, and misses the best more often:

    >>> from tailstop.rules import Patience
    >>> from tailstop.synthetic import make_problem
    >>> scores = make_problem(2, noise_ratio=0.01, generator=5).run_search(200, generator=6)
    >>> result = replay(scores, "maximize", {"fixed": FixedTrials(50), "patience": Patience(20)},
    ...                 epsilon=0.02, orders=100, seed=1)
    >>> fixed, patience = result.outcomes["fixed"], result.outcomes["patience"]
    >>> fixed.mean_trials, bool(patience.mean_trials < fixed.mean_trials)
    (50.0, True)
    >>> bool(patience.success_rate < fixed.success_rate), bool(patience.mean_regret > 0)
    (True, True)
    """
    import time

    started = time.perf_counter()
    direction = check_direction(direction)
    if isinstance(scores, (str, bytes)) or not np.iterable(scores):
        raise InvalidDataError(f"scores must be a sequence of numbers, got {type(scores).__name__}")
    values = np.array([check_score(s, i) for i, s in enumerate(scores)], dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InvalidDataError("scores has no finite value to replay")
    epsilon = real_number(epsilon, "epsilon")
    if not epsilon > 0:
        raise InvalidParameterError(f"epsilon must be a number > 0, got {epsilon!r}")
    if not math.isfinite(epsilon):
        raise InvalidParameterError(f"epsilon must be finite, got {epsilon!r}")
    seed = integer(seed, "seed", 0)
    orders = integer(orders, "orders", 1)
    budget = values.size if budget is None else integer(budget, "budget", 1)
    if budget > values.size:
        raise InvalidParameterError(
            f"budget {budget} exceeds the {values.size} trials there are to replay"
        )
    if not isinstance(rules, Mapping) or not rules:
        raise InvalidParameterError("rules must be a non-empty mapping of name to rule")
    for name, rule in rules.items():
        if not isinstance(name, str):
            raise InvalidParameterError(f"rule names must be strings, got {name!r}")
        if not isinstance(rule, (Rule, WithoutBudget)) and not callable(rule):
            raise InvalidParameterError(f"rule {name!r} is neither a Rule nor a callable")
    if monitor_options is not None and not isinstance(monitor_options, Mapping):
        raise InvalidParameterError(
            "monitor_options must be a mapping of Monitor keyword arguments, got "
            f"{type(monitor_options).__name__}"
        )
    options = dict(monitor_options or {})
    check_options(values, direction, options)

    sign = 1.0 if direction == "maximize" else -1.0
    oriented = np.where(np.isfinite(values), sign * values, -np.inf)  # maximise, failed = -inf
    best = float(oriented.max())
    permutations = _draw_orders(values.size, orders, seed)

    names, rule_list = list(rules), list(rules.values())
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    n_jobs = max(1, min(integer(n_jobs, "n_jobs", 1), orders))
    finished = 0

    def done(count: int) -> None:
        nonlocal finished
        finished += count
        if progress is not None:
            progress(finished, orders)

    if n_jobs == 1:
        used = _run_chunk(values, direction, rule_list, permutations, budget, options, done)
    else:
        chunks = [c for c in np.array_split(permutations, n_jobs * 4) if len(c)]
        children = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(max_workers=n_jobs)
        try:
            futures = {
                pool.submit(_run_chunk, values, direction, rule_list, c, budget, options): len(c)
                for c in chunks
            }
            for future in as_completed(futures):
                done(futures[future])
            used = np.concatenate([f.result() for f in futures])
        except BaseException:
            # Ctrl-C (or a failure): leaving the pool as ``with`` does would wait for every
            # queued chunk, minutes of replays; cancel them and end the workers instead
            _abandon(pool, children)
            raise
        pool.shutdown()

    best_so_far = np.maximum.accumulate(oriented[permutations][:, :budget], axis=1)
    reached = best_so_far >= best - epsilon
    # orders that never come within epsilon inside the budget: the oracle uses them all
    oracle = np.where(reached.any(axis=1), reached.argmax(axis=1) + 1, budget)
    outcomes = {}
    for j, (name, rule) in enumerate(zip(names, rule_list, strict=True)):
        trials = used[:, j]
        final = best_so_far[np.arange(orders), trials - 1]
        outcomes[name] = RuleOutcome(name, _describe(rule), trials, best - final, float(epsilon))
    notes = list(notes)
    if not reached[:, -1].all():
        share = 1 - reached[:, -1].mean()
        notes.append(f"{share:.0%} of orders never come within epsilon inside the budget")
    return ReplayResult(
        direction=direction,
        n_scores=int(values.size),
        budget=int(budget),
        epsilon=float(epsilon),
        orders=orders,
        best=sign * best,
        oracle_trials=oracle,
        outcomes=outcomes,
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
    )


"""Stopping rules: when a random search should end, given the fitted tail and the search's state.

A rule looks at the latest :class:`~tailstop.estimate.TailEstimate` (``None`` while there are
too few trials to fit) and at a :class:`SearchState` (trial counts, budget, best so far, ...)
and returns a :class:`Decision`: stop or not, and a sentence that says why, with the numbers.

With ``F`` the fitted score distribution of one trial, ``y`` the current best and ``T_k`` the
best of ``k`` more trials, the rules use (docs/how-it-works.md)::

    expected gain over k trials   G(k) = E[max(y, T_k)] - y = int_y^inf (1 - F(t)^k) dt
    one more trial                G(1) = E[(Y - y)+]        = int_y^inf (1 - F(t)) dt

always through the *upper* end of their confidence interval (the largest value over the
plausible fits the intervals span: the profile ends of the chosen tail and its stability
partner, the noise's ends, the consistent ``c``, the least-gain fits), so that parameter
uncertainty errs towards continuing the search.

Rules that need the estimate never stop when it is missing, and never stop when the noisy
quadratic does not describe the tail (``estimate.fits_well`` is False): a forecast from a law
that does not fit is no reason to end a search, so the rule says so and lets it go on. The
exception is a current best that has reached the metric's bound (``bounds``): nothing is left
to gain, whether the law fits or not, and every estimate-based rule stops. The
budget is not a rule's business: :class:`~tailstop.monitor.Monitor` always stops once the
budget is used, whatever the rule says.

Rules combine with :func:`any_of` / ``|`` (stop when one does) and :func:`all_of` / ``&``
(stop when all do).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from tailstop._data import integer, real_number
from tailstop._gains import chance_high, gain_bracket, gain_interval
from tailstop.errors import InvalidParameterError

if TYPE_CHECKING:
    from tailstop.estimate import TailEstimate

__all__ = [
    "NOISE_FLOOR_FRACTION",
    "AllOf",
    "AnyOf",
    "CostBenefit",
    "Decision",
    "GainBelow",
    "NearOptimum",
    "Patience",
    "Rule",
    "SearchState",
    "all_of",
    "any_of",
    "gain_interval",
    "noise_floor",
]

NOISE_FLOOR_FRACTION = 0.01
"""``GainBelow()`` without epsilon uses ``max(noise, NOISE_FLOOR_FRACTION * tail width)``, the
noise the given one or the low end of the fitted one's interval."""


def noise_floor(estimate: TailEstimate) -> float:
    """The floor of ``GainBelow()``'s default epsilon: ``NOISE_FLOOR_FRACTION`` of the tail's
    width (the metric's step, when the estimate has one, is another).

    The width is ``|best_possible - threshold|``, the threshold being the search's worst
    finite score when the whole search is the tail (an infinite threshold).
    """
    lower = estimate.threshold
    if not math.isfinite(lower):  # the whole search is the tail: down to its worst score
        finite = estimate.scores[np.isfinite(estimate.scores)]
        lower = float(finite.min() if estimate.direction == "maximize" else finite.max())
    return NOISE_FLOOR_FRACTION * abs(estimate.best_possible.estimate - lower)


@dataclass(frozen=True)
class SearchState:
    """What a rule knows about the search besides the fit.

    Attributes
    ----------
    n_trials : int
        Finished trials, failed ones included.
    n_failed : int
        Trials without a finite score.
    budget : int or None
        The most trials the search will run, if known.
    trials_since_improvement : int
        Trials finished since the best score last improved strictly (all of them while no
        trial has a finite score).
    current_best : float or None
        Best finite score so far (user orientation), ``None`` if there is none.
    mean_duration : float or None
        Mean duration in seconds of the trials whose duration is known.
    direction : str
        ``"maximize"`` or ``"minimize"``.
    time_left : float or None
        Seconds left in the search's time budget, if it has one (0 once it is used).
    trial_rate : float or None
        Trials finished per second of wall-clock time, all workers together, as measured
        (None until measured).

    The attributes are also the constructor's parameters; :attr:`remaining` derives the
    trials left in the budget.

    Examples
    --------
    >>> state = SearchState(n_trials=120, budget=200, trials_since_improvement=15,
    ...                     current_best=0.81, mean_duration=42.0)
    >>> state.remaining, state.direction
    (80, 'maximize')
    >>> SearchState(n_trials=250, budget=200).remaining, SearchState(n_trials=10).remaining
    (0, None)

    A time budget: 600 s left at 0.05 trials per second is 30 more trials, fewer than the
    trial budget leaves:

    >>> SearchState(n_trials=120, budget=200, time_left=600.0, trial_rate=0.05).remaining
    30
    """

    n_trials: int
    n_failed: int = 0
    budget: int | None = None
    trials_since_improvement: int = 0
    current_best: float | None = None
    mean_duration: float | None = None
    direction: str = "maximize"
    time_left: float | None = None
    trial_rate: float | None = None

    @property
    def remaining(self) -> int | None:
        """Trials left in the budget: ``budget - n_trials`` (at least 0), and with a time
        budget and a measured rate, the trials that finish in the time left,
        ``floor(trial_rate * time_left)``; the smaller of the two known, ``None`` when
        neither is."""
        found = self._remaining_by_source()
        return None if not found else min(found.values())

    @property
    def remaining_by_time(self) -> bool:
        """True when the time budget, not the trial budget, sets :attr:`remaining`."""
        found = self._remaining_by_source()
        return "time" in found and found["time"] < found.get("trials", math.inf)

    def _remaining_by_source(self) -> dict[str, int]:
        found = {}
        if self.budget is not None:
            found["trials"] = max(self.budget - self.n_trials, 0)
        if self.time_left is not None and self.trial_rate is not None:
            expected = self.trial_rate * max(self.time_left, 0.0)
            if expected >= 0:  # (not NaN)
                found["time"] = math.floor(min(expected, 2.0**62))
        return found


@dataclass(frozen=True)
class Decision:
    """A rule's verdict; true when it says stop.

    Parameters
    ----------
    stop : bool
        Whether the search should stop.
    reason : str
        One sentence saying why, with the numbers compared.
    rule : str
        Name of the rule that decided (``"GainBelow"``, ``"any_of"``, ``"budget"``, ...).
    quantity : float or None
        The number the rule compared (e.g. the upper bound of the expected gain).
    threshold : float or None
        What ``quantity`` was compared with. Both are ``None`` when the rule could not
        compute them (no estimate, law does not fit, a combination of rules, ...).
    parts : tuple of Decision
        A combination's decisions of its rules (empty for a single rule).

    Examples
    --------
    >>> decision = Patience(10).decide(None, SearchState(n_trials=40, trials_since_improvement=12))
    >>> bool(decision), decision.rule, decision.quantity, decision.threshold
    (True, 'Patience', 12.0, 10.0)
    >>> decision.reason
    '12 trials since the best improved >= patience 10; stop'
    """

    stop: bool
    reason: str
    rule: str = ""
    quantity: float | None = None
    threshold: float | None = None
    parts: tuple[Decision, ...] = ()

    def __bool__(self) -> bool:
        return self.stop

    def find(self, rule: str) -> Decision | None:
        """The first decision of ``rule`` here or among the parts, depth first (or None).

        >>> from tailstop import GainBelow, Patience, any_of
        >>> decision = any_of(Patience(10), GainBelow(0.01)).decide(
        ...     None, SearchState(n_trials=40, trials_since_improvement=3))
        >>> decision.rule, decision.find("Patience").quantity, decision.find("NearOptimum")
        ('any_of', 3.0, None)
        """
        if self.rule == rule:
            return self
        for part in self.parts:
            found = part.find(rule)
            if found is not None:
                return found
        return None


class Rule(ABC):
    """Base class of stopping rules.

    Subclasses implement :meth:`decide` and :meth:`describe`; set ``needs_estimate = False``
    when the rule never looks at the estimate (the replay then skips the fits). Rules
    combine with ``|`` (:func:`any_of`) and ``&`` (:func:`all_of`).

    Examples
    --------
    A rule that stops once the best score reaches a target, combined with patience:

    >>> class ReachTarget(Rule):
    ...     needs_estimate = False
    ...     def __init__(self, target):
    ...         self.target = target
    ...     def describe(self):
    ...         return f"ReachTarget({self.target})"
    ...     def decide(self, estimate, state):
    ...         best = state.current_best
    ...         stop = best is not None and best >= self.target
    ...         return Decision(stop, f"best {best} vs target {self.target}", "ReachTarget",
    ...                         best, self.target)
    >>> rule = ReachTarget(0.9) | Patience(50)
    >>> rule
    any_of(ReachTarget(0.9), Patience(k=50))
    >>> rule.decide(None, SearchState(n_trials=30, current_best=0.93)).reason
    'best 0.93 vs target 0.9'
    >>> rule.decide(None, SearchState(n_trials=30, current_best=0.85)).stop
    False
    """

    needs_estimate: bool = True

    @abstractmethod
    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        """Stop or continue, and why."""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the rule and its settings."""

    def __repr__(self) -> str:
        return self.describe()

    def __or__(self, other: Rule) -> AnyOf:
        return AnyOf(self, other)

    def __and__(self, other: Rule) -> AllOf:
        return AllOf(self, other)

    # shared by the estimate-based rules
    def _without_the_law(
        self, estimate: TailEstimate | None, state: SearchState
    ) -> Decision | None:
        """The decision when the law cannot or need not be read: continue without a usable
        estimate; stop once the current best is the metric's best value (``bounds``), which
        no trial can beat, whether the law fits or not (a ceiling many trials reach makes a
        tail the law does not describe). None when the rule must read the law."""
        name = type(self).__name__
        if estimate is None:
            return Decision(
                False, f"{name}: no estimate yet ({state.n_trials} trials); continue", name
            )
        if estimate._at_ceiling:
            return Decision(
                True,
                f"{name}: the current best {_fmt(estimate.current_best)} is the metric's best "
                "value (its bounds): no trial can improve it; stop",
                name,
                0.0,
            )
        if not estimate.fits_well:
            return Decision(
                False,
                f"{name}: the noisy quadratic does not fit the tail yet "
                f"({estimate.fit_reason}); continue",
                name,
            )
        return None


def _number(value: object, name: str, *, positive: bool = False) -> float:
    number = real_number(value, name)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidParameterError(f"{name} must be finite and {bound}, got {value!r}")
    return number


def _fmt(x: float, other: float | None = None) -> str:
    """``x`` to 3 significant digits, or as many more as tell it apart from ``other``."""
    for digits in (3, 4, 5, 6, 8, 10, 12, 17):
        text = f"{x:.{digits}g}"
        if other is None or x == other or text != f"{other:.{digits}g}":
            return text
    return text


class GainBelow(Rule):
    """Stop when the upper confidence bound of the expected gain over a horizon is below epsilon.

    ``stop  <=>  G_high(h) < epsilon`` with ``G(h) = int_y^inf (1 - F(t)^h) dt``.

    Parameters
    ----------
    epsilon : float, optional
        Smallest gain worth having, in score units. Default: the seed noise ``sigma``
        (gains below it are luck, not better hyperparameters): the given one, or else the
        lower end of the fitted noise's interval (:attr:`TailEstimate.noise_interval`), which
        early in a search can be far below the point estimate, an estimate then often many
        times the true noise. Floored at ``NOISE_FLOOR_FRACTION`` (1%) of the fitted tail's
        width ``|b - threshold|`` (best possible minus the regime threshold), so that a fit
        with zero noise does not mean "never stop", and at the metric's step when the
        estimate was given one (``resolution``): a gain below one step is one the metric
        cannot show.
    horizon : int, optional
        Trials ahead. Default: the remaining budget (:attr:`SearchState.remaining`: ``budget
        - n_trials``, or with a time budget the trials that finish in the time left, the
        smaller) when a budget is known (with nothing left the gain is 0 and the rule stops),
        else ``n_trials`` (what doubling the search would bring).

    Examples
    --------
    >>> from tailstop import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> decision = GainBelow(0.05).decide(estimate, SearchState(n_trials=200, budget=300))
    >>> decision.stop, "interval of the expected gain over 100" in decision.reason
    (True, True)

    Notes
    -----
    A forecast costs ~0.1 s, and the horizon changes with every trial. The upper bounds
    already computed for an estimate are kept (:func:`gain_interval`) and bracket the one
    needed: each fit's gain is increasing and concave in ``h`` with ``G(0) = 0``, so
    ``(h/h') G(h') <= G(h) <= G(h')`` for ``h <= h'`` (and the mirror bounds for
    ``h >= h'``). When the bracket lies entirely on one side of epsilon the decision is exact
    and the reason quotes the bound ("at most" / "at least"); otherwise ``G(h)`` is computed.
    """

    def __init__(
        self,
        epsilon: float | None = None,
        horizon: int | None = None,
        *,
        probability: float | None = None,
    ):
        # epsilon = 0 would never stop: G(h) >= 0 always
        self.epsilon = None if epsilon is None else _number(epsilon, "epsilon", positive=True)
        self.horizon = None if horizon is None else integer(horizon, "horizon", 1)
        if probability is not None:
            probability = _number(probability, "probability", positive=True)
            if probability >= 1:
                raise InvalidParameterError(f"probability must be in (0, 1), got {probability}")
        self.probability = probability

    def describe(self) -> str:
        eps = "seed noise" if self.epsilon is None else _fmt(self.epsilon)
        hor = "remaining budget or n_trials" if self.horizon is None else str(self.horizon)
        extra = "" if self.probability is None else f", probability={self.probability:g}"
        return f"GainBelow(epsilon={eps}, horizon={hor}{extra})"

    def threshold(self, estimate: TailEstimate) -> tuple[float, str]:
        """The epsilon in use and how it was chosen."""
        if self.epsilon is not None:
            return self.epsilon, "epsilon"
        floor = noise_floor(estimate)
        noise, low, _ = estimate.noise_interval
        if estimate.noise_known:
            source, text = float(noise), "the given seed noise"
        else:
            source, text = float(low), (
                f"the low end of the fitted seed noise's interval (noise {_fmt(noise)})"
            )
        what = "noise" if estimate.noise_known else "noise's low end"
        step = estimate.resolution
        if step is not None and step > max(source, floor):
            return float(step), f"the metric's step, its resolution ({what} {_fmt(source)})"
        if source >= floor:
            return source, text
        return float(floor), (
            f"{NOISE_FLOOR_FRACTION:.0%} of the tail width ({what} {_fmt(source)})"
        )

    def horizon_for(self, state: SearchState) -> tuple[int, str]:
        """The horizon in use and how it was chosen."""
        if self.horizon is not None:
            return self.horizon, "trials"
        remaining = state.remaining  # None exactly when there is no budget
        if remaining is not None:
            if state.remaining_by_time:
                seconds, rate = cast("float", state.time_left), cast("float", state.trial_rate)
                return int(remaining), (
                    f"trials the time budget leaves ({_fmt(seconds)} s at {_fmt(rate)} trials/s)"
                )
            return int(remaining), "trials left in the budget"
        return int(state.n_trials), "more trials (as many as so far)"

    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        settled = self._without_the_law(estimate, state)
        if settled is not None:
            return settled
        assert estimate is not None  # _without_the_law settles a missing estimate
        epsilon, source = self.threshold(estimate)
        horizon, horizon_text = self.horizon_for(state)
        low, high = gain_bracket(estimate, horizon) if horizon > 0 else (0.0, 0.0)
        if high < epsilon:  # decided by a gain computed for another horizon
            stop, gain, exact = True, high, False
        elif low >= epsilon:
            stop, gain, exact = False, low, False
        else:
            gain, exact = gain_interval(estimate, horizon)[2], True
            stop = gain < epsilon
        chance = None
        if stop and self.probability is not None and horizon > 0:
            chance = chance_high(estimate, epsilon, horizon)
            stop = chance < self.probability
        verdict = "stop" if stop else "continue"
        relation = "<" if gain < epsilon else ">="
        if exact:
            bound = f"is {_fmt(gain, epsilon)}"
        else:
            bound = f"is {'at most' if stop else 'at least'} {_fmt(gain, epsilon)}"
        reason = (
            f"the upper end of the {estimate.confidence:.0%} interval of the expected gain over "
            f"{horizon} {horizon_text} {bound} {relation} {_fmt(epsilon, gain)} ({source})"
        )
        if chance is not None and self.probability is not None:  # chance implies probability
            word = "<" if chance < self.probability else ">="
            reason += (
                f" and the chance to gain more than that is at most {chance:.2g} {word} "
                f"{self.probability:g}"
            )
        return Decision(stop, f"{reason}; {verdict}", "GainBelow", gain, epsilon)


class NearOptimum(Rule):
    """Stop when the current best is within ``epsilon`` of the best possible score's upper bound.

    ``stop  <=>  b_high - y <= epsilon`` (``y - b_low`` when minimising), ``b`` the best
    expected score the law allows. With seed noise the current best can exceed ``b``; the rule
    then stops.

    Parameters
    ----------
    epsilon : float
        Largest distance to the best possible score still worth closing, in score units
        (>= 0).

    Examples
    --------
    >>> from tailstop import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> state = SearchState(n_trials=200, current_best=estimate.current_best)
    >>> near = NearOptimum(0.1).decide(estimate, state)
    >>> near.stop, near.quantity == estimate.remaining_gain.high
    (True, True)
    >>> NearOptimum(0.001).decide(estimate, state).reason
    "the current best 0.815... is within ... of the best possible score's upper bound, > 0.001;
    continue"
    """

    def __init__(self, epsilon: float):
        self.epsilon = _number(epsilon, "epsilon")

    def describe(self) -> str:
        return f"NearOptimum(epsilon={_fmt(self.epsilon)})"

    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        settled = self._without_the_law(estimate, state)
        if settled is not None:
            return settled
        assert estimate is not None  # _without_the_law settles a missing estimate
        gap = float(estimate.remaining_gain.high)
        stop = gap <= self.epsilon
        relation = "<=" if stop else ">"
        maximize = estimate.direction == "maximize"
        end = f"the best possible score's {'upper' if maximize else 'lower'} bound"
        if gap < 0:  # the current best beyond the whole interval (luck, or a misfit)
            where = f"is {'above' if maximize else 'below'} {end} by {_fmt(-gap)}"
        else:
            where = f"is within {_fmt(gap)} of {end}"
        reason = (
            f"the current best {estimate.current_best:.6g} {where}, {relation} "
            f"{_fmt(self.epsilon)}; {'stop' if stop else 'continue'}"
        )
        return Decision(stop, reason, "NearOptimum", gap, self.epsilon)


class CostBenefit(Rule):
    """Optimal stopping of i.i.d. search with recall: stop when one more trial is not worth it.

    ``stop  <=>  value_per_unit * E_high[(Y - y)+] < cost_per_trial``, with
    ``E[(Y - y)+] = int_y^inf (1 - F(t)) dt`` the expected gain of one more trial. For i.i.d.
    offers with free recall this myopic reservation-value rule is optimal (MacQueen & Miller
    1960; McCall 1970): the problem is monotone, so once one more trial is not worth its
    cost, no later one is. The upper confidence bound makes the rule err towards continuing.

    Parameters
    ----------
    cost_per_trial : float, optional
        Cost of one trial, in the unit of ``value_per_unit``. Default: learned from the trials
        as their mean duration in seconds, so ``value_per_unit`` is then *seconds of compute
        worth spending per unit of score*. Without any duration the rule does not stop.
    value_per_unit : float
        Value of one unit of score improvement (> 0).

    Examples
    --------
    >>> from tailstop import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> CostBenefit(cost_per_trial=0.01).decide(estimate, SearchState(n_trials=200)).reason
    'one more trial is worth at most 1 x ... = ... < 0.01 (cost per trial); stop'

    With the cost learned from the trials' mean duration (30 s), and one unit of score worth
    an hour of compute, then a million hours:

    >>> state = SearchState(n_trials=200, mean_duration=30.0)
    >>> CostBenefit(value_per_unit=3600).decide(estimate, state).stop
    True
    >>> CostBenefit(value_per_unit=1e6).decide(estimate, state).stop
    False
    """

    def __init__(self, cost_per_trial: float | None = None, value_per_unit: float = 1.0):
        self.cost_per_trial = (
            None
            if cost_per_trial is None
            else _number(cost_per_trial, "cost_per_trial", positive=True)  # 0: never stops
        )
        self.value_per_unit = _number(value_per_unit, "value_per_unit", positive=True)

    def describe(self) -> str:
        cost = "mean duration (s)" if self.cost_per_trial is None else _fmt(self.cost_per_trial)
        return f"CostBenefit(cost_per_trial={cost}, value_per_unit={_fmt(self.value_per_unit)})"

    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        settled = self._without_the_law(estimate, state)
        if settled is not None:
            return settled
        assert estimate is not None  # _without_the_law settles a missing estimate
        cost = self.cost_per_trial
        cost_text = "cost per trial"
        if cost is None:
            if state.mean_duration is None:
                return Decision(
                    False,
                    "CostBenefit: no trial duration known yet to learn the cost from; continue",
                    "CostBenefit",
                )
            cost, cost_text = float(state.mean_duration), "mean trial duration (s)"
        gain = gain_interval(estimate, 1)[2]
        worth = self.value_per_unit * gain
        stop = worth < cost
        relation = "<" if stop else ">="
        reason = (
            f"one more trial is worth at most {_fmt(self.value_per_unit)} x {_fmt(gain)} = "
            f"{_fmt(worth)} {relation} {_fmt(cost)} ({cost_text}); {'stop' if stop else 'continue'}"
        )
        return Decision(stop, reason, "CostBenefit", worth, cost)


class Patience(Rule):
    """Stop after ``k`` trials in a row without a strict improvement of the best score.

    A simple baseline: it needs no fit, and ignores how much better the next trials could be.

    Parameters
    ----------
    k : int
        Trials without improvement to wait for (>= 1).

    Examples
    --------
    >>> rule = Patience(20)
    >>> rule.needs_estimate
    False
    >>> rule.decide(None, SearchState(n_trials=80, trials_since_improvement=19)).stop
    False
    >>> rule.decide(None, SearchState(n_trials=81, trials_since_improvement=20)).reason
    '20 trials since the best improved >= patience 20; stop'
    """

    needs_estimate = False

    def __init__(self, k: int):
        self.k = integer(k, "k", 1)

    def describe(self) -> str:
        return f"Patience(k={self.k})"

    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        waited = state.trials_since_improvement
        stop = waited >= self.k
        reason = (
            f"{waited} trials since the best improved "
            f"{'>=' if stop else '<'} patience {self.k}; {'stop' if stop else 'continue'}"
        )
        return Decision(stop, reason, "Patience", float(waited), float(self.k))


# Combinations live in their own module; re-exported here, where users look for them.
from tailstop.combine import AllOf, AnyOf, all_of, any_of  # noqa: E402

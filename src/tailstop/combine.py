"""Combining stopping rules: stop when any of them does, or only when all of them do.

``rule1 | rule2`` is :func:`any_of` and ``rule1 & rule2`` is :func:`all_of`; both are also in
:mod:`tailstop.rules`. A combination needs the estimate when any of its rules does, and its
reason joins those of the rules that decided it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tailstop.errors import InvalidParameterError
from tailstop.rules import Decision, Rule

if TYPE_CHECKING:
    from tailstop.estimate import TailEstimate
    from tailstop.rules import SearchState

__all__ = ["AllOf", "AnyOf", "all_of", "any_of"]


class _Combination(Rule):
    _word = ""
    rules: tuple[Rule, ...]

    def __init__(self, *rules: Rule):
        if not rules:
            raise InvalidParameterError(f"{type(self).__name__} needs at least one rule")
        flat: list[Rule] = []
        for rule in rules:
            if not isinstance(rule, Rule):
                raise InvalidParameterError(f"not a tailstop rule: {rule!r}")
            if isinstance(rule, _Combination) and type(rule) is type(self):
                flat.extend(rule.rules)  # flattened
            else:
                flat.append(rule)
        self.rules = tuple(flat)
        self.needs_estimate = any(rule.needs_estimate for rule in self.rules)

    def describe(self) -> str:
        return f"{self._word}({', '.join(rule.describe() for rule in self.rules)})"


class AnyOf(_Combination):
    """Stop as soon as any of the rules says stop.

    The reason joins those of the rules that stop (of all of them while none does).
    ``AnyOf(a, b)``, :func:`any_of` and ``a | b`` are the same; nested ``AnyOf`` are flattened.

    Parameters
    ----------
    *rules : Rule
        One or more rules.

    Examples
    --------
    >>> from tailstop.rules import NearOptimum, Patience, SearchState
    >>> rule = AnyOf(Patience(10), NearOptimum(0.01))
    >>> len((rule | Patience(50)).rules), rule.needs_estimate
    (3, True)
    >>> decision = rule.decide(None, SearchState(n_trials=40, trials_since_improvement=12))
    >>> decision.stop, decision.reason
    (True, '12 trials since the best improved >= patience 10; stop')
    """

    _word = "any_of"

    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        decisions = [rule.decide(estimate, state) for rule in self.rules]
        stopping = [d for d in decisions if d.stop]
        if stopping:
            return Decision(True, "; ".join(d.reason for d in stopping), self._word,
                            parts=tuple(decisions))
        return Decision(False, "; ".join(d.reason for d in decisions), self._word,
                        parts=tuple(decisions))


class AllOf(_Combination):
    """Stop only when every rule says stop.

    The reason joins those of the rules that still continue (of all of them once every one
    stops). ``AllOf(a, b)``, :func:`all_of` and ``a & b`` are the same; nested ``AllOf`` are
    flattened.

    Parameters
    ----------
    *rules : Rule
        One or more rules.

    Examples
    --------
    >>> from tailstop.rules import NearOptimum, Patience, SearchState
    >>> rule = AllOf(Patience(10), NearOptimum(0.01))
    >>> rule
    all_of(Patience(k=10), NearOptimum(epsilon=0.01))
    >>> decision = rule.decide(None, SearchState(n_trials=40, trials_since_improvement=12))
    >>> decision.stop, decision.reason
    (False, 'NearOptimum: no estimate yet (40 trials); continue')
    """

    _word = "all_of"

    def decide(self, estimate: TailEstimate | None, state: SearchState) -> Decision:
        decisions = [rule.decide(estimate, state) for rule in self.rules]
        waiting = [d for d in decisions if not d.stop]
        if waiting:
            return Decision(False, "; ".join(d.reason for d in waiting), self._word,
                            parts=tuple(decisions))
        return Decision(True, "; ".join(d.reason for d in decisions), self._word,
                        parts=tuple(decisions))


def any_of(*rules: Rule) -> AnyOf:
    """A rule that stops when any of ``rules`` does (also ``rule1 | rule2``).

    Parameters
    ----------
    *rules : Rule
        One or more rules.

    Returns
    -------
    AnyOf

    Examples
    --------
    >>> from tailstop.rules import GainBelow, Patience, SearchState
    >>> rule = any_of(Patience(30), GainBelow(0.001))
    >>> rule
    any_of(Patience(k=30), GainBelow(epsilon=0.001, horizon=remaining budget or n_trials))
    >>> rule.decide(None, SearchState(n_trials=60, trials_since_improvement=31)).stop
    True
    """
    return AnyOf(*rules)


def all_of(*rules: Rule) -> AllOf:
    """A rule that stops when all of ``rules`` do (also ``rule1 & rule2``).

    Parameters
    ----------
    *rules : Rule
        One or more rules.

    Returns
    -------
    AllOf

    Examples
    --------
    >>> from tailstop.rules import Patience, SearchState
    >>> rule = all_of(Patience(30), Patience(50))
    >>> rule.decide(None, SearchState(n_trials=90, trials_since_improvement=40)).stop
    False
    >>> rule.decide(None, SearchState(n_trials=90, trials_since_improvement=50)).reason
    '50 trials since the best improved >= patience 30; stop; 50 trials ... >= patience 50; stop'
    """
    return AllOf(*rules)

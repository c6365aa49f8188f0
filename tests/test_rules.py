"""tailstop.rules: decisions on fitted estimates, combinators, validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tailstop._gains import gain_bracket
from tailstop.errors import InvalidParameterError
from tailstop.estimate import analyze
from tailstop.rules import (
    NOISE_FLOOR_FRACTION,
    AllOf,
    AnyOf,
    CostBenefit,
    Decision,
    GainBelow,
    NearOptimum,
    Patience,
    SearchState,
    all_of,
    any_of,
    gain_interval,
    noise_floor,
)
from tailstop.synthetic import make_problem


@pytest.fixture(scope="module")
def estimate():
    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=7)
    est = analyze(problem.run_search(150, generator=6), "maximize")
    assert est.fits_well, est.fit_reason
    return est


@pytest.fixture(scope="module")
def misfit(estimate):
    return dataclasses.replace(estimate, fits_well=False, fit_reason="made up for the test")


def state(n=150, **kwargs) -> SearchState:
    return SearchState(n_trials=n, **kwargs)


def test_gain_below_compares_the_upper_bound_over_the_remaining_budget(estimate):
    gain = estimate.expected_gain(350)
    between = 0.5 * (gain.estimate + gain.high)
    below = GainBelow(between).decide(estimate, state(budget=500))
    assert not below.stop and below.quantity == pytest.approx(gain.high)
    assert "350 trials left in the budget" in below.reason and "continue" in below.reason
    above = GainBelow(1.01 * gain.high).decide(estimate, state(budget=500))
    assert above.stop and "stop" in above.reason
    assert above.threshold == pytest.approx(1.01 * gain.high)


def test_gain_below_horizon_defaults(estimate):
    estimate = dataclasses.replace(estimate)  # a copy: no gains cached by earlier tests
    without_budget = GainBelow(1e-9).decide(estimate, state(n=150))
    assert "150 more trials" in without_budget.reason
    assert without_budget.quantity == pytest.approx(estimate.expected_gain(150).high)
    estimate = dataclasses.replace(estimate)
    fixed = GainBelow(1e-9, horizon=7).decide(estimate, state(budget=1000))
    assert fixed.quantity == pytest.approx(estimate.expected_gain(7).high)
    exhausted = GainBelow(1e-9).decide(estimate, state(n=150, budget=150))
    assert exhausted.stop and exhausted.quantity == 0.0


def test_gain_below_default_epsilon_is_noise_with_a_floor(estimate):
    epsilon, _source = GainBelow().threshold(estimate)
    floor = NOISE_FLOOR_FRACTION * abs(estimate.best_possible.estimate - estimate.threshold)
    assert noise_floor(estimate) == pytest.approx(floor)
    noise, low, high = estimate.noise_interval
    assert 0 <= low <= noise <= high
    assert epsilon == pytest.approx(max(low, floor))
    # a noise interval whose low end is above the floor (no other fit in the region lower):
    # that end is the epsilon
    ends = {**estimate._state.ends, ("o", -1.0): 3.0 * floor}
    above = dataclasses.replace(
        estimate, noise=max(estimate.noise, 4.0 * floor), _fits=(),
        _state=dataclasses.replace(estimate._state, ends=ends),
    )
    assert above.noise_interval.low == 3.0 * floor
    epsilon_above, source_above = GainBelow().threshold(above)
    assert epsilon_above == pytest.approx(3.0 * floor)
    assert "low end of the fitted seed noise's interval" in source_above
    # a given noise is the epsilon itself
    given = dataclasses.replace(above, noise_known=True)
    assert GainBelow().threshold(given) == (given.noise, "the given seed noise")
    noiseless = dataclasses.replace(estimate, noise=0.0)
    epsilon0, source0 = GainBelow().threshold(noiseless)
    assert epsilon0 == pytest.approx(floor) and epsilon0 > 0
    assert "tail width" in source0
    decision = GainBelow().decide(noiseless, state(budget=10_000))
    assert decision.threshold == pytest.approx(floor)


def test_estimate_rules_never_stop_without_a_usable_fit(estimate, misfit):
    rules = [GainBelow(1e9), NearOptimum(1e9), CostBenefit(1e-12, 1e-12)]
    for rule in rules:
        assert rule.decide(estimate, state(mean_duration=1.0)).stop
        none = rule.decide(None, state(n=5))
        assert not none.stop and "no estimate" in none.reason
        bad = rule.decide(misfit, state())
        assert not bad.stop and "does not fit" in bad.reason and "made up" in bad.reason


def test_gain_bracket_holds_and_decisions_match_exact_ones(estimate):
    # the concavity bracket from cached horizons must contain the exact upper bound
    for h in (40, 100, 300):
        gain_interval(estimate, h)
    for h in (10, 60, 99, 101, 250, 900):
        low, high = gain_bracket(estimate, h)
        exact = float(estimate.expected_gain(h).high)
        assert low <= exact * (1 + 1e-9) and exact <= high * (1 + 1e-9)
    exact = {h: float(estimate.expected_gain(h).high) for h in (95, 98, 120)}
    for h, value in exact.items():
        for epsilon in (0.9 * value, 1.1 * value):
            budgeted = state(n=150, budget=150 + h)
            assert GainBelow(epsilon).decide(estimate, budgeted).stop == (value < epsilon)


def test_near_optimum(estimate):
    gap = estimate.best_possible.high - estimate.current_best
    assert NearOptimum(gap * 1.01 + 1e-12).decide(estimate, state()).stop
    decision = NearOptimum(gap * 0.5).decide(estimate, state())
    assert not decision.stop and decision.quantity == pytest.approx(gap)
    assert "is within" in decision.reason and "upper bound" in decision.reason
    # a current best beyond the whole interval (seed-noise luck) is said so, not "within -x"
    lucky = dataclasses.replace(estimate, current_best=estimate.best_possible.high + 0.01)
    decision = NearOptimum(0.0).decide(lucky, state())
    assert decision.stop and decision.quantity == pytest.approx(-0.01)
    assert "above the best possible score's upper bound by 0.01" in decision.reason
    assert "-" not in decision.reason.split("bound")[1]


def test_cost_benefit_with_given_and_learned_cost(estimate):
    gain1 = float(estimate.expected_gain(1).high)
    value = 1000.0
    worth = value * gain1
    assert CostBenefit(1.1 * worth, value).decide(estimate, state()).stop
    assert not CostBenefit(0.9 * worth, value).decide(estimate, state()).stop
    learned = CostBenefit(value_per_unit=value)
    assert learned.decide(estimate, state(mean_duration=1.1 * worth)).stop
    assert not learned.decide(estimate, state(mean_duration=0.9 * worth)).stop
    unknown = learned.decide(estimate, state(mean_duration=None))
    assert not unknown.stop and "duration" in unknown.reason


def test_patience_needs_no_estimate():
    rule = Patience(5)
    assert not rule.needs_estimate
    assert not rule.decide(None, state(n=30, trials_since_improvement=4)).stop
    decision = rule.decide(None, state(n=30, trials_since_improvement=5))
    assert decision.stop and "5 trials since the best improved" in decision.reason


def test_combinators(estimate):
    patient, never = Patience(3), GainBelow(1e-300)
    waited = state(trials_since_improvement=3)
    either = patient | never
    assert isinstance(either, AnyOf)
    decided = either.decide(estimate, waited)
    assert decided.stop and "patience 3" in decided.reason and "gain" not in decided.reason
    going = either.decide(estimate, state(trials_since_improvement=0))
    assert not going.stop and "patience 3" in going.reason and "expected gain" in going.reason
    both = patient & never
    assert isinstance(both, AllOf)
    assert not both.decide(estimate, waited).stop
    assert both.needs_estimate and not all_of(Patience(2), Patience(3)).needs_estimate
    assert all_of(Patience(2), Patience(3)).decide(None, waited).stop
    assert not all_of(Patience(2), Patience(4)).decide(None, waited).stop
    nested = any_of(any_of(Patience(1), Patience(2)), Patience(3))
    assert len(nested.rules) == 3
    assert "any_of(Patience(k=1)" in nested.describe()
    assert isinstance(Decision(True, "x"), Decision) and bool(Decision(True, "x"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: GainBelow(-1.0),
        lambda: GainBelow(0.0),
        lambda: GainBelow(float("nan")),
        lambda: GainBelow(0.1, horizon=0),
        lambda: GainBelow(0.1, horizon=2.5),
        lambda: GainBelow("0.1"),
        lambda: NearOptimum(-0.1),
        lambda: CostBenefit(-1.0, 1.0),
        lambda: CostBenefit(0.0, 1.0),
        lambda: CostBenefit(1.0, 0.0),
        lambda: Patience(0),
        lambda: Patience(True),
        lambda: Patience(1.5),
        lambda: any_of(),
        lambda: any_of(Patience(2), "not a rule"),
    ],
)
def test_invalid_arguments(make):
    with pytest.raises(InvalidParameterError):
        make()


def test_search_state_remaining():
    assert state(n=10, budget=25).remaining == 15
    assert state(n=30, budget=25).remaining == 0
    assert state(n=10).remaining is None
    assert np.isclose(GainBelow(0.5).epsilon, 0.5)


def test_default_epsilon_is_finite_when_the_whole_search_is_the_tail():
    from tailstop import NoisyQuadraticDistribution

    ys = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.0).sample(
        60, generator=np.random.default_rng(3)
    )
    estimate = analyze(ys, "maximize")
    assert estimate.threshold == -np.inf  # the case in question
    epsilon, _ = GainBelow().threshold(estimate)
    assert 0 < epsilon < np.ptp(ys)


def test_gain_below_with_a_probability_is_at_least_as_cautious(estimate):
    for budget in (estimate.n_trials + 5, estimate.n_trials + 50, estimate.n_trials + 5000):
        for epsilon in (1e-4, 1e-3, 1e-2, 1e-1):
            plain = GainBelow(epsilon).decide(estimate, state(estimate.n_trials, budget=budget))
            cautious = GainBelow(epsilon, probability=0.1).decide(
                estimate, state(estimate.n_trials, budget=budget)
            )
            assert plain.stop or not cautious.stop
            if plain.stop and not cautious.stop:
                assert "chance" in cautious.reason
    with pytest.raises(InvalidParameterError):
        GainBelow(0.01, probability=1.0)

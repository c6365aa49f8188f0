"""A known seed noise (``analyze(..., noise=)``, ``Monitor(noise=)``): held fixed in every fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_same_estimate

from tailstop import Monitor, analyze
from tailstop.errors import InvalidParameterError
from tailstop.synthetic import make_problem


@pytest.fixture(scope="module")
def noisy_search():
    problem = make_problem(2, noise_ratio=0.05, regime_mass=0.3, generator=2)
    return problem, np.asarray(problem.run_search(150, generator=12))


def _fits(estimate):
    """The fits that hold the given noise (those of the estimate with it fitted aside)."""
    fits = estimate._fits[: len(estimate._fits) - len(estimate._free._fits)]
    return (*fits, *estimate._state.curve_fits.get("fits", ()))


def _spans(estimate, other) -> bool:
    """``estimate``'s intervals hold ``other``'s."""
    bp, free = estimate.best_possible, other.best_possible
    gain, free_gain = estimate.expected_gain(50), other.expected_gain(50)
    return (
        bp.low <= free.low and free.high <= bp.high
        and gain.low <= free_gain.low and free_gain.high <= gain.high
        and set(other.effective_dimension.consistent)
        <= set(estimate.effective_dimension.consistent)
    )


def test_every_fit_holds_the_given_noise(noisy_search):
    problem, ys = noisy_search
    est = analyze(ys, "maximize", noise=problem.noise)
    assert est.noise == problem.noise and est.noise_known
    est.tuning_curve([100])  # computes the tuning curve's own fits
    assert len(_fits(est)) > 3
    assert all(float(d.o) == problem.noise for d in _fits(est))
    assert est.distribution.o == problem.noise
    assert est.to_dict()["noise_known"] is True and "(given)" in str(est)
    bp = est.best_possible
    assert bp.low <= bp.estimate <= bp.high
    gain = est.expected_gain(100)
    assert 0 <= gain.low <= gain.estimate <= gain.high
    free = analyze(ys, "maximize")
    assert not free.noise_known and free.to_dict()["noise_known"] is False
    assert "(given)" not in str(free)
    assert free.noise != problem.noise  # the fit's own estimate differs from the truth
    # the intervals span the fits with the noise fitted too, as without a noise; those are
    # an analysis without the noise (to the digit under numpy 2; see assert_same_estimate)
    assert _spans(est, est._free)
    assert_same_estimate(est._free, free)


def test_a_minimised_search_holds_the_noise_in_its_units(noisy_search):
    problem, ys = noisy_search
    est = analyze(-ys, "minimize", noise=problem.noise)
    assert all(float(d.o) == problem.noise for d in _fits(est))
    assert _spans(est, est._free)
    assert_same_estimate(est._free, analyze(-ys, "minimize"))
    mirrored = analyze(ys, "maximize", noise=problem.noise)
    assert est.best_possible.estimate == pytest.approx(-mirrored.best_possible.estimate)


def test_a_deterministic_objective_fits_noiseless_laws(noisy_search):
    _, ys = noisy_search
    est = analyze(ys, "maximize", noise=0)
    assert est.noise == 0.0 and est.noise_known
    assert all(float(d.o) == 0.0 for d in _fits(est))
    # a noiseless law cannot put its best possible score below the best observed one
    assert est.best_possible.estimate >= est.current_best
    assert _spans(est, est._free)
    assert_same_estimate(est._free, analyze(ys, "maximize"))


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "0.1", True, [0.1]])
def test_an_invalid_noise_is_refused(noisy_search, bad):
    _, ys = noisy_search
    with pytest.raises(InvalidParameterError, match="noise"):
        analyze(ys, "maximize", noise=bad)
    with pytest.raises(InvalidParameterError, match="noise"):
        Monitor("maximize", noise=bad)


def test_an_update_keeps_the_noise_and_ignores_an_estimate_made_without_it(noisy_search):
    problem, ys = noisy_search
    before = analyze(ys[:-3], "maximize", noise=problem.noise)
    after = analyze(ys, "maximize", noise=problem.noise, previous=before)
    assert all(float(d.o) == problem.noise for d in _fits(after))
    assert after.n_trials == ys.size
    # the update of each part is the update of the same part alone
    free_before = analyze(ys[:-3], "maximize")
    assert_same_estimate(after._free, analyze(ys, "maximize", previous=free_before))
    # an estimate without the noise serves the part with the noise fitted; the other part
    # is fitted cold
    mixed = analyze(ys, "maximize", noise=problem.noise, previous=free_before)
    assert_same_estimate(mixed._free, after._free)
    cold = analyze(ys, "maximize", noise=problem.noise)
    fixed_cold = cold._free is not None and cold.distribution
    assert mixed.distribution == fixed_cold
    # and an estimate with a noise serves one without through its part with the noise fitted
    assert_same_estimate(analyze(ys, "maximize", previous=before),
                         analyze(ys, "maximize", previous=free_before))


def test_all_tied_scores_report_the_given_noise():
    est = analyze([0.5] * 20, "maximize", noise=0.01)
    assert est.noise == 0.01 and est.noise_known and not est.fits_well


def test_a_monitor_passes_the_noise_to_every_refit(noisy_search):
    problem, ys = noisy_search
    monitor = Monitor("maximize", noise=problem.noise, min_trials=40, refit_step=40)
    for score in ys[:120]:
        monitor.observe(float(score))
    assert monitor.noise == problem.noise
    assert monitor.estimate.noise_known and monitor.estimate.noise == problem.noise
    assert len(monitor.history) >= 2


def test_the_callbacks_refuse_an_invalid_noise_at_construction():
    pytest.importorskip("optuna")
    from tailstop.callbacks import OptunaCallback

    with pytest.raises(InvalidParameterError, match="noise"):
        OptunaCallback(noise=-0.1)
    assert OptunaCallback(noise=0.01) is not None


def test_a_noise_given_mid_search_refits_at_once_and_holds_from_then_on(noisy_search):
    problem, ys = noisy_search
    monitor = Monitor("maximize", min_trials=20, refit_step=40)
    assert monitor.set_noise(problem.noise) is None  # no fit yet: only remembered
    assert monitor.noise == problem.noise
    assert monitor.set_noise(None) is None and monitor.noise is None
    for score in ys[:60]:
        monitor.observe(float(score))
    assert not monitor.estimate.noise_known
    refits = len(monitor.history)

    estimate = monitor.set_noise(problem.noise)
    assert len(monitor.history) == refits + 1  # refitted now, not at the next scheduled refit
    assert estimate is monitor.estimate and estimate.n_trials == 60
    assert estimate.noise_known and estimate.noise == problem.noise
    assert monitor.report()["noise_known"]
    assert monitor.set_noise(problem.noise) is estimate  # the same value: nothing to do
    assert len(monitor.history) == refits + 1
    for score in ys[60:120]:
        monitor.observe(float(score))
    assert monitor.estimate.n_trials > 60 and monitor.estimate.noise == problem.noise

    monitor.set_noise(None)  # withdrawn: fitted again
    assert not monitor.estimate.noise_known


def test_an_invalid_noise_mid_search_changes_nothing(noisy_search):
    _, ys = noisy_search
    monitor = Monitor("maximize", min_trials=20, noise=0.01)
    monitor.update(ys[:40].tolist())
    before, history = monitor.estimate, monitor.history
    assert before is not None
    for bad in (-0.1, math.nan, "0.1", True):
        with pytest.raises(InvalidParameterError, match="noise"):
            monitor.set_noise(bad)
        assert monitor.noise == 0.01 and monitor.estimate is before
        assert monitor.history == history


def test_the_optuna_callback_takes_a_noise_mid_search(noisy_search):
    optuna = pytest.importorskip("optuna")
    from tailstop.callbacks import OptunaCallback

    problem, ys = noisy_search
    scores = iter(ys.tolist())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler())
    callback = OptunaCallback(min_trials=20)
    with pytest.raises(InvalidParameterError, match="noise"):
        callback.set_noise(-1.0)
    study.optimize(lambda trial: next(scores), n_trials=50, callbacks=[callback])
    assert not callback.estimate.noise_known

    estimate = callback.set_noise(problem.noise)
    assert estimate.noise_known and estimate.noise == problem.noise
    study.optimize(lambda trial: next(scores), n_trials=1, callbacks=[callback])
    assert study.user_attrs["tailstop:report"]["noise_known"]
    # a callback that has not bound to a study yet keeps the value for its monitor
    fresh = OptunaCallback(min_trials=20)
    assert fresh.set_noise(problem.noise) is None
    fresh.update(study)
    assert fresh.monitor.noise == problem.noise and fresh.estimate.noise_known

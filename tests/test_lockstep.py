"""Local fits in lock step (tailstop._lockstep) against the same fits one by one."""

from __future__ import annotations

import numpy as np
import pytest

from tailstop import NoisyQuadraticDistribution
from tailstop._localsearch import fit_local, fit_near
from tailstop._lockstep import fit_each
from tailstop.errors import ConstraintError
from tailstop.regime import tail_constraints


@pytest.mark.parametrize("seed", [0, 1])
def test_fits_in_lock_step_are_the_fits_one_by_one(seed):
    truth = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005)
    ys = truth.sample(300, generator=np.random.default_rng(seed))
    limits = (float(np.quantile(ys, 0.7)), np.inf)
    fit = NoisyQuadraticDistribution.fit(ys, limits=limits, constraints={"convex": False})
    requests = []
    for name, value, local in [("b", fit.b + 0.002, False), ("b", fit.b - 0.001, False),
                               ("o", 1.5 * fit.o, True), ("o", 0.5 * fit.o, True),
                               ("b", fit.b + 1e6, False)]:
        constraints = {**tail_constraints(10), name: value}
        requests.append((constraints, fit, local, not local))
    requests[1] = (*requests[1][:3], False)  # a descent with no screening starts
    # the last: infeasible (a above b)
    requests[-1] = ({**tail_constraints(10), "a": (0.9, 0.95), "b": 0.5}, fit, False, True)
    together = fit_each(ys, limits, requests, ftol=1e-8)
    assert isinstance(together[-1], ConstraintError)
    for (constraints, warm, local, screen), got in zip(requests[:-1], together[:-1],
                                                        strict=True):
        if local:
            alone = fit_local(ys, limits, constraints, warm, ftol=1e-8)
        else:
            alone = fit_near(ys, limits, constraints, warm, ftol=1e-8, screen=screen)
        assert got.c == alone.c
        # the same steps; a point's last bits depend on the kernel call's other points
        assert got.loss == pytest.approx(alone.loss, rel=1e-7)
        assert got.b == pytest.approx(alone.b, abs=1e-6)


@pytest.mark.parametrize("seed", [3, 4])
def test_end_searches_side_by_side_find_the_ends_one_by_one(seed):
    """Profile.ends (every search's fits of a round in lock step) against Profile.end one
    search at a time: the same ends, to the last bits the kernel calls may change."""
    from scipy import stats

    from tailstop._intervals import new_profile

    truth = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005)
    ys = truth.sample(200, generator=np.random.default_rng(seed))
    threshold = float(np.quantile(ys, 0.5))
    fit = NoisyQuadraticDistribution.fit(ys, limits=(threshold, np.inf),
                                         constraints={"convex": False})
    critical = float(stats.chi2.ppf(0.9, 1))
    spread = max(fit.o, 1e-3 * (fit.b - threshold))
    searches = {
        ("b", 1.0): ("b", critical, 1.0, spread, np.inf, 0.02 * spread),
        ("b", -1.0): ("b", critical, -1.0, spread, -np.inf, 0.02 * spread),
        ("o", 1.0): ("o", critical, 1.0, 0.3 * fit.o, np.inf, 0.006 * fit.o),
        ("o", -1.0): ("o", critical, -1.0, 0.3 * fit.o, 0.0, 0.006 * fit.o),
    }
    together = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    found = together.ends(searches)
    alone = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    for key, args in searches.items():
        value = alone.end(*args)
        assert found[key][0] == pytest.approx(value, rel=1e-6, abs=1e-9)
        # deviances are wanted to 1e-3 (the profile fits' tolerance)
        assert found[key][1][1] == pytest.approx(alone.kept[-1][1], abs=1e-3)
    assert [end for _, end in found.values()] == together.kept


def test_global_searches_in_lock_step_are_the_searches_one_by_one():
    """The threshold candidates' quick global fits (search_each) against _search one by one,
    on tails of 10 to all 300 trials (full and coarse objectives, polish included)."""
    import dataclasses

    from tailstop._fitproblem import _setup
    from tailstop._globalsearch import _search
    from tailstop._lockstep import search_each
    from tailstop.regime import candidate_tail_sizes, tail_threshold

    ys = NoisyQuadraticDistribution(0.0, 1.0, 3, 0.02).sample(
        300, generator=np.random.default_rng(5)
    )
    problems = [
        dataclasses.replace(
            _setup(ys, (tail_threshold(ys, int(k)), np.inf), tail_constraints(10), True),
            quick=True,
        )
        for k in candidate_tail_sizes(ys.size)
    ]
    assert any(p.final for p in problems) and not all(p.final for p in problems)
    for got, problem in zip(search_each(problems), problems, strict=True):
        alone = _search(problem)
        assert got.c == alone.c
        assert got.loss == pytest.approx(alone.loss, rel=1e-9)
        assert (got.a, got.b, got.o) == pytest.approx((alone.a, alone.b, alone.o), rel=1e-6)


def test_end_searches_of_two_tails_side_by_side_find_each_tails_ends():
    """profile_ends over the profiles of two tails of one search (the chosen tail and its
    stability partner in analyze) against each profile's ends on its own."""
    from scipy import stats

    from tailstop._intervals import new_profile
    from tailstop._lockstep import profile_ends

    truth = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005)
    ys = truth.sample(300, generator=np.random.default_rng(8))
    critical = float(stats.chi2.ppf(0.9, 1))
    jobs, alone = [], []
    for share, noise_ends in ((0.5, True), (0.25, False)):
        threshold = float(np.quantile(ys, 1 - share))
        fit = NoisyQuadraticDistribution.fit(ys, limits=(threshold, np.inf),
                                             constraints={"convex": False})
        spread = max(fit.o, 1e-3 * (fit.b - threshold))
        searches = {
            ("b", 1.0): ("b", critical, 1.0, spread, np.inf, 0.02 * spread),
            ("b", -1.0): ("b", critical, -1.0, spread, -np.inf, 0.02 * spread),
        }
        if noise_ends:
            searches[("o", 1.0)] = ("o", critical, 1.0, 0.3 * fit.o, np.inf, 0.006 * fit.o)
        jobs.append((new_profile(ys, fit, threshold, 10, (-np.inf, np.inf)), searches))
        alone.append(new_profile(ys, fit, threshold, 10, (-np.inf, np.inf)).ends(searches))
    together = profile_ends(jobs)
    assert len(together) == 2
    for (profile, searches), got, expected in zip(jobs, together, alone, strict=True):
        assert list(got) == list(searches)
        for key in searches:
            assert got[key][0] == pytest.approx(expected[key][0], rel=1e-6, abs=1e-9)
            assert got[key][1][1] == pytest.approx(expected[key][1][1], abs=1e-3)
        assert [end for _, end in got.values()] == profile.kept
    # the two tails' ends differ (the test would not see a mix-up otherwise)
    assert together[0][("b", 1.0)][0] != together[1][("b", 1.0)][0]


def test_the_least_gain_search_beside_the_ends_finds_its_end_alone():
    """The least-gain search's penalised fits, made in the same batches as the interval ends'
    fits (with one more free parameter than those: padded), reach the end the search finds
    on its own, and the ends stay where they are found without it."""
    from scipy import stats

    from tailstop._intervals import new_profile, profile_tails

    truth = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005)
    ys = truth.sample(300, generator=np.random.default_rng(1))
    threshold = float(np.quantile(ys, 0.6))
    fit = NoisyQuadraticDistribution.fit(ys, limits=(threshold, np.inf),
                                         constraints={"convex": False})
    assert fit.o > 0
    critical = float(stats.chi2.ppf(0.9, 1))
    together = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    (ends, _, deviances), = profile_tails([(together, {}, {}, {}, True)], critical,
                                          (-np.inf, np.inf))
    assert not together.noise_floor and ("least gain",) in ends
    alone = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    weight = alone.least_gain_end(critical, float(ys.max()), float(ys.size))
    assert ends[("least gain",)] == pytest.approx(weight, rel=0.05)
    # the end: inside the region, at its boundary to the ends' tolerance (3% in root deviance)
    assert deviances[("least gain",)] == pytest.approx(alone.kept[-1][1], rel=0.07)
    assert deviances[("least gain",)] <= critical * 1.03**2
    alone_ends = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    for key in [("b", 1.0), ("b", -1.0), ("o", 1.0), ("o", -1.0)]:
        spread = max(fit.o, 1e-3 * (fit.b - threshold))
        step = spread if key[0] == "b" else max(0.3 * fit.o, 0.1 * spread)
        limit = {("b", 1.0): np.inf, ("b", -1.0): -np.inf, ("o", 1.0): np.inf,
                 ("o", -1.0): 0.0}[key]
        value = alone_ends.end(key[0], critical, key[1], step, limit, 0.02 * step)
        assert ends[key] == pytest.approx(value, rel=1e-4)


def test_a_padded_fit_evaluates_only_its_distinct_stencil_points():
    """A fit with fewer free parameters than its batch evaluates each stencil point that is
    distinct in its own coordinates once, and copies it to the points that differ only in
    the pinned ones."""
    from tailstop._lockstep import _stencil_map
    from tailstop._newton import BatchedNewton

    offsets = BatchedNewton(np.zeros((1, 3)), -np.ones(3), np.ones(3)).offsets  # 13 points
    distinct, copies = _stencil_map(offsets, 3)
    assert list(distinct) == list(range(len(offsets))) and list(copies) == list(distinct)
    distinct, copies = _stencil_map(offsets, 2)
    assert len(distinct) == 7  # the centre, +-e1, +-e2, +-(e1 + e2)
    assert np.array_equal(offsets[distinct][copies][:, :2], offsets[:, :2])

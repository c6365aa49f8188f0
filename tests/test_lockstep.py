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
        requests.append((constraints, fit, local))
    # the last: infeasible (a above b)
    requests[-1] = ({**tail_constraints(10), "a": (0.9, 0.95), "b": 0.5}, fit, False)
    together = fit_each(ys, limits, requests, ftol=1e-8)
    assert isinstance(together[-1], ConstraintError)
    for (constraints, warm, local), got in zip(requests[:-1], together[:-1], strict=True):
        alone = (fit_local if local else fit_near)(ys, limits, constraints, warm, ftol=1e-8)
        assert got.c == alone.c
        # the same steps; a point's last bits depend on the kernel call's other points
        assert got.loss == pytest.approx(alone.loss, rel=1e-7)
        assert got.b == pytest.approx(alone.b, abs=1e-6)


def test_a_prefetched_profile_fit_is_not_made_again(monkeypatch):
    from tailstop import _localsearch
    from tailstop._intervals import new_profile

    truth = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005)
    ys = truth.sample(200, generator=np.random.default_rng(3))
    threshold = float(np.quantile(ys, 0.5))
    fit = NoisyQuadraticDistribution.fit(ys, limits=(threshold, np.inf),
                                         constraints={"convex": False})
    profile = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    profile.prefetch([("b", fit.b + 0.001, None), ("o", 2 * fit.o, None)])

    def refuse(*args, **kwargs):
        raise AssertionError("fitted again")

    monkeypatch.setattr(_localsearch, "fit_near", refuse)
    monkeypatch.setattr(_localsearch, "fit_local", refuse)
    dist, deviance = profile.fit({"b": fit.b + 0.001})
    assert dist.b == fit.b + 0.001 and 0 < deviance < np.inf
    assert profile.fit({"o": 2 * fit.o})[0].o == 2 * fit.o
    with pytest.raises(AssertionError, match="fitted again"):
        profile.fit({"b": fit.b + 0.001})  # taken once

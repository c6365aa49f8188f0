"""The penalised fits behind the lower end of the expected gain (tailstop._leastgain)."""

from __future__ import annotations

import numpy as np
import pytest

from tailstop import NoisyQuadraticDistribution, _globalsearch, forecast
from tailstop._leastgain import PenalisedSearch, expected_gains
from tailstop.fitting import fit_parameters


@pytest.mark.parametrize(
    ("a", "b", "c", "o", "y", "k"),
    [
        (0.0, 1.0, 2, 0.05, 0.97, 100),
        (0.0, 1.0, 1, 0.01, 1.0, 50),
        (0.1, 0.9, 4, 0.002, 0.85, 300),
        (0.0, 1.0, 2, 0.0, 0.99, 100),
        (0.0, 1.0, 7, 0.3, 1.2, 1000),
        (0.0, 1.0, 2, 0.05, 1.2, 100),
    ],
)
def test_batched_gains_match_the_forecast(a, b, c, o, y, k):
    law = NoisyQuadraticDistribution(a, b, c, o)
    got = expected_gains([a, a], [b, b], c, [o, o], y, k)
    assert got.shape == (2,)
    assert got[0] == pytest.approx(forecast.expected_gain(law, y, k), rel=1e-6, abs=1e-15)


def test_a_heavier_penalty_trades_fit_for_less_gain():
    ys = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.05).sample(
        100, generator=np.random.default_rng(3)
    )
    top, limits, constraints = float(ys.max()), (-np.inf, np.inf), {"convex": False}
    fit = fit_parameters(ys, limits, constraints)
    losses, gains = [fit.loss], [float(expected_gains(fit.a, fit.b, fit.c, fit.o, top, 100)[0])]
    search = PenalisedSearch(ys, limits, constraints)
    for weight in (0.02, 0.05, 0.1):
        r = search.fit(fit, weight, top, 100)
        losses.append(r.loss)
        gains.append(float(expected_gains(r.a, r.b, r.c, r.o, top, 100)[0]))
    assert np.all(np.diff(losses) > 0) and np.all(np.diff(gains) < 0)


def test_neighbouring_c_far_behind_are_dropped_without_changing_the_fit(monkeypatch):
    # c = 2 fits these draws far better than c = 1 or 3 (deviances of tens of units): the
    # penalised search drops those once their Newton model cannot reach the best, and the
    # best c's descent, which pruning never touches, is the fit alone at that c (to rounding:
    # a step evaluates every c's stencils in one kernel call, and the quadrature's blocks,
    # hence the last bits of a point's value, depend on the other points of the call; near
    # the end those bits move the steps along the valley's flat direction).
    ys = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.01).sample(
        400, generator=np.random.default_rng(5)
    )
    top, limits, constraints = float(ys.max()), (-np.inf, np.inf), {"convex": False}
    fit = fit_parameters(ys, limits, constraints)
    assert fit.c == 2
    search = PenalisedSearch(ys, limits, constraints)
    steps = []
    run = _globalsearch._Batch.run

    def counting_run(self, *args, **kwargs):
        calls = [0]
        step = self.step

        def counted():
            calls[0] += 1
            step()

        self.step = counted
        run(self, *args, **kwargs)
        steps.append((len(self.newton.f), calls[0]))

    monkeypatch.setattr(_globalsearch._Batch, "run", counting_run)
    with_neighbours = search.fit(fit, 0.05, top, 100)
    alone = search.fit(fit, 0.05, top, 100, neighbours=False)
    assert with_neighbours.c == alone.c == 2
    # the same descent: the same point up to how far rounding moves the search's last steps
    # in the valley's flat direction (5e-7 of the support's width seen, with numpy 2.4.6)
    for name in ("a", "b", "o"):
        assert getattr(with_neighbours, name) == pytest.approx(getattr(alone, name), abs=5e-6)
    assert with_neighbours.loss == pytest.approx(alone.loss, rel=1e-7)
    (rows_3, steps_3), (rows_1, steps_1) = steps
    assert (rows_3, rows_1) == (3, 1)
    # the run ends about with the best c's descent, not the neighbours' (9-20 steps before)
    assert steps_3 <= steps_1 + 2

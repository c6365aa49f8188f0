"""The penalised fits behind the lower end of the expected gain (tailstop._leastgain)."""

from __future__ import annotations

import numpy as np
import pytest

from tailstop import NoisyQuadraticDistribution, forecast
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

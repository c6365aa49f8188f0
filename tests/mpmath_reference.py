"""High-precision reference for the standard noisy quadratic (mpmath), shared by the tests
and ``examples/benchmarks/bench_distributions.py``."""

from __future__ import annotations

import functools
import itertools

import mpmath as mp
import numpy as np


@functools.cache
def _rule(n: int = 20):
    x, w = np.polynomial.legendre.leggauss(n)
    return [(mp.mpf(float(a)), mp.mpf(float(b))) for a, b in zip(x, w, strict=True)]


@functools.cache
def reference(m: float, s: float, c: int) -> tuple[float, float, float]:
    """(G, 1 - G, g) of the standard convex noisy quadratic at m, to ~1e-14 relative.

    G(m) = Phi((m - 1) / s) + int_0^1 x^(c/2) phi_s(x - m) dx,
    1 - G(m) = Phi(-m / s) + int_0^1 (1 - x^(c/2)) phi_s(x - m) dx,
    g(m) = (c / 2) int_0^1 x^(c/2 - 1) phi_s(x - m) dx,
    integrated in u = sqrt(x) (which removes c = 1's x^(-1/2)) on panels breaking at the
    kernel's peak and at 2^j times its decay length around it: a plain mp.quad over [0, 1]
    is off by percents far in the tails.
    """
    with mp.workdps(25):
        m_, s_, k = mp.mpf(m), mp.mpf(s), mp.mpf(c) / 2
        peak = min(max(m_, 0), 1)
        distance = abs(m_ - peak)
        scale = s_ if distance <= s_ else s_ * s_ / distance
        xs = {mp.mpf(0), mp.mpf(1), peak}
        for j in range(-1, 7):
            for sign in (-1, 1):
                x = peak + sign * scale * mp.mpf(2) ** j
                if 0 < x < 1:
                    xs.add(x)
        us = sorted(mp.sqrt(x) for x in xs)
        i_cdf = i_sf = i_pdf = mp.mpf(0)
        for lo, hi in itertools.pairwise(us):
            half, middle = (hi - lo) / 2, (hi + lo) / 2
            for node, weight in _rule():
                u = middle + half * node
                z = (u * u - m_) / s_
                e = weight * half * mp.exp(-z * z / 2)
                power = u ** (c - 1)
                i_pdf += e * power
                i_cdf += e * power * u * u
                i_sf += e * u * (1 - power * u)
        factor = 2 / (s_ * mp.sqrt(2 * mp.pi))
        return (float(mp.ncdf((m_ - 1) / s_) + factor * i_cdf),
                float(mp.ncdf(-m_ / s_) + factor * i_sf),
                float(factor * k * i_pdf))

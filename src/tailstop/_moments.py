"""Numerical kernel of the noisy quadratic distribution (private).

Everything is computed for the *standard convex* form: X ~ Beta(k, 1) on [0, 1] with
k = c / 2 (so P(X <= x) = x^k), W = X + s Z with Z ~ N(0, 1).  With m = (y - a) / (b - a)
and s = o / (b - a) the convex distribution has F(y) = G(m) and the concave one
F(y) = 1 - G((b - y) / (b - a)).

Integrating by parts (Lourie, He & Cho 2025; opda's ``parametric.py``)::

    G(m) = Phi((m - 1) / s) + M_k(m, s)
    1 - G(m) = Phi(-m / s) + int_0^1 (1 - x^k) phi_s(x - m) dx
    g(m) = k M_{k-1}(m, s)

with the partial normal moment M_j(m, s) = int_0^1 x^j phi_s(x - m) dx.  All terms are
non-negative, so neither G nor 1 - G suffers cancellation.  Write t0 = m / s and
t1 = (1 - m) / s for the distances, in noise widths, from the ends of [0, 1].  Each point
takes one of these routes (all exact to ~1e-12 relative, tails included: 2 to 30 noise
widths beyond the support, c = 1, 4, 10 and s = 1e-8 to 0.03, within 1.1e-13 of the tests'
panel reference (tests/mpmath_reference.py), and at four of those points within 1e-13 of
60-digit quadrature subdivided at the kernel's scale; a plain ``mp.quad`` as reference is
off by up to 4e-8 there).  One exception: m
itself carries the rounding of (b - y) / (b - a), so 1 - G next to m = 1 (the concave
law's cdf near a) is relatively exact only to ~1e-16 / max(1 - m, s); the noiseless law
(s = 0) computes it from y - a instead (``distributions``).  The routes:

* **noiseless** (s = 0): the closed forms x^k, 1 - x^k, k x^(k - 1).
* **interior** (t0, t1 >= ``T_INTERIOR`` = 10): the window of the normal kernel lies inside
  (0, 1); expanding x^j = (m + s z)^j about the peak gives the moment series
  M_j = m^j sum_i binom(j, 2i) (2i - 1)!! (s / m)^(2i), finite for integer j and
  asymptotic otherwise (its smallest term is about exp(-t0^2 / 2): truncated at 1e-17).
* **near 0** (t0 < 10, the upper end far: t1 >= 6 and s <= 1/6): scale invariance,
  M_j = s^j E_j(t0) - int_1^inf x^j phi_s(x - m) dx with the universal function
  E_j(t) = int_0^inf u^j phi(u - t) du = E[(t + Z)_+^j].  E_j is tabulated once (first use,
  ~50 ms) as piecewise Chebyshev interpolants of log E_j on [-37, 10]; the correction is at
  most ~1e-9 of the total, integrated (Gauss-Laguerre) only where it exceeds 1e-17 of it.
* **near 1** (t1 in [-6, 10), the lower end far: t0 >= 20.4): the expansion of
  x^j = m^j (1 + rho z)^j, rho = s / m, against the truncated normal moments
  P_i(t1) = int_-inf^t1 z^i phi(z) dz, whose terms shrink like (rho max(|t1|, sqrt(i)))^i.
  For even c the same expansion over [-t0, t1] is finite and exact, and serves every point
  with t0 >= -1, t1 >= -6 and s <= 1/6 (the Winkler, Roodman & Britney recursion, run on
  differences from the smaller tails so that it does not cancel).
* **wide** (s > 1/40, t0 and t1 >= -8, the points no route above serves): the kernel is
  smooth on the scale of [0, 1]; one fixed Gauss-Legendre rule in u = sqrt(x), from 32 points
  for s > 1/6 to 112 for s > 1/40 (``_wide``; for odd c near 1 a fifth to a tenth of the
  windowed rule's cost).
* **elsewhere** (far tails; s at most 1/40 where no series serves): windowed Gauss-Legendre
  quadrature over the part of [0, 1] where phi_s(x - m) is within exp(-``TAIL``) of its
  maximum, on panels graded away from that maximum, and half-range Gauss-Hermite for a side
  the window does not cut short.  When the window comes near 0 the variable is u = sqrt(x),
  which turns x^j dx into the polynomial 2 u^(2j + 1) du (no x^(-1/2) singularity for
  c = 1, no kink of x^k at 0); otherwise it is the offset z = (x - m) / s from the peak
  (x = m + s z), so that the normal's argument carries no cancellation even for s = 1e-8.

The quadrature is in :mod:`tailstop._quadrature`, the powers of x in :mod:`tailstop._powers`;
:class:`tailstop._standard.Standard` builds on these routes to serve one distribution:
large arrays and the quantile function.

Exponents are passed around doubled (``p = 2 j``, an integer from -1 to 10).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import ndtr

from tailstop._powers import (
    _horner,
    _in_place,
    _int_power,
    _one_minus_power_half,
    _power_half,
)
from tailstop._quadrature import (
    _INV_SQRT_2PI,
    _LEVELS,
    _WIDE_S,
    _WIDE_T,
    TAIL,
    _integrate,
    _wide,
)

__all__ = ["std_cdf", "std_pdf", "std_sf"]

T_INTERIOR = 10.0  # interior: both ends at least this many noise widths away
_ONE_END_T1 = 6.0  # near-0 route needs the upper end this many noise widths away ...
_ONE_END_S = 1.0 / 6.0  # ... and s at most this (so E_j's mass below x = 1 dominates)
_CORRECTION_T1 = 10.0  # above this t1 the upper-end correction is below 1e-17 relative
_NEAR_ONE_T0 = 2.0 * np.sqrt(2.0 * TAIL)  # near-1 series: the window is far from 0 ...
_NEAR_ONE_T1 = -6.0  # ... not deep in the upper tail (the sf there cancels like t1^2) ...
_NEAR_ONE_TERMS = 64  # (rho = s / m <= 1 / _NEAR_ONE_T0: terms shrink like 0.5^i at worst)
_FINITE_S = 1.0 / 6.0  # even c: the finite expansion for s at most this and t0 >= -1
_PIECEWISE_CHUNK = 8192  # points per block of piecewise-polynomial evaluation



# ----------------------------------------------------------------------------------------
# interior points: the moment series


def _series_coefficients(p: int) -> np.ndarray:
    """binom(j, 2i) (2i - 1)!! for j = p / 2, i = 0, 1, ... (to 1e-17 at t0 = T_INTERIOR)."""
    j = p / 2.0
    coefficients = [1.0]
    while True:
        i = len(coefficients) - 1
        following = coefficients[-1] * (j - 2 * i) * (j - 2 * i - 1) / (2 * i + 2)
        if following == 0.0:
            return np.array(coefficients)
        coefficients.append(following)
        if abs(following) * T_INTERIOR ** (-2 * (i + 1)) < 1e-17:
            return np.array(coefficients)


_SERIES = {p: _series_coefficients(p) for p in range(-1, 11)}


def _series(m, s, p: int, complement: bool, far_from_one: bool = False):
    """M_{p/2} (or the complement integral of 1 - x^(p/2)) for interior points.

    m^j by integer powers and a square root, and 1 - m^j by ``_one_minus_power_half`` (no
    cancellation near m = 1): a few multiplications, where exp(j log m) costs two
    transcendental calls per point and errs by up to j |log m| ulps. ``far_from_one``: every
    point that matters has m <= 0.9, where 1 - m^j by a subtraction loses at most a few bits
    (1 - 0.9^j >= 0.05), so it is taken so."""
    coefficients = _SERIES[p]
    r = s / m
    r = _in_place(np.multiply, r, r)
    power = _power_half(m, p)
    if not complement:
        return _in_place(np.multiply, _horner(coefficients, r), power)
    value = 1.0 - power if far_from_one else _one_minus_power_half(m, 1.0 - m, p, power)
    if coefficients.size > 1:
        correction = _horner(coefficients[1:], r)
        correction = _in_place(np.multiply, _in_place(np.multiply, correction, r), power)
        value = _in_place(np.subtract, value, correction)
    return value



# ----------------------------------------------------------------------------------------
# the universal functions E_j(t) = int_0^inf u^j phi(u - t) du, tabulated on first use

_TABLE_START, _TABLE_STOP, _TABLE_WIDTH, _TABLE_DEGREE = -37.0, T_INTERIOR, 0.5, 10
_TABLES: dict[int, np.ndarray] = {}


def _chebyshev_nodes(n: int) -> np.ndarray:
    """Chebyshev points of the first kind on [-1, 1]."""
    return np.cos(np.pi * (np.arange(n) + 0.5) / n)


def _monomial_pieces(values: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
    """Interpolating polynomials through (pieces, n) values at local points v in [-1, 1].

    v defaults to ``_chebyshev_nodes(n)`` for every piece; a (pieces, n) array gives each
    piece its own points.  Returns the monomial coefficients in v, lowest first, as an
    (n, pieces) array (one contiguous row per power, for fast gathers).
    """
    n = values.shape[1]
    if v is None:
        chebyshev = np.linalg.solve(
            np.polynomial.chebyshev.chebvander(_chebyshev_nodes(n), n - 1), values.T
        )
    else:
        vandermonde = np.polynomial.chebyshev.chebvander(v, n - 1)  # (pieces, n, n)
        chebyshev = np.linalg.solve(vandermonde, values[:, :, None])[:, :, 0].T
    return np.ascontiguousarray(_chebyshev_to_monomial(n) @ chebyshev)


@functools.cache
def _chebyshev_to_monomial(n: int) -> np.ndarray:
    """Column j: the monomial coefficients of the Chebyshev polynomial T_j, j < n."""
    to_monomial = np.zeros((n, n))
    for degree in range(n):
        to_monomial[: degree + 1, degree] = np.polynomial.chebyshev.cheb2poly(np.eye(n)[degree])
    return to_monomial


def _piecewise(table: np.ndarray, position):
    """Evaluate a ``_monomial_pieces`` table at ``position`` = piece index + fraction."""
    if position.size > _PIECEWISE_CHUNK:  # blocks that stay in cache
        out = np.empty_like(position)
        for start in range(0, position.size, _PIECEWISE_CHUNK):
            block = slice(start, start + _PIECEWISE_CHUNK)
            out[block] = _piecewise(table, position[block])
        return out
    index = np.clip(np.floor(position), 0, table.shape[1] - 1)
    v = 2.0 * (position - index) - 1.0
    index = index.astype(np.intp)
    total = table[-1].take(index)
    for row in table[-2::-1]:
        total *= v
        total += row.take(index)
    return total


def _build_tables() -> dict[int, np.ndarray]:
    """log E_{p/2}, p = -1, ..., 10, on [_TABLE_START, _TABLE_STOP] (``_monomial_pieces``).

    One quadrature (20 nodes per panel, ~1e-15) shares its nodes among the exponents.
    """
    pieces = round((_TABLE_STOP - _TABLE_START) / _TABLE_WIDTH)
    n = _TABLE_DEGREE + 1
    starts = _TABLE_START + _TABLE_WIDTH * np.arange(pieces)
    t = (starts[:, None] + 0.5 * _TABLE_WIDTH * (_chebyshev_nodes(n) + 1.0)).ravel()
    exponents = tuple(range(-1, 11))
    values = _integrate(
        t,
        np.ones_like(t),
        exponents,
        top=np.inf,
        rules=(np.polynomial.legendre.leggauss(20),) * _LEVELS.size,
    )
    return {
        p: _monomial_pieces(np.log(row).reshape(pieces, n))
        for p, row in zip(exponents, values, strict=True)
    }


def _universal(t, p: int):
    """E_{p/2}(t) for t <= _TABLE_STOP (0 below the table, where it underflows)."""
    if not _TABLES:
        _TABLES.update(_build_tables())
    table = _TABLES[p]
    values = np.exp(_piecewise(table, (t - _TABLE_START) * (1.0 / _TABLE_WIDTH)))
    return np.where(t >= _TABLE_START, values, 0.0)


def _near_zero(m, s, p: int):
    """M_{p/2} near 0 with the upper end far: s^(p/2) E_{p/2}(m/s) - int_1^inf."""
    value = _power_half(s, p) * _universal(m / s, p)
    correct = (1.0 - m) < _CORRECTION_T1 * s
    if correct.any():
        value[correct] -= _beyond_one(m[correct], s[correct], p)
    return value


@functools.cache
def _laguerre(n: int = 12):
    return np.polynomial.laguerre.laggauss(n)


def _beyond_one(m, s, p: int):
    """``int_1^inf x^(p/2) phi_s(x - m) dx`` for t1 = (1 - m) / s in [6, 10] (the near-0
    route's correction, at most ~1e-9 of its total).

    With x = 1 + s w / t1: ``phi(t1) / t1 int_0^inf e^-w (1 + s w / t1)^(p/2)
    e^(-w^2 / (2 t1^2)) dw``, a smooth integrand against the Laguerre weight: 12-point
    Gauss-Laguerre, 1e-14 relative against the windowed rule over t1 in [6, 10] and s up to
    1/6.
    """
    nodes, weights = _laguerre()
    t1 = (1.0 - m) / s
    rho = (s / t1)[:, None] * nodes
    h = np.exp(-0.5 * (nodes / t1[:, None]) ** 2)
    if p:
        h *= (1.0 + rho) ** (0.5 * p)
    return np.exp(-0.5 * t1 * t1) * _INV_SQRT_2PI / t1 * (h @ weights)


# ----------------------------------------------------------------------------------------
# near 1, far from 0: the moment series truncated at the upper end


def _near_one(m, s, p: int, complement: bool):
    """M_{p/2} (or the complement integral) for t0 >= _NEAR_ONE_T0 and small s / m.

    With rho = s / m and P_i(t) = int_-inf^t z^i phi(z) dz (P_0 = Phi, P_1 = -phi,
    P_i = (i - 1) P_{i-2} - t^(i-1) phi(t): no cancellation, all terms share the sign
    (-1)^i for t < 0), the expansion of x^j = m^j (1 + rho z)^j gives
    M_j = m^j sum_i binom(j, i) rho^i P_i(t1), its terms shrinking like
    (rho max(|t1|, sqrt(i)))^i.  The lower end, t0 noise widths away, is negligible.
    """
    j = p / 2.0
    t1 = (1.0 - m) / s
    rho = s / m
    density = np.exp(-0.5 * t1 * t1) * _INV_SQRT_2PI
    p_zero = ndtr(t1)
    p_prev2 = p_zero  # P_0
    p_prev = -density  # P_1
    power_t = density  # t1^(i-1) phi(t1) for the next i
    coefficient = j  # binom(j, 1) rho^1, rho folded in below
    rho_i = rho.copy()
    total = coefficient * rho_i * p_prev
    for i in range(2, _NEAR_ONE_TERMS):
        power_t = power_t * t1
        p_i = (i - 1) * p_prev2 - power_t
        coefficient *= (j - i + 1) / i
        if coefficient == 0.0:
            break
        rho_i *= rho
        term = (coefficient * rho_i) * p_i
        total += term
        p_prev2, p_prev = p_prev, p_i
        if i % 4 == 0 and np.all(np.abs(term) <= 1e-17 * (np.abs(total) + p_zero)):
            break
    head = _power_half(m, p)
    if complement:
        return _one_minus_power_half(m, 1.0 - m, p) * p_zero - head * total
    return head * (p_zero + total)


def _finite(m, s, p: int, complement: bool, tails: bool = False):
    """M_{p/2} for even p (or the complement integral): the finite expansion of
    (m + s z)^j over z in [l, u] = [-t0, t1], with I_i = int_l^u z^i phi(z) dz from
    I_0 = Phi(u) - Phi(l) (from the smaller tails), I_1 = phi(l) - phi(u) and
    I_i = (i - 1) I_{i-2} - (u^(i-1) phi(u) - l^(i-1) phi(l)).  Exact; used for t0 >= -1 and
    s <= 1/6, where neither the differences nor the sum cancel much.  ``tails``: also
    return the smaller tails ``(Phi(-|u|), Phi(-|l|))``, which the CDF and SF reuse."""
    j = p // 2
    upper, lower = (1.0 - m) / s, -m / s
    tail_u, tail_l = ndtr(-np.abs(upper)), ndtr(-np.abs(lower))
    integral_0 = np.where(
        upper <= 0.0,
        tail_u - tail_l,
        np.where(lower >= 0.0, tail_l - tail_u, 1.0 - tail_u - tail_l),
    )
    density_u = np.exp(-0.5 * upper * upper) * _INV_SQRT_2PI
    density_l = np.exp(-0.5 * lower * lower) * _INV_SQRT_2PI
    integrals = [integral_0, density_l - density_u]
    for i in range(2, j + 1):
        density_u = density_u * upper
        density_l = density_l * lower
        integrals.append((i - 1) * integrals[i - 2] - (density_u - density_l))
    coefficient, power_s = 1.0, np.ones_like(m)
    total = np.zeros_like(m)
    for i in range(1, j + 1):
        coefficient *= (j - i + 1) / i
        power_s = power_s * s
        total += coefficient * _int_power(m, j - i) * power_s * integrals[i]
    if complement:
        value = _one_minus_power_half(m, 1.0 - m, p) * integral_0 - total
    else:
        value = _int_power(m, j) * integral_0 + total
    return (value, tail_u, tail_l) if tails else value


def _normal_cdf_from_tail(x, tail):
    """Phi(x) given ``tail`` = Phi(-|x|): the same value for x <= 0, a fresh ndtr above."""
    out = tail.copy()
    above = x > 0.0
    if above.any():
        out[above] = ndtr(x[above])
    return out


# ----------------------------------------------------------------------------------------
# dispatcher


def _evaluate(m, c, s, which: str):
    """G, 1 - G or g at (m, s) for ``c`` an integer or an integer array (broadcast with m
    and s): the routes are found once for every point, then each c's points are evaluated
    together (a fit's batched step evaluates the starts of several c in one call)."""
    m, s = np.asarray(m, dtype=float), np.asarray(s, dtype=float)
    cs = None
    if np.ndim(c):
        c = np.asarray(c)
        cs = _distinct_dimensions(c)
        if cs.size == 1:
            c, cs = int(cs[0]), None
        else:
            m, s = _filled(m, c), _filled(s, c)
    if m.shape != s.shape:  # (np.broadcast_arrays costs ~20 us: fits call this per step)
        m, s = _filled(m, s), _filled(s, m)
    shape = m.shape
    m = m.ravel()
    s = s.ravel()
    if cs is not None:
        c = _filled(c, m.reshape(shape)).ravel()
    out = np.empty(m.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        noisy = (s > 0.0) & np.isfinite(s) & np.isfinite(m)
        t0, t1 = m / s, (1.0 - m) / s  # the distances to the ends in noise widths
        interior = noisy & (t0 >= T_INTERIOR) & (t1 >= T_INTERIOR)
        outside = noisy & ~interior
        near_zero = outside & (t0 < T_INTERIOR) & (t1 >= _ONE_END_T1) & (s <= _ONE_END_S)
        # near 1, even c: the exact finite expansion; odd c: the near-1 series
        parities = {int(value) % 2 for value in ((c,) if cs is None else cs)}
        near_one = {}
        if 0 in parities:
            near_one[0] = (
                outside & ~near_zero & (t0 >= -1.0) & (t1 >= _NEAR_ONE_T1) & (s <= _FINITE_S)
            )
        if 1 in parities:
            near_one[1] = outside & (t0 >= _NEAR_ONE_T0) & (t1 >= _NEAR_ONE_T1)
        wide_kernel = (s > _WIDE_S) & (t0 >= -_WIDE_T) & (t1 >= -_WIDE_T)
        for value_of_c in (c,) if cs is None else cs:
            this = None if cs is None else c == value_of_c
            _fill_noisy(
                out, m, s, int(value_of_c), which, this,
                interior, near_zero, near_one[int(value_of_c) % 2], outside, wide_kernel,
            )
        if noisy.all():  # no noiseless, infinite or invalid point: nothing more to do
            return out.reshape(shape)
        noiseless = (s == 0.0) & ~np.isnan(m)
        if noiseless.any():
            for value_of_c in (c,) if cs is None else cs:
                where = noiseless if cs is None else noiseless & (c == value_of_c)
                if where.any():
                    out[where] = _noiseless(m[where], int(value_of_c), which)
        infinite = np.isinf(m) & (s > 0.0)
        if infinite.any():
            up = m[infinite] > 0.0
            out[infinite] = {"cdf": up * 1.0, "sf": 1.0 - up, "pdf": 0.0}[which]
        out[np.isnan(m) | np.isnan(s) | (s < 0.0) | np.isposinf(s)] = np.nan
    return out.reshape(shape)


def _distinct_dimensions(c: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array ``c`` (``np.unique``, by counting when
    they are small non-negative integers, as a fit's dimensions are: ~5x cheaper per step)."""
    flat = c.ravel()
    if flat.size and flat.dtype.kind in "iu" and flat.min() >= 0 and flat.max() <= 64:
        return np.flatnonzero(np.bincount(flat))
    return np.unique(c)


def _fill_noisy(
    out, m, s, c: int, which: str, this, interior, near_zero, near_one, outside, wide_kernel
):
    """The noisy points of one c (those where ``this``, or all), route by route, into out."""
    p = c - 2 if which == "pdf" else c
    factor = 0.5 * c if which == "pdf" else 1.0
    if this is not None:
        interior, near_zero, near_one = interior & this, near_zero & this, near_one & this
        outside = outside & this
    rest = outside & ~near_zero & ~near_one
    wide = rest & wide_kernel
    rest &= ~wide
    if near_one.any():
        mm, ss = m[near_one], s[near_one]
        if p % 2 == 0:
            # Phi((m - 1) / s) and Phi(-m / s) are Phi(-u) and Phi(l) of the expansion's
            # tails, computed once (ndtr is most of the route's cost)
            moment, tail_u, tail_l = _finite(mm, ss, p, which == "sf", tails=True)
            value = factor * moment
            if which == "cdf":
                value += _normal_cdf_from_tail((mm - 1.0) / ss, tail_u)
            elif which == "sf":
                value += _normal_cdf_from_tail(-mm / ss, tail_l)
        else:
            value = factor * _near_one(mm, ss, p, which == "sf")
            if which == "cdf":
                value += ndtr((mm - 1.0) / ss)
        out[near_one] = value
    if interior.any():
        mm, ss = m[interior], s[interior]
        out[interior] = factor * _series(mm, ss, p, which == "sf")
    if near_zero.any():
        mm, ss = m[near_zero], s[near_zero]
        moment = _near_zero(mm, ss, p)
        if which == "pdf":
            out[near_zero] = factor * moment
        else:
            cdf = ndtr((mm - 1.0) / ss) + moment
            out[near_zero] = cdf if which == "cdf" else 1.0 - cdf
    # quadrature: one fixed rule for a wide kernel, the windowed rule for the rest
    for route, integral in ((wide, _wide), (rest, _integrate)):
        if route.any():
            mm, ss = m[route], s[route]
            value = factor * integral(mm, ss, p, complement=which == "sf")
            if which == "cdf":
                value += ndtr((mm - 1.0) / ss)
            elif which == "sf":
                value += ndtr(-mm / ss)
            out[route] = value


def _filled(x: np.ndarray, other: np.ndarray) -> np.ndarray:
    """x broadcast against other, as a fresh contiguous array (or x itself if no larger)."""
    shape = np.broadcast(x, other).shape
    if x.shape == shape:
        return x
    out = np.empty(shape)
    out[...] = x
    return out


def _noiseless(m, c: int, which: str):
    x = np.clip(m, 0.0, 1.0)
    if which == "cdf":
        return _power_half(x, c)
    if which == "sf":
        return _one_minus_power_half(x, 1.0 - x, c)
    with np.errstate(divide="ignore"):
        density = 0.5 * c * _power_half(x, c - 2)
    return np.where((m < 0.0) | (m > 1.0), 0.0, density)


def std_cdf(m, c, s):
    """G(m) = P(X + s Z <= m) of the standard convex noisy quadratic (s >= 0; ``c`` an
    integer or an integer array broadcast with m and s)."""
    return _evaluate(m, c, s, "cdf")


def std_sf(m, c, s):
    """1 - G(m), computed without cancellation (s >= 0)."""
    return _evaluate(m, c, s, "sf")


def std_pdf(m, c, s):
    """g(m) = dG/dm (s >= 0; for s = 0 the density of Beta(c/2, 1), 0 outside [0, 1])."""
    return _evaluate(m, c, s, "pdf")

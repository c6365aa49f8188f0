"""One standard noisy quadratic at a time (private): fast large arrays and the quantile.

:class:`Standard` serves one distribution (fixed ``c`` and ``s``) on top of the exact kernel
in :mod:`tailstop._moments`: large arrays take the interior formula for every point and
piecewise Chebyshev tables of G, 1 - G and g near the ends (each built from the kernel on its
first use), and its quantile function is a safeguarded Newton iteration from starting
points good to ~1e-9.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from tailstop._moments import (
    _PIECEWISE_CHUNK,
    _SERIES,
    T_INTERIOR,
    _chebyshev_nodes,
    _evaluate,
    _horner,
    _monomial_pieces,
    _series,
)

_FAST_SIZE = 8192  # arrays at least this large use the interior formula and edge tables
_SERIES_BLOCK = 65536  # points per block of the interior series for odd c
_QUANTILE_ITERATIONS = 60
_QUANTILE_FLOOR = 1e-300  # below: the Gaussian tail's continuation (Standard.quantile)
_EDGE_REACH = 8.0  # edge tables cover t in [-_EDGE_REACH, T_INTERIOR] from each end
# each edge table's polynomial degree and piece width (noise widths): G and 1 - G to ~2e-11
# relative, g to ~4e-10 (the distributions promise 1e-9 absolute and 1e-7 relative); a point
# costs a gather and a Horner step per coefficient
_EDGE_SHAPES = {"cdf": (4, 1.0 / 128.0), "sf": (4, 1.0 / 128.0), "pdf": (3, 1.0 / 256.0)}
_BUILD_WIDTH, _BUILD_DEGREE = 1.0 / 8.0, 11  # the build's interpolants: piece width, degree
_FOLD_LIMIT = 1e4  # the largest |origin| / width whose frame folds into the position (_edge)


Frame = tuple[float, float, float]
"""A distribution's frame ``(origin, width, sign)``: its points ``y`` are ``m = sign (y - origin)
/ width`` of the standard law (``(y - a) / (b - a)`` when convex, ``(b - y) / (b - a)`` when
concave)."""


def to_standard(y: np.ndarray, frame: Frame | None) -> np.ndarray:
    """The standard variable m of the points ``y`` of ``frame`` (``y`` itself if None)."""
    if frame is None:
        return y
    origin, width, sign = frame
    return (y - origin) / width if sign > 0 else (origin - y) / width


@functools.cache
def _v_to_u(n: int) -> np.ndarray:
    """``T`` with ``T @ a`` the monomial coefficients in ``u`` of ``sum_i a_i v^i``, ``v = 2u - 1``
    (``i < n``): ``v^i = sum_k binom(i, k) 2^k u^k (-1)^(i - k)``."""
    to_u = np.zeros((n, n))
    for i in range(n):
        for k in range(i + 1):
            to_u[k, i] = math.comb(i, k) * 2.0**k * (-1.0) ** (i - k)
    return to_u


def _pieces_at(table: np.ndarray, position: np.ndarray, base: np.ndarray | None = None):
    """Evaluate piecewise polynomials, ``table`` their monomial coefficients in ``u`` in [0, 1)
    (lowest first, one row per power), at ``position`` = piece index + ``u``, every position in
    [0, pieces): the index is the position truncated, with no clip and no change of variable
    (two fewer passes over the points than ``tailstop._moments._piecewise``). ``base``: a
    constant per piece, added last (see ``Standard._build``)."""
    out = np.empty_like(position)
    for start in range(0, position.size, _PIECEWISE_CHUNK):  # blocks that stay in cache
        block = position[start : start + _PIECEWISE_CHUNK]
        index = block.astype(np.intp)
        u = block - index
        total = table[-1].take(index)
        for row in table[-2::-1]:
            total *= u
            total += row.take(index)
        if base is not None:
            total += base.take(index)
        out[start : start + _PIECEWISE_CHUNK] = total
    return out


@functools.cache
def _interior_root(c: int) -> np.ndarray:
    """Monomial coefficients (lowest first) of w(u), the root of w^k P(u / w^2) = 1 with
    k = c / 2 and P the interior series (``_SERIES[c]``), for u in [0, U], U = (1 / 7)^2.

    In the interior G(m) = m^k P((s / m)^2), so the m with G(m) = g^k is g w((s / g)^2).
    w is smooth and near 1 there: a degree-6 interpolant at Chebyshev points (and u = 0)
    of the fixed point w <- P(u / w^2)^(-1/k) errs by at most 2e-14 relative (c = 1..10),
    which spares the quantile's starting points three fixed-point steps of a power each.
    """
    k, degree = 0.5 * c, 6
    top = (1.0 / (0.7 * T_INTERIOR)) ** 2
    u = top * 0.5 * (1.0 - np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1)))
    u = np.concatenate([[0.0], u])
    w = np.ones_like(u)
    for _ in range(60):  # contracts by O(u) per step
        w = _horner(_SERIES[c], u / (w * w)) ** (-1.0 / k)
    return np.polynomial.polynomial.polyfit(u, w, degree)


class Standard:
    """G, 1 - G, g and their inverses for one standard convex noisy quadratic (c, s > 0).

    Small arrays go through the exact kernel (``std_cdf`` and friends).  Large ones take
    the interior formula for every point (cheap: a polynomial for even c) and, for points
    within ``T_INTERIOR`` noise widths of an end, piecewise Chebyshev interpolants of
    G, 1 - G and g built on first use from the kernel (``_build``): for G and 1 - G degree 4
    on pieces of 1/128 noise width, relative error at most 3e-11 against the exact kernel
    (c = 1..10, s from 1e-11 to 3; absolute where G or 1 - G is above 1/2), for g degree 3
    on pieces of 1/256, at most 5e-10 relative, so the two paths agree to
    far below the accuracy the distributions promise (1e-9 absolute in the CDF, 1e-7
    relative in the PDF).
    """

    def __init__(self, c: int, s: float):
        self.c = int(c)
        self.s = float(s)
        # edge tables (coefficients, bases), built on first use
        self._tables: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self._inverse = None
        # with 1 / s < 2 T no point is interior: one table spans both ends and what lies
        # between; else one covers each end, from _EDGE_REACH beyond it to T_INTERIOR inside
        self._merged = 1.0 / self.s < 2.0 * T_INTERIOR
        # tables in t = (1 - m) / s need m resolved to << s: below 1e-12, exact kernel only
        self._tabulable = 1e-12 <= self.s <= 1e12
        even = {p: self._polynomial(p) for p in (self.c, self.c - 2) if p % 2 == 0}
        self._even = even

    def _pieces(self, width: float) -> int:
        """Pieces of ``width`` noise widths in the merged table, or in each end's table."""
        if self._merged:
            return int(np.ceil((1.0 / self.s + 2.0 * _EDGE_REACH) / width))
        return round((_EDGE_REACH + T_INTERIOR) / width)

    def _polynomial(self, p: int):
        """E[(m + s Z)^j], j = p/2 integer: coefficients, lowest first, of a polynomial in
        m^2 (times m for odd j): sum_i binom(j, 2i) (2i - 1)!! s^(2i) m^(j - 2i)."""
        coefficients = _SERIES[p] * self.s ** (2 * np.arange(_SERIES[p].size))
        return coefficients[::-1]

    # -- evaluation ------------------------------------------------------------------------

    def cdf(self, m, *, fast: bool | None = None, frame: Frame | None = None):
        return self._evaluate(m, "cdf", fast, frame)

    def sf(self, m, *, fast: bool | None = None, frame: Frame | None = None):
        return self._evaluate(m, "sf", fast, frame)

    def pdf(self, m, *, fast: bool | None = None, frame: Frame | None = None):
        return self._evaluate(m, "pdf", fast, frame)

    def _evaluate(self, m, which: str, fast: bool | None, frame: Frame | None = None):
        """``which`` at ``m``, or with ``frame`` at the points ``y = m`` of a distribution
        (:func:`to_standard`)."""
        m = np.asarray(m, dtype=float)
        if not (m.size >= _FAST_SIZE if fast is None else fast) or not self._tabulable:
            return _evaluate(to_standard(m, frame), self.c, self.s, which)
        flat = m.ravel()
        if 1.0 / self.s < 2.0 * T_INTERIOR:  # no interior: every point is near an end
            return self._edge(flat, which, frame).reshape(m.shape)
        flat = to_standard(flat, frame)
        with np.errstate(all="ignore"):
            out = self._interior(flat, which)
            # not interior: |m - 1/2| > 1/2 - T s (NaN stays: the series propagates it)
            edge = np.flatnonzero(np.abs(flat - 0.5) > 0.5 - T_INTERIOR * self.s)
        if edge.size:
            out[edge] = self._edge(flat[edge], which)
        return out.reshape(m.shape)

    def _interior(self, m, which: str):
        """The interior moment series, applied to every point (garbage outside the interior)."""
        p = self.c - 2 if which == "pdf" else self.c
        if p % 2:
            # blocks: the series holds seven temporaries, which on a whole large array
            # outgrow the heap's trim threshold and come back as fresh pages (a page fault
            # per 4 KB) at every call
            value = np.empty_like(m)
            for start in range(0, m.size, _SERIES_BLOCK):
                block = slice(start, start + _SERIES_BLOCK)
                # (the interior ends T s below 1: at most 0.9 once s >= 0.01)
                value[block] = _series(m[block], self.s, p, which == "sf",
                                       far_from_one=T_INTERIOR * self.s >= 0.1)
        else:
            coefficients = self._even[p]
            odd = (p // 2) % 2
            if which == "sf":
                # (1 - m^j) minus the terms i >= 1 of the series, where
                # 1 - m^j = (1 - m)(1 + m + ... + m^(j-1)): 1 - m is exact for m >= 1/2
                value = _horner(np.ones(p // 2), m) * (1.0 - m)
                if coefficients.size > 1:
                    correction = _horner(coefficients[:-1], m * m)
                    value -= correction * m if odd else correction
            elif coefficients.size == 1:
                value = m.copy() if odd else np.ones_like(m)
            else:
                value = _horner(coefficients, m * m)
                if odd:
                    value *= m
        return 0.5 * self.c * value if which == "pdf" else value

    def _edge(self, m, which: str, frame: Frame | None = None):
        """The edge table of ``which`` at ``m``; ``frame`` (the merged table only): at the
        points ``y = m`` of a distribution, whose map to the table's position then folds into
        one multiply and add. Its rounding moves a point by a few units in the last place of
        ``y``, i.e. by ~1e-16 |origin| / (b - a) / s noise widths: with s > 1 / (2 T) and
        ``|origin| <= _FOLD_LIMIT (b - a)``, at most ~1e-11."""
        table = self._tables.get(which)
        if table is None:
            table = self._tables[which] = self._build(which)
        if frame is not None and abs(frame[0]) > _FOLD_LIMIT * frame[1]:
            m, frame = to_standard(m, frame), None
        width = _EDGE_SHAPES[which][1]
        scale = 1.0 / (self.s * width)
        shift = _EDGE_REACH / width
        pieces = self._pieces(width)
        if self._merged:
            if frame is None:
                position = m * scale
                position += shift
            else:  # m = sign (y - origin) / w: the position is y sign scale / w + ...
                origin, span, sign = frame
                position = m * (sign * scale / span)
                position += shift - sign * origin * scale / span
            # (two reductions: cheaper than a mask when, as usual, every point is inside)
            if position.size and position.min() >= 0.0 and position.max() < pieces:
                return _pieces_at(table[0], position, table[1])
            m = to_standard(m, frame)  # points beyond the table take the kernel, at m
        else:
            # t = m / s near 0, (1 - m) / s near 1 (its pieces follow those of 0)
            high = m > 0.5
            position = np.where(high, 1.0 - m, m) * scale + shift
        inside = (position >= 0.0) & (position < pieces)
        if not self._merged:
            position += high * pieces
        if inside.all():
            return _pieces_at(table[0], position, table[1])
        out = np.empty_like(m)
        use, other = np.flatnonzero(inside), np.flatnonzero(~inside)
        out[other] = _evaluate(m[other], self.c, self.s, which)
        if use.size:
            out[use] = _pieces_at(table[0], position[use], table[1])
        return out

    def _build(self, which: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The edge table of G, 1 - G or g (``which``): per piece, the monomials in the
        position within the piece (``_pieces_at``) of the interpolant at Chebyshev points,
        and the pieces' bases (or None).

        The function itself, not its log: over a piece of 1/128 noise width it changes by at
        most a factor exp(|t| / 128) (|t| <= 8 on the tables' reach: the log's slope), which a
        degree-4 interpolant follows to 2e-11 relative (c = 1..10, s from 1e-11 to 3), so a
        point costs five gathers and a Horner step each, and no ``exp``; the density's pieces
        of 1/256 noise width, degree 3, to 4e-10 (``_EDGE_SHAPES``). Where G (1 - G) is
        above 1/2 on a whole piece the piece interpolates -(1 - G) (-G), from the kernel's
        complement, and its base is 1, added last: rounding 1 + x is monotone in x, and the
        value is as accurate as the kernel's complement, where an interpolant of values near 1
        would jump by a few units in the last place between pieces. The values at the nodes
        come from the kernel through :meth:`_node_values`.
        """
        degree, width = _EDGE_SHAPES[which]
        n = degree + 1
        nodes = 0.5 * width * (_chebyshev_nodes(n) + 1.0)
        starts = -_EDGE_REACH + width * np.arange(self._pieces(width))
        t = starts[:, None] + nodes  # (pieces, n): every node in noise widths from its end
        segments = ((0.0, 1.0),) if self._merged else ((0.0, 1.0), (1.0, -1.0))
        per_build = round(_BUILD_WIDTH / width)
        found = [self._node_values(which, t, per_build, *segment) for segment in segments]
        values = np.concatenate([value for value, _ in found])
        base = None
        if which != "pdf":
            near_one = values.min(axis=1) > 0.5
            if near_one.any():
                complements = np.concatenate([complement for _, complement in found])
                values[near_one] = -complements[near_one]
                base = near_one.astype(float)
        table = np.ascontiguousarray(_v_to_u(n) @ _monomial_pieces(values))
        return table, base

    def _node_values(self, which: str, t: np.ndarray, per_build: int, origin: float,
                     sign: float):
        """The function ``which`` and its complement (for G and 1 - G; else None) at the
        nodes ``t`` (noise widths from the end ``origin`` of [0, 1], outwards for ``sign``
        -1 at the end 1), from the exact kernel through Chebyshev interpolants of degree
        ``_BUILD_DEGREE`` on pieces of ``_BUILD_WIDTH`` (``per_build`` table pieces): a
        quarter or less of the kernel's evaluations (relative error below 1e-15 against the
        kernel at the nodes: over 1/8 noise width a function changes by at most a factor e).

        The kernel is evaluated at the rounded m = origin + sign s t, and each interpolant
        in the t of those m (a shift of up to 1e-16 / s noise widths near 1, which would
        otherwise limit the accuracy to ~1e-16 / s); the complement only on the pieces
        where the function exceeds 1/2.
        """
        s, degree = self.s, _BUILD_DEGREE
        width = _BUILD_WIDTH
        coarse = -_EDGE_REACH + width * np.arange(-(-t.shape[0] // per_build))
        chebyshev = _chebyshev_nodes(degree + 1)
        m = origin + sign * s * (coarse[:, None] + 0.5 * width * (chebyshev + 1.0))
        local = 2.0 * (sign * (m - origin) / s - coarse[:, None]) / width - 1.0
        vandermonde = np.polynomial.chebyshev.chebvander(local, degree)
        piece = np.arange(t.shape[0]) // per_build  # each table piece's build piece
        at = 2.0 * (t - coarse[piece, None]) / width - 1.0

        def interpolated(kind: str, rows: np.ndarray) -> np.ndarray:
            """``kind`` at the nodes of the table pieces within the build pieces ``rows``
            (zero elsewhere)."""
            kernel = _evaluate(m[rows], self.c, s, kind)
            coefficients = np.zeros((coarse.size, degree + 1))
            coefficients[rows] = np.linalg.solve(vandermonde[rows], kernel[:, :, None])[..., 0]
            return np.polynomial.chebyshev.chebval(
                at, coefficients[piece].T[:, :, None], tensor=False
            )

        values = interpolated(which, np.ones(coarse.size, bool))
        if which == "pdf":
            return values, None
        high = np.zeros(coarse.size, bool)
        np.logical_or.at(high, piece, values.max(axis=1) > 0.5)
        complement = "sf" if which == "cdf" else "cdf"
        return values, interpolated(complement, high) if high.any() else np.zeros(t.shape)

    # -- quantiles ---------------------------------------------------------------------------

    def quantile(self, p, upper=False, *, fast: bool | None = None):
        """m with G(m) = p, or with 1 - G(m) = p where ``upper`` (broadcast with p).

        Newton's iteration on log G (log(1 - G)), safeguarded by bisection in the bracket
        [s z, 1 + s z], z = Phi^-1(G) (X + s Z lies between s Z and 1 + s Z), from starting
        points good to ~1e-9 (``_guess``), so that one step usually suffices.  p = 0 and 1
        give -inf and +inf.

        Below p = 1e-300 the tail probabilities underflow before they can be solved for;
        there the noise's Gaussian tail, log p ~ -z^2 / 2, continues the quantile from
        p0 = 1e-300: m(p) = m(p0) -+ s (sqrt(-2 log p) - sqrt(-2 log p0)) (monotone; the
        neglected change in the log-order terms moves m by under 0.01 s down to 5e-324).
        """
        p = np.asarray(p, dtype=float)
        with np.errstate(invalid="ignore"):
            far = (p > 0.0) & (p < _QUANTILE_FLOOR)
        if not far.any():
            return self._quantile(p, upper, fast)
        m = self._quantile(np.where(far, _QUANTILE_FLOOR, p), upper, fast)
        with np.errstate(divide="ignore"):
            reach = np.sqrt(-2.0 * np.log(p)) - np.sqrt(-2.0 * np.log(_QUANTILE_FLOOR))
        step = np.where(upper, self.s, -self.s) * reach
        return np.where(far, m + step, m)

    def _quantile(self, p, upper, fast: bool | None):
        p, upper = np.asarray(p, dtype=float), np.asarray(upper, bool)
        if upper.ndim:  # a side per p; else one side for every p (the usual call)
            p, upper = np.broadcast_arrays(p, upper)
            upper = upper.ravel()
        shape = p.shape
        p = p.ravel()
        fast = p.size >= _FAST_SIZE if fast is None else fast
        interior = (p > 0.0) & (p < 1.0)
        if upper.ndim == 0 and interior.all():
            return self._solve(p, bool(upper), fast).reshape(shape)
        at_zero = np.where(upper, np.inf, -np.inf)
        out = np.where(p == 0.0, at_zero, np.where(p == 1.0, -at_zero, np.nan))
        for side in (False, True) if upper.ndim else (bool(upper),):
            index = np.flatnonzero(interior & (upper == side) if upper.ndim else interior)
            if index.size:
                out[index] = self._solve(p[index], side, fast)
        return out.reshape(shape)

    def _solve(self, p, upper: bool, fast: bool):
        if not fast and p.size > 1:
            # the exact kernel's quadrature sums by matrix products, whose rounding depends on
            # a point's place in the block: solve each distinct p once, so ties stay ties
            distinct, inverse = np.unique(p, return_inverse=True)
            if distinct.size < p.size:
                return self._solve(distinct, upper, fast)[inverse]
        which, sign = ("sf", 1.0) if upper else ("cdf", -1.0)
        tables = self._tabulable and (fast or self._inverse is not None)
        m = self._guess(p, np.log(p), upper, tables=tables)
        # the bracket (arrays), set up by the first step
        lo: Any = None
        hi: Any = None
        active = np.arange(p.size)
        for iteration in range(_QUANTILE_ITERATIONS):
            everything = iteration == 0
            x = m if everything else m[active]
            target = p if everything else p[active]
            if not everything:
                lo_a, hi_a = lo[active], hi[active]
            value = self._evaluate(x, which, fast)
            density = self._evaluate(x, "pdf", fast)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = value / target
                gap = np.log(ratio)
                proposal = x + sign * gap * value / density
            # G increases and 1 - G decreases in m: shrink the bracket, and bisect it when
            # Newton leaves it (its ends are bounded at first use, see _bracket)
            above = ratio > 1.0 if not upper else ratio < 1.0
            if everything:
                lo, hi = np.where(above, -np.inf, x), np.where(above, x, np.inf)
                lo_a, hi_a = lo, hi
            else:
                np.copyto(hi_a, x, where=above)
                np.copyto(lo_a, x, where=~above)
            outside = np.flatnonzero(~((proposal >= lo_a) & (proposal <= hi_a)))
            if outside.size:
                low, high = self._bracket(target[outside], upper)
                lo_a[outside] = np.maximum(lo_a[outside], low)
                hi_a[outside] = np.minimum(hi_a[outside], high)
                proposal[outside] = 0.5 * (lo_a[outside] + hi_a[outside])
            # Newton converges quadratically: a step below 3e-9 of the length over which
            # log G bends (min(m, 1 - m) inside, s^2 / (s + distance) outside, at least s
            # inside) leaves an error ~1e-17 of it
            s = self.s
            outside_by = np.maximum(-x, x - 1.0)
            bend = np.where(  # (the clip spares the unused branch a division by zero)
                outside_by > 0.0,
                s * (s / (s + np.maximum(outside_by, 0.0))),
                np.maximum(np.minimum(x, 1.0 - x), s),
            )
            done = (np.abs(gap) <= 1e-15) | (np.abs(proposal - x) <= 3e-9 * bend)
            done |= hi_a - lo_a <= 2e-15 * np.maximum(np.abs(x), s)
            if everything:
                m = proposal  # (lo and hi are lo_a and hi_a)
            else:
                m[active], lo[active], hi[active] = proposal, lo_a, hi_a
            active = active[~done]
            if not active.size:
                break
        return m

    def _bracket(self, p, upper: bool, logs=None):
        """Bounds on the root: X + s Z lies between s Z and 1 + s Z, so the root lies in
        [s z, 1 + s z] with z = Phi^-1(G); Phi(-x) <= exp(-x^2 / 2) / 2 bounds |z|.
        ``logs``: log p and log(1 - p), when already at hand."""
        log_p, log_q = logs if logs is not None else (np.log(p), np.log1p(-p))
        half = np.log(0.5)
        small = np.sqrt(-2.0 * (np.minimum(log_p, half) - half))  # >= |z| when p < 1/2
        large = np.sqrt(-2.0 * (np.minimum(log_q, half) - half))
        if upper:
            return -self.s * large, 1.0 + self.s * small
        return -self.s * small, 1.0 + self.s * large

    def _guess(self, p, log_p, upper: bool, tables: bool = True):
        """Starting points good to ~1e-9: the interior series inverted (``_interior_root``),
        cubic Hermite interpolation of t against log G (log(1 - G)) near the ends (with
        ``tables``, else the noiseless quantile), clipped to the bracket."""
        s, k = self.s, 0.5 * self.c
        log_g = np.log1p(-p) if upper else log_p  # log G at the root
        log_s = log_p if upper else np.log1p(-p)  # log(1 - G) at the root
        guess = np.empty_like(p)
        rest = np.ones(p.shape, bool)  # the points no table serves
        if tables:
            zero, one = self._inverse or self._build_inverse()
            for (start, step, t, slope, limit), level, from_one in (
                (zero, log_g, False),
                (one, log_s, True),
            ):
                use = np.flatnonzero((level >= start) & (level <= limit))
                if not use.size:
                    continue
                rest[use] = False
                position = np.minimum((level[use] - start) / step, t.size - 1.000001)
                j = position.astype(np.intp)
                u = position - j
                t0, t1 = t.take(j), t.take(j + 1)
                d0, d1 = slope.take(j) * step, slope.take(j + 1) * step
                w = 1.0 - u
                value = w * w * ((1.0 + 2.0 * u) * t0 + u * d0) + u * u * (
                    (3.0 - 2.0 * u) * t1 - w * d1
                )
                guess[use] = 1.0 - s * value if from_one else s * value
        rest = np.flatnonzero(rest)
        if rest.size:  # (with s > 1/20 the tables serve every point but the far tails)
            g = np.exp(log_g[rest] / k)  # the noiseless quantile
            # the interior series inverted, a little beyond the interior too: the tables end
            # at its edge, and the series is still a good guess there
            edge = 0.7 * T_INTERIOR * s
            inner = (g >= edge) & (g <= 1.0 - edge)
            if inner.any():
                # m^k P((s / m)^2) = G, m = g w((s / g)^2) with g = G^(1/k) (_interior_root)
                g[inner] *= _horner(_interior_root(self.c), (s / g[inner]) ** 2)
            guess[rest] = g
        low, high = self._bracket(p, upper, (log_p, log_s if not upper else log_g))
        return np.clip(guess, low, high)

    def _build_inverse(self):
        """t against log G (t = m / s) and against log(1 - G) (t = (1 - m) / s), with the
        slopes dt / dlog, on uniform grids of the logarithm, over the edge regions (the whole
        range if s > 1/20): cubic Hermite interpolation in them is good to ~1e-10."""
        s = self.s
        merged = 1.0 / s < 2.0 * T_INTERIOR
        top = 1.0 / s + _EDGE_REACH if merged else T_INTERIOR
        t = np.arange(-_EDGE_REACH, top + 0.01, 0.02)
        tables = []
        for which, sign, origin in (("cdf", 1.0, 0.0), ("sf", -1.0, 1.0)):
            level, slope = self._log_and_slope(origin + sign * s * t, which)
            keep = np.isfinite(level) & (slope > 0.0)
            level, slope, tt = level[keep], slope[keep], t[keep]
            increasing = np.concatenate([[True], np.diff(level) > 0.0])
            level, slope, tt = level[increasing], slope[increasing], tt[increasing]
            limit = np.log(0.5) if merged else level[-1]
            grid = np.linspace(level[0], limit, 4097)
            i = np.clip(np.searchsorted(level, grid) - 1, 0, level.size - 2)
            h = level[i + 1] - level[i]
            u = (grid - level[i]) / h
            w = 1.0 - u
            t_grid = w * w * ((1.0 + 2.0 * u) * tt[i] + u * h / slope[i]) + u * u * (
                (3.0 - 2.0 * u) * tt[i + 1] - w * h / slope[i + 1]
            )
            _, slope_grid = self._log_and_slope(origin + sign * s * t_grid, which)
            tables.append((grid[0], grid[1] - grid[0], t_grid, 1.0 / slope_grid, limit))
        self._inverse = tuple(tables)
        return self._inverse

    def _log_and_slope(self, m, which):
        """log G (log(1 - G)) and its derivative in t = m / s (t = (1 - m) / s)."""
        value = self._evaluate(m, which, True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(value), self.s * self._evaluate(m, "pdf", True) / value

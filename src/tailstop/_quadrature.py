"""Windowed quadrature of the partial normal moments (private): the CDF kernel's route for
the points no series serves (:mod:`tailstop._moments` describes the routes).

M_j(m, s) = int x^j phi_s(x - m) dx over the part of [0, 1] where the normal kernel is within
exp(-``TAIL``) of its maximum, on Gauss-Legendre panels graded away from that maximum
(``_LEVELS``), half-range Gauss-Hermite for a side the window does not cut short, u = sqrt(x)
near 0 and the offset from the peak elsewhere; and one fixed 32-point rule for a wide kernel.
"""

from __future__ import annotations

import functools

import numpy as np

from tailstop._powers import _int_power, _one_minus_power_half, _power_half

TAIL = 52.0  # quadrature window: kernel factor above exp(-TAIL) of its maximum
_LEVELS = np.array([0.25, 2.0, 6.0, 13.0, 24.0, 38.0, TAIL])  # panel ends (see below)
# Gauss-Legendre nodes and weights on each panel, from the peak out
_RULES = (np.polynomial.legendre.leggauss(10),) * 7
_N_HERMITE = 10  # half-range Gauss-Hermite nodes for a side the window does not cut short
_HERMITE_T = 9.0  # ... or cuts short at least this many noise widths from the peak
_CHUNK = 1024  # points per quadrature block (keeps the (points, nodes) arrays in cache)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)

def _integrate(
    m, s, p, complement: bool = False, bottom: float = 0.0, top: float = 1.0, rules=None
):
    """int_bottom^top h(x) phi_s(x - m) dx, h = x^(p/2) or 1 - x^(p/2) (bottom is 0 or >= 1).

    ``p`` may be a tuple of exponents: the result then has one row per exponent (the nodes
    and the kernel are shared).
    """
    ps = tuple(p) if isinstance(p, tuple) else (p,)
    out = np.empty((len(ps), m.size))
    # blocks of points with similar distances to the upper end share their panel layout
    order = np.argsort((top - m) / s if np.isfinite(top) else m / s) if m.size > _CHUNK else None
    for start in range(0, m.size, _CHUNK):
        block = slice(start, start + _CHUNK) if order is None else order[start : start + _CHUNK]
        out[:, block] = _integrate_block(
            m[block], s[block], ps, complement, bottom, top, rules or _RULES
        )
    return out if isinstance(p, tuple) else out[0]


def _integrate_block(m, s, ps, complement, bottom, top, rules):
    peak = np.clip(m, bottom, top)
    distance = np.abs(m - peak)
    # Panel ends where the kernel has dropped by _LEVELS nats from its value at the peak
    # (the last level, TAIL, ends the window): an offset e from the peak with
    # ((distance + e)^2 - distance^2) / (2 s^2) = level, i.e. e = 2 s^2 level / (r + distance)
    # with r = sqrt(distance^2 + 2 s^2 level).  Near the peak this grades by s, in a tail
    # (distance >> s) by the exponential decay length s^2 / distance.
    scaled = (distance / s)[:, None]  # (computed in noise widths: s^2 may overflow)
    offsets = s[:, None] * (2.0 * _LEVELS) / (np.sqrt(scaled * scaled + 2.0 * _LEVELS) + scaled)
    left = np.maximum(peak[:, None] - offsets[:, ::-1], bottom)
    right = np.minimum(peak[:, None] + offsets, top)
    inside = distance == 0.0
    # A side of the peak whose far end is at least _HERMITE_T noise widths away is a
    # half-normal integral (the part cut off weighs below phi(9) ~ 1e-18): Gauss-Hermite.
    # Otherwise Gauss-Legendre panels, in offsets from the peak where x^(p/2) is smooth
    # over the window, in u = sqrt(x) where the window comes near 0.
    if bottom == 0.0:
        near_zero = np.where(inside, m < _HERMITE_T * s, left[:, 0] <= 0.5 * peak)
    else:
        near_zero = np.zeros(m.shape, bool)
    result = np.zeros((len(ps), m.size))
    if near_zero.any():
        g = near_zero
        ends = np.concatenate([left[g], peak[g, None], right[g]], axis=1)
        ends, kept = _prune(np.sqrt(ends), rules[::-1] + rules)
        result[:, g] = _gl_sqrt(m[g], s[g], ends, ps, complement, kept)
    if near_zero.all():
        return result
    g = ~near_zero
    mm, ss = m[g], s[g]
    z_peak = ((peak[g] - mm) / ss)[:, None]
    inside = inside[g]
    part = np.zeros((len(ps), mm.size))
    for ends, reach, sign, side_rules in (
        (
            np.concatenate([(left[g] - mm[:, None]) / ss[:, None], z_peak], axis=1),
            (mm - bottom) / ss,
            -1.0,
            rules[::-1],
        ),
        (
            np.concatenate([z_peak, (right[g] - mm[:, None]) / ss[:, None]], axis=1),
            (top - mm) / ss,
            1.0,
            rules,
        ),
    ):
        full = inside & (reach >= _HERMITE_T)
        if full.any():
            part[:, full] += _gh_offset(mm[full], ss[full], sign, ps, complement)
        if not full.all():
            cut = ~full
            cut_ends, kept = _prune(ends[cut], side_rules)
            part[:, cut] += _gl_offset(mm[cut], ss[cut], cut_ends, ps, complement, kept)
    result[:, g] = part
    return result


def _prune(ends, rules):
    """Drop the panels that are empty in every row (clipped to the window's ends; they
    sit at the two ends of the row), with their rules."""
    nonempty = np.any(ends[:, 1:] > ends[:, :-1], axis=0)
    if nonempty.all():
        return ends, rules
    used = np.flatnonzero(nonempty)
    if not used.size:
        return ends[:, :2], rules[:1]
    first, last = used[0], used[-1]
    return ends[:, first : last + 2], rules[first : last + 1]


def _panels(ends, rules):
    """Gauss-Legendre nodes and weights on the panels between successive ``ends`` (panel j
    with ``rules[j]``), flattened per point."""
    half = 0.5 * (ends[:, 1:] - ends[:, :-1])
    middle = ends[:, :-1] + half
    nodes = [middle[:, j, None] + half[:, j, None] * rule[0] for j, rule in enumerate(rules)]
    weights = [half[:, j, None] * rule[1] for j, rule in enumerate(rules)]
    return np.concatenate(nodes, axis=1), np.concatenate(weights, axis=1)


def _gl_sqrt(m, s, ends_u, ps, complement, rules):
    """Window near 0: u = sqrt(x), x^(p/2) dx = 2 u^(p + 1) du."""
    u, w = _panels(ends_u, rules)
    x = u * u
    z = (x - m[:, None]) / s[:, None]
    w *= np.exp(-0.5 * z * z) * (2.0 * _INV_SQRT_2PI) / s[:, None]
    rows = []
    for p in ps:
        if complement:
            h = u * _one_minus_power_half(x, 1.0 - x, p)
        else:
            h = u ** (p + 1) if p >= 0 else np.ones_like(u)
        rows.append(np.einsum("ij,ij->i", w, h))
    return np.array(rows)


def _h_offset(m, s, z, p, complement):
    """h(x) at x = m + s z, with 1 - x = (1 - m) - s z for the complement."""
    x = m[:, None] + s[:, None] * z
    if complement:
        return _one_minus_power_half(x, (1.0 - m)[:, None] - s[:, None] * z, p)
    return _power_half(x, p)


def _gl_offset(m, s, ends_z, ps, complement, rules):
    """Window away from 0, panels in z: x = m + s z, phi_s(x - m) dx = phi(z) dz."""
    z, w = _panels(ends_z, rules)
    w *= np.exp(-0.5 * z * z) * _INV_SQRT_2PI
    return np.array([np.einsum("ij,ij->i", w, _h_offset(m, s, z, p, complement)) for p in ps])


# Gauss-Legendre nodes on [0, 1] in u = sqrt(x) for a wide kernel, by the least s they serve
_WIDE_RULES = ((1.0 / 6.0, 32), (1.0 / 16.0, 48), (1.0 / 20.0, 64), (1.0 / 30.0, 80),
               (1.0 / 40.0, 112))
_WIDE_S = _WIDE_RULES[-1][0]  # the wide route serves s above this ...
_WIDE_T = 8.0  # ... within this many noise widths of [0, 1]


@functools.cache
def _wide_rule(nodes: int):
    """Nodes u, 1 - u and weights (times 2 / sqrt(2 pi)) of ``nodes``-point Gauss-Legendre
    on [0, 1]."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    return 0.5 * (x + 1.0), 0.5 * (1.0 - x), w * _INV_SQRT_2PI


def _wide(m, s, p: int, complement: bool):
    """M_{p/2} (or the complement integral) for a wide kernel: s > 1/40 and m within
    ``_WIDE_T`` noise widths of [0, 1].

    ``int_0^1 2 u^(p+1) phi_s(u^2 - m) du`` (or with ``2 u (1 - u^p)``) by one fixed rule:
    the kernel varies by at most ``(1 + 2 _WIDE_T s) / (2 s^2)`` nats over [0, 1] (66 at
    s = 1/6, 1,300 at 1/40), an entire function of u that 32 nodes integrate to ~1e-14
    relative for s > 1/6, and 48, 64, 80 and 112 nodes to ~1e-12 for s above 1/16, 1/20,
    1/30 and 1/40 (``_WIDE_RULES``: measured against the windowed rule, whose own error is
    about that, and checked against mpmath in tests/test_distributions.py), at a fifth to a
    tenth of the windowed rule's cost (the rule's exp per node and point is most of it).
    """
    out = np.empty(m.size)
    if m.size == 0:
        return out
    upper = np.inf
    for least, nodes in _WIDE_RULES:
        tier = (s > least) & (s <= upper)
        upper = least
        if tier.all():
            _wide_tier(out, m, s, p, complement, nodes)
        elif tier.any():
            part = np.empty(int(tier.sum()))
            _wide_tier(part, m[tier], s[tier], p, complement, nodes)
            out[tier] = part
    return out


def _wide_tier(out, m, s, p: int, complement: bool, nodes: int) -> None:
    """:func:`_wide` with the rule of ``nodes`` nodes, into ``out``."""
    u, one_minus_u, weights = _wide_rule(nodes)
    x = u * u
    if complement:
        h = u * _one_minus_power_half(x, one_minus_u * (1.0 + u), p)
    else:
        h = _int_power(u, p + 1) if p >= 0 else np.ones_like(u)
    for start in range(0, m.size, _CHUNK):
        block = slice(start, start + _CHUNK)
        inv_s = 1.0 / s[block, None]
        z = (x[None, :] - m[block, None]) * inv_s
        # (a row sum, pairwise: each row summed alike whatever the block's size, so that a
        # point's value does not depend on the points beside it, as a matrix product's
        # blocking would make it, and to a few units in the last place over 112 nodes)
        terms = np.exp(-0.5 * z * z)
        terms *= weights * h
        out[block] = terms.sum(axis=1) * inv_s[:, 0]


def _gh_offset(m, s, sign, ps, complement):
    """int_0^inf h(m + sign s v) phi(v) dv by half-range Gauss-Hermite."""
    nodes, weights = _half_range_hermite()
    z = np.broadcast_to(sign * nodes, (m.size, nodes.size))
    return np.array([_h_offset(m, s, z, p, complement) @ weights for p in ps])


@functools.cache
def _half_range_hermite(n: int = _N_HERMITE):
    """Gauss rule for the weight phi(v) on [0, inf) (Golub-Welsch on a Stieltjes discretisation)."""
    x, w = np.polynomial.legendre.leggauss(20)
    edges = np.concatenate([np.linspace(0.0, 8.0, 161), np.linspace(8.0, 40.0, 33)[1:]])
    half = 0.5 * np.diff(edges)
    v = ((edges[:-1] + half)[:, None] + half[:, None] * x).ravel()
    dv = (half[:, None] * w).ravel() * np.exp(-0.5 * v * v) * _INV_SQRT_2PI
    alpha, beta = np.zeros(n), np.zeros(n)
    previous, current = np.zeros_like(v), np.ones_like(v)
    norm_previous = 1.0
    for k in range(n):
        norm = dv @ (current * current)
        alpha[k] = dv @ (v * current * current) / norm
        beta[k] = norm / norm_previous if k else norm
        previous, current = current, (v - alpha[k]) * current - (beta[k] if k else 0.0) * previous
        norm_previous = norm
    jacobi = np.diag(alpha) + np.diag(np.sqrt(beta[1:]), 1) + np.diag(np.sqrt(beta[1:]), -1)
    nodes, vectors = np.linalg.eigh(jacobi)
    return nodes, beta[0] * vectors[0] ** 2

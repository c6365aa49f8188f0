"""Powers of the standard variable (private): x^n, x^(p/2) and 1 - x^(p/2) without
cancellation, in place where the arrays are large, and Horner's rule.

Shared by the CDF kernel's routes (:mod:`tailstop._moments`) and its quadrature
(:mod:`tailstop._quadrature`).
"""

from __future__ import annotations

import numpy as np


def _int_power(x, n: int):
    """x^n for a small integer n >= 0 by multiplication (numpy's pow is slow beyond n = 2).

    Arrays are multiplied in place in one fresh array: a fresh array per product costs a
    page fault per 4 KB on large inputs, more than the multiplication itself."""
    if n == 0:
        return np.ones_like(x)
    if not isinstance(x, np.ndarray):
        result = x
        for _ in range(n - 1):
            result = result * x
        return result
    result = x.astype(float, copy=True)
    for _ in range(n - 1):
        result *= x
    return result


def _power_half(x, p: int):
    """x^(p / 2) for x >= 0 and an integer p >= -1 (integer powers and one square root)."""
    if p == -1:
        root = np.sqrt(x)
        if isinstance(root, np.ndarray):
            return np.divide(1.0, root, out=root)
        return 1.0 / root
    if p == 1:
        return np.sqrt(x)
    whole = _int_power(x, p // 2)
    if p % 2 == 0:
        return whole
    if isinstance(whole, np.ndarray):
        whole *= np.sqrt(x)
        return whole
    return whole * np.sqrt(x)


def _one_minus_power_half(x, one_minus_x, p: int, power=None):
    """1 - x^(p / 2) for p >= 1 without cancellation near x = 1, given an accurate 1 - x
    (and x^(p / 2) as ``power``, when at hand).

    1 - x^q = (1 - x)(1 + x + ... + x^(q - 1)); for odd p, 1 - x^(p/2) = (1 - x^p) / (1 + x^(p/2)).
    """
    terms = p // 2 if p % 2 == 0 else p
    if terms == 1:
        total = one_minus_x * 1.0  # a fresh array (the caller's stays as it is)
    else:
        total = x + 1.0
        for _ in range(terms - 2):
            total *= x
            total += 1.0
        total = _in_place(np.multiply, total, one_minus_x)
    if p % 2 == 0:
        return total
    denominator = _power_half(x, p) if power is None else power
    return _in_place(np.divide, total, denominator + 1.0)


def _in_place(ufunc, a, b):
    """ufunc(a, b), written into a when a is an array of the result's shape."""
    if isinstance(a, np.ndarray) and (np.ndim(b) == 0 or np.shape(b) == a.shape):
        return ufunc(a, b, out=a)
    return ufunc(a, b)


def _horner(coefficients, r):
    total = np.full_like(r, coefficients[-1])
    for coefficient in coefficients[-2::-1]:
        total *= r
        total += coefficient
    return total


"""The empirical distribution of the scores, its tuning curves and simultaneous confidence bands.

This is the nonparametric companion of the noisy quadratic fit (Lourie, Cho & He, "Show Your
Work with Confidence: Confidence Bands for Tuning Curves", NAACL 2024; opda's
``EmpiricalDistribution``): the empirical CDF ``F_n``, the quantile and average tuning curves of
random search under ``F_n``, and simultaneous confidence bands for the CDF, which map to
confidence bands for the tuning curve.

Tuning curves.  After ``k`` i.i.d. draws from ``F`` the best score has CDF ``F(y)^k``
(maximise) or ``1 - (1 - F(y))^k`` (minimise), so the ``q``-quantile tuning curve is
``F^-1(q^(1/k))`` (maximise) or ``F^-1(1 - (1 - q)^(1/k))`` (minimise).

The bands themselves (the distribution-free order-statistic bands and the exact simultaneous
coverage behind them) are in :mod:`tailstop.bands`; their public functions are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from tailstop._data import as_generator
from tailstop.bands import (
    BandMethod,
    _cached_band,
    _check_confidence,
    _check_method,
    beta_intervals,
    ld_band,
    ld_critical_level,
    order_statistic_band,
    simultaneous_coverage,
)
from tailstop.errors import InvalidDataError, InvalidParameterError

__all__ = [
    "EmpiricalDistribution",
    "beta_intervals",
    "confidence_bands",
    "ld_band",
    "ld_critical_level",
    "order_statistic_band",
    "simultaneous_coverage",
]



def _check_bounds(a: float, b: float) -> tuple[float, float]:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b) or a > b:
        raise InvalidParameterError(f"the support bounds must satisfy a <= b, got a={a}, b={b}")
    return a, b


def _check_sample(ys: ArrayLike, a: float, b: float) -> np.ndarray:
    ys = np.asarray(ys, dtype=float)
    if ys.ndim != 1 or ys.size == 0:
        raise InvalidDataError(f"ys must be a non-empty 1-D array, got shape {ys.shape}")
    if np.isnan(ys).any():
        raise InvalidDataError(f"ys contains NaN (at index {int(np.argmax(np.isnan(ys)))})")
    if a > ys.min():
        raise InvalidDataError(f"a ({a}) is greater than the smallest score ({ys.min()})")
    if b < ys.max():
        raise InvalidDataError(f"b ({b}) is less than the largest score ({ys.max()})")
    return ys


def _check_minimize(minimize: object) -> bool:
    if not isinstance(minimize, (bool, np.bool_)):
        raise InvalidParameterError(f"minimize must be a bool, got {minimize!r}")
    return bool(minimize)


def _check_ns(ns: ArrayLike) -> np.ndarray:
    ns = np.asarray(ns, dtype=float)
    if not np.all(ns > 0):  # also rejects NaN
        raise InvalidParameterError(f"ns must be positive, got {ns[~(ns > 0)].ravel()[:3]}")
    return ns


class EmpiricalDistribution:
    r"""The empirical distribution of a sample, optionally with known support bounds [a, b].

    ``cdf(y) = #{i: y_i <= y} / n`` (right-continuous step function) and
    ``ppf(p) = max(min{y in {a} U ys : p <= F(y)}, a)``, so ``ppf(0) = a``, not ``-inf``
    (opda's convention; the median of an even-sized sample is the left middle order statistic).

    Parameters
    ----------
    ys : 1-D array of floats
        The scores.  ``+-inf`` are allowed (e.g. diverged trials), NaN is not.
    a, b : float, optional
        Known bounds of the support (e.g. 0 and 1 for an accuracy); ``a <= min(ys)`` and
        ``b >= max(ys)`` are required.  They matter for the tuning-curve *bands*: the band CDFs
        put their leftover mass on ``a`` and ``b``.

    Attributes
    ----------
    ys : ndarray
        The sample as given (for band distributions: ``[a, *ys, b]``).
    a, b : float
        The support bounds.
    mean, variance : float
        Mean and (population, ``ddof=0``) variance of the distribution; ``inf`` / NaN when the
        sample holds infinities.

    Examples
    --------
    >>> dist = EmpiricalDistribution([0.72, 0.83, 0.92, 0.68, 0.75], a=0.0, b=1.0)
    >>> dist.quantile_tuning_curve([1, 2, 4]).tolist()
    [0.75, 0.83, 0.92]
    >>> np.round(dist.average_tuning_curve([1, 2, 4]), 6).tolist()
    [0.78, 0.8272, 0.871936]
    """

    ys: np.ndarray
    a: float
    b: float
    mean: float
    variance: float

    def __init__(self, ys: ArrayLike, a: float = -np.inf, b: float = np.inf) -> None:
        a, b = _check_bounds(a, b)
        ys = _check_sample(ys, a, b)
        n = ys.size
        self._build(np.sort(ys), np.arange(1, n + 1) / n, a, b)
        self.ys = ys
        with np.errstate(invalid="ignore"):
            self.mean = float(np.mean(ys))
            self.variance = float(np.var(ys))

    @classmethod
    def _from_step_cdf(
        cls, values: np.ndarray, cdf_after: np.ndarray, a: float, b: float
    ) -> EmpiricalDistribution:
        """Distribution whose CDF equals ``cdf_after[k]`` from ``values[k]`` (sorted) onwards."""
        self = cls.__new__(cls)
        self._build(values, cdf_after, a, b)
        self.ys = values
        pmf, support = self._pmf, self._support
        positive = pmf > 0
        with np.errstate(invalid="ignore"):
            self.mean = float(np.sum(pmf[positive] * support[positive]))
            self.variance = float(np.sum(pmf[positive] * (support[positive] - self.mean) ** 2))
        return self

    def _build(self, values: np.ndarray, cdf_after: np.ndarray, a: float, b: float) -> None:
        # Sorted support (a and b included) and the CDF at each support point; for tied values
        # the CDF after the last of them counts.
        is_last = np.append(values[1:] != values[:-1], True)
        support, cdf = values[is_last], np.maximum.accumulate(cdf_after[is_last])
        if a < support[0]:
            support, cdf = np.insert(support, 0, a), np.insert(cdf, 0, 0.0)
        if b > support[-1]:
            support, cdf = np.append(support, b), np.append(cdf, 1.0)
        cdf[-1] = 1.0
        self.a, self.b = a, b
        self._support = support
        self._cdf = cdf
        self._cdf_below = np.concatenate([[0.0], cdf])  # F at support[k-1], 0 before the first
        self._pmf = np.diff(cdf, prepend=0.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.ys.size}, a={self.a!r}, b={self.b!r})"

    def pmf(self, ys: ArrayLike) -> np.ndarray | float:
        """Probability mass at ``ys`` (zero off the support)."""
        ys = np.asarray(ys, dtype=float)
        k = np.clip(np.searchsorted(self._support, ys, side="left"), 0, self._support.size - 1)
        return np.where(self._support[k] == ys, self._pmf[k], 0.0)[()]

    def cdf(self, ys: ArrayLike) -> np.ndarray | float:
        """``F(y) = P(Y <= y)``, a right-continuous step function; NaN maps to NaN."""
        ys = np.asarray(ys, dtype=float)
        out = self._cdf_below[np.searchsorted(self._support, ys, side="right")]
        return np.where(np.isnan(ys), np.nan, out)[()]

    def ppf(self, qs: ArrayLike) -> np.ndarray | float:
        r"""Quantile ``Q(p) = max(min{y in support: p <= F(y)}, a)``; ``Q(0) = a``.

        ``qs`` must lie in [0, 1] (up to 1e-10, then clipped); NaN maps to NaN.
        """
        qs = np.asarray(qs, dtype=float)
        if np.any((qs < -1e-10) | (qs > 1 + 1e-10)):
            raise InvalidParameterError(f"qs must lie in [0, 1], got {qs[(qs < 0) | (qs > 1)][:3]}")
        clipped = np.clip(np.nan_to_num(qs, nan=0.0), 0.0, 1.0)
        k = np.searchsorted(self._cdf, clipped, side="left")
        out = np.maximum(self._support[k], self.a)
        return np.where(np.isnan(qs), np.nan, out)[()]

    def sample(
        self,
        size: int | tuple[int, ...] | None = None,
        *,
        generator: np.random.Generator | int | None = None,
    ) -> np.ndarray | float:
        """Draws from the distribution (a bootstrap resample of ``ys`` for the point estimate)."""
        return as_generator(generator).choice(self._support, p=self._pmf, size=size)

    def quantile_tuning_curve(
        self, ns: ArrayLike, q: float = 0.5, minimize: bool = False
    ) -> np.ndarray | float:
        r"""The ``q``-quantile of the best of ``n`` draws, for real ``n > 0``.

        ``ppf(q^(1/n))`` when maximising, ``ppf(1 - (1 - q)^(1/n))`` when minimising
        (Lourie, Cho & He 2024, eq. 3).
        """
        ns = _check_ns(ns)
        if not 0.0 <= q <= 1.0:
            raise InvalidParameterError(f"q must lie in [0, 1], got {q}")
        if _check_minimize(minimize):
            return self.ppf(-np.expm1(np.log1p(-q) / ns) if q < 1 else np.ones_like(ns))
        return self.ppf(q ** (1.0 / ns))

    def average_tuning_curve(self, ns: ArrayLike, minimize: bool = False) -> np.ndarray | float:
        r"""Expected best of ``n`` draws from this distribution, for real ``n > 0``.

        ``sum_m y_m [F(y_m)^n - F(y_(m-1))^n]`` when maximising and
        ``sum_m y_m [(1 - F(y_(m-1)))^n - (1 - F(y_m))^n]`` when minimising, over the support
        points (the V-statistic of Dodge et al. 2019 for integer ``n``).  Terms whose weight is
        zero are dropped, so an infinite score only counts while it has positive probability
        of being the best.
        """
        ns = _check_ns(ns)
        power = ns[..., None]
        if _check_minimize(minimize):
            weights = (1.0 - self._cdf_below[:-1]) ** power - (1.0 - self._cdf) ** power
        else:
            weights = self._cdf**power - self._cdf_below[:-1] ** power
        terms = weights * np.where(weights != 0.0, self._support, 0.0)
        return np.sum(terms, axis=-1)[()]

    @classmethod
    def confidence_bands(
        cls,
        ys: ArrayLike,
        confidence: float = 0.9,
        a: float = -np.inf,
        b: float = np.inf,
        *,
        method: BandMethod = "ld_highest_density",
    ) -> tuple[EmpiricalDistribution, EmpiricalDistribution, EmpiricalDistribution]:
        """Same as :func:`confidence_bands` (opda spells it as a classmethod)."""
        return confidence_bands(ys, confidence, a, b, method=method)


def confidence_bands(
    ys: ArrayLike,
    confidence: float = 0.9,
    a: float = -np.inf,
    b: float = np.inf,
    *,
    method: BandMethod = "ld_highest_density",
) -> tuple[EmpiricalDistribution, EmpiricalDistribution, EmpiricalDistribution]:
    """Simultaneous confidence band for the CDF: ``(lower_cdf, point, upper_cdf)``.

    With probability ``confidence`` (exactly for a continuous ``F``, at least for any ``F``,
    so unlike opda ties do not warn) ``lower_cdf.cdf(y) <= F(y) <= upper_cdf.cdf(y)`` for
    every ``y``.  The lower band
    sits on ``[a, *ys, b]`` and pushes its leftover mass to ``b``; the upper band puts its
    excess on ``a``.  For either direction, ``upper_cdf.quantile_tuning_curve(ns, ...)`` is the
    *lower* tuning-curve band and ``lower_cdf.quantile_tuning_curve(ns, ...)`` the *upper* one.
    Pass real bounds when known: with ``b = inf`` the upper tuning-curve band is infinite from
    the round where ``q^(1/n)`` exceeds the band's largest finite CDF value.

    Parameters
    ----------
    ys : 1-D array of floats
        The scores (``+-inf`` allowed, NaN not).
    confidence : float in (0, 1]
        Simultaneous coverage of the band.
    a, b : float
        Known support bounds, ``a <= min(ys)``, ``b >= max(ys)``.
    method : str
        ``"ld_highest_density"`` (default; Learned-Miller & DeStefano 2008, tightest in the
        tails), ``"ld_equal_tailed"``, ``"ks"`` (exact Kolmogorov-Smirnov band,
        ``scipy.stats.kstwo``) or ``"dkw"`` (Dvoretzky-Kiefer-Wolfowitz-Massart, conservative).
        See :func:`order_statistic_band`.

    Returns
    -------
    lower_cdf, point, upper_cdf : EmpiricalDistribution
        The band's lower and upper CDFs and the empirical distribution of ``ys``.

    Examples
    --------
    >>> ys = np.random.default_rng(0).uniform(size=200)
    >>> lower_cdf, point, upper_cdf = confidence_bands(ys, 0.9, a=0.0, b=1.0)
    >>> grid = np.linspace(0, 1, 1001)  # the true CDF of a uniform is the identity
    >>> bool(np.all((lower_cdf.cdf(grid) <= grid) & (grid <= upper_cdf.cdf(grid))))
    True

    The median tuning curve after 1, 10 and 100 trials, and its band:

    >>> ns = [1, 10, 100]
    >>> low, median, high = (d.quantile_tuning_curve(ns) for d in (upper_cdf, point, lower_cdf))
    >>> np.round(median, 3).tolist()
    [0.56, 0.957, 0.995]
    >>> bool(np.all((low <= median) & (median <= high))), float(high[-1])
    (True, 1.0)
    """
    a, b = _check_bounds(a, b)
    ys = _check_sample(ys, a, b)
    n = ys.size
    lower, upper = _cached_band(n, _check_confidence(confidence), _check_method(method))
    values = np.concatenate([[a], np.sort(ys), [b]])
    lower_cdf = np.concatenate([[0.0], lower, [1.0]])
    upper_cdf = np.concatenate([upper, [1.0, 1.0]])
    return (
        EmpiricalDistribution._from_step_cdf(values, lower_cdf, a, b),
        EmpiricalDistribution(ys, a=a, b=b),
        EmpiricalDistribution._from_step_cdf(values, upper_cdf, a, b),
    )

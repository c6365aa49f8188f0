"""The quadratic and noisy quadratic distributions of the best scores of a random search.

Near the optimum of a smooth objective, random search draws scores from the *quadratic*
distribution ``Q(a, b, c)``: the score of a uniform point in a c-ball of squared radius R^2
is ``a + (b - a) R^2`` (convex form, minimisation: best score a) or ``b - (b - a) R^2``
(concave form, maximisation: best score b), so with ``k = c / 2``

    convex:  F(y) = ((y - a) / (b - a))^k        concave:  F(y) = 1 - ((b - y) / (b - a))^k

on [a, b].  With seed noise the score is ``Q(a, b, c) + N(0, o^2)``, the *noisy quadratic*
distribution (Lourie, He & Cho, "Hyperparameter Loss Surfaces Are Simple Near their
Optima", COLM 2025).  Both classes follow the parameterisation and semantics of opda
0.8.0's ``opda.parametric``, but compute the noisy distribution exactly (no regime
switches): see :mod:`tailstop._moments` for the numerics and their accuracy.

Duality: Y ~ Q_convex(a, b, c, o)  <=>  -Y ~ Q_concave(-b, -a, c, o).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, ndtr, ndtri

from tailstop import _moments, _standard
from tailstop._data import as_generator, integer, real_array
from tailstop._powers import _one_minus_power_half
from tailstop._standard import Frame, to_standard
from tailstop.errors import InvalidParameterError

if TYPE_CHECKING:
    from tailstop._globalsearch import ScreenMemo

__all__ = ["NoisyQuadraticDistribution", "QuadraticDistribution"]

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


# ----------------------------------------------------------------------------------------
# validation


def _finite_scalar(name: str, value) -> float:
    array = np.asarray(value)
    if array.ndim != 0 or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise InvalidParameterError(f"{name} must be a real scalar, got {value!r}.")
    if not np.isfinite(array):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}.")
    return float(array)


_TINY = float(np.finfo(float).tiny)


def _validate(cls, a, b, c, o, convex) -> tuple[float, float, int, float, bool]:
    a = _finite_scalar("a", a)
    b = _finite_scalar("b", b)
    if a > b:
        raise InvalidParameterError(f"a must be at most b, got a={a!r} > b={b!r}.")
    if not np.isfinite(b - a):
        raise InvalidParameterError(
            f"the support's width b - a overflows a float, got a={a!r}, b={b!r}."
        )
    c_value = _finite_scalar("c", c)
    if c_value % 1 != 0:
        raise InvalidParameterError(f"c must be an integer, got {c!r}.")
    if not cls.C_MIN <= c_value <= cls.C_MAX:
        raise InvalidParameterError(f"c must be between {cls.C_MIN} and {cls.C_MAX}, got {c!r}.")
    o = _finite_scalar("o", o)
    if o < 0:
        raise InvalidParameterError(f"o must be non-negative, got {o!r}.")
    if not isinstance(convex, (bool, np.bool_)):
        raise InvalidParameterError(f"convex must be a bool, got {convex!r}.")
    return a, b, int(c_value), o, bool(convex)


def _probabilities(q, name: str = "q", *, allow_nan: bool = False) -> np.ndarray:
    """Probabilities in [0, 1] (within 1e-10, as opda, then clipped); NaN is an error
    unless ``allow_nan`` (then it passes through, as in scipy.stats)."""
    q = real_array(q, name)
    with np.errstate(invalid="ignore"):
        outside = (q < -1e-10) | (q > 1.0 + 1e-10)
    if np.any(outside) or (not allow_nan and np.any(np.isnan(q))):
        raise InvalidParameterError(f"{name} must be between 0 and 1, got {q!r}.")
    return np.clip(q, 0.0, 1.0)


def _counts(ns) -> np.ndarray:
    ns = real_array(ns, "ns")
    if np.any(np.isnan(ns)) or np.any(ns <= 0):
        raise InvalidParameterError(f"ns must be positive, got {ns!r}.")
    return ns


def _sample_size(size) -> int | tuple[int, ...] | None:
    """``None``, a count >= 0, or a shape of counts >= 0."""
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        return tuple(integer(n, "size", 0) for n in size)
    return integer(size, "size", 0)


def _direction(minimize, convex: bool) -> bool:
    minimize = convex if minimize is None else minimize
    if not isinstance(minimize, (bool, np.bool_)):
        raise InvalidParameterError(f"minimize must be a bool or None, got {minimize!r}.")
    return bool(minimize)


# ----------------------------------------------------------------------------------------
# the standard convex noiseless law (X ~ Beta(c/2, 1)); the noisy one is _standard.Standard


class _Noiseless:
    """G(m) = m^k on [0, 1] with the interface of ``_standard.Standard``."""

    def __init__(self, c: int):
        self.c = c
        self.k = 0.5 * c

    def cdf(self, m, *, frame=None):
        return _moments._noiseless(to_standard(np.asarray(m, float), frame), self.c, "cdf")

    def sf(self, m, *, frame=None):
        return _moments._noiseless(to_standard(np.asarray(m, float), frame), self.c, "sf")

    def pdf(self, m, *, frame=None):
        return _moments._noiseless(to_standard(np.asarray(m, float), frame), self.c, "pdf")

    def quantile(self, p, upper=False):
        p, upper = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(upper, bool))
        with np.errstate(divide="ignore"):
            log_g = np.where(upper, np.log1p(-p), np.log(p))
        return np.exp(log_g / self.k)


# ----------------------------------------------------------------------------------------
# shared machinery: the map between y and the standard convex variable m


_FROZEN = frozenset({"a", "b", "c", "o", "convex", "mean", "variance"})


class _Base:
    C_MIN, C_MAX = 1, 10

    a: float
    b: float
    c: int
    o: float
    convex: bool
    # on a fitted law (tailstop.fitting): the global search's screen, for a warm start
    _fit_screen: ScreenMemo | None
    _fit_curvature: tuple | None

    def __setattr__(self, name, value):
        # the parameters are fixed once set up: mean, variance and the cached standard law
        # derive from them (and so do the hash and equality)
        if name in _FROZEN and "_law" in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.{name} cannot be changed: make a new distribution."
            )
        object.__setattr__(self, name, value)

    def _setup(self):
        width = self.b - self.a
        k = 0.5 * self.c
        self.mean = self.a + width * (k / (k + 1.0) if self.convex else 1.0 / (k + 1.0))
        with np.errstate(over="ignore"):  # a support or noise near 1e154+: infinite variance
            spread = np.float64(width) ** 2 * 4.0 * self.c / ((self.c + 2) ** 2 * (self.c + 4))
            self.variance = float(np.float64(self.o) ** 2 + spread)
        if width == 0.0:
            self._kind = "normal" if self.o > 0 else "point"
        else:
            self._kind = "standard"
        self._law = None

    @property
    def _standard(self):
        if self._law is None:
            ratio = self.o / (self.b - self.a)
            # a ratio below the least normal float (subnormal): the noise moves the CDF by
            # less than 4e-308, and its standard form would divide by it
            self._law = (
                _standard.Standard(self.c, ratio) if ratio >= _TINY else _Noiseless(self.c)
            )
        return self._law

    def _frame(self) -> Frame:
        """The map to the standard variable, ``m = sign (y - origin) / (b - a)``
        (:func:`tailstop._standard.to_standard`): (y - a) / (b - a) when convex, (b - y) /
        (b - a) when concave."""
        if self.convex:
            return (self.a, self.b - self.a, 1.0)
        return (self.b, self.b - self.a, -1.0)

    def _from_m(self, m):
        width = self.b - self.a
        return self.a + width * m if self.convex else self.b - width * m

    # -- distribution functions -----------------------------------------------------------

    def pdf(self, y: ArrayLike) -> np.ndarray | np.float64:
        """Probability density at ``y`` (g((y - a) / (b - a)) / (b - a), g the standard one)."""
        y = real_array(y, "y")
        if self._kind == "point":
            return np.where(np.isnan(y), np.nan, np.where(y == self.a, np.inf, 0.0))[()]
        if self._kind == "normal":
            z = (y - self.a) / self.o
            return (np.exp(-0.5 * z * z) * _INV_SQRT_2PI / self.o)[()]
        density = self._standard.pdf(y, frame=self._frame())
        density /= self.b - self.a  # (a new array: the standard law's)
        return density[()]

    def cdf(self, y: ArrayLike) -> np.ndarray | np.float64:
        """P(Y <= y)."""
        return self._cumulative(y, upper=False)

    def sf(self, y: ArrayLike) -> np.ndarray | np.float64:
        """P(Y > y) = 1 - cdf(y), computed without cancellation."""
        return self._cumulative(y, upper=True)

    def _cumulative(self, y, upper: bool):
        y = real_array(y, "y")
        if self._kind == "point":
            step = ((y < self.a) if upper else (y >= self.a)).astype(float)
            return np.where(np.isnan(y), np.nan, step)[()]
        if self._kind == "normal":
            z = (y - self.a) / self.o
            return ndtr(-z if upper else z)[()]
        law, frame = self._standard, self._frame()
        if isinstance(law, _Noiseless) and upper == self.convex:
            return self._far_side(y)
        # convex: F = G(m); concave: F = 1 - G(m)
        return (law.sf(y, frame=frame) if upper == self.convex else law.cdf(y, frame=frame))[()]

    def _far_side(self, y):
        """1 - G(m) of the noiseless law (the convex sf, the concave cdf) from the distance
        to the support's far end, (b - y) / (b - a) or (y - a) / (b - a), exact where
        1 - m, m itself rounded, would cancel (near b when convex, near a when concave)."""
        width = self.b - self.a
        near, far = (y - self.a, self.b - y) if self.convex else (self.b - y, y - self.a)
        x = np.clip(near / width, 0.0, 1.0)
        return _one_minus_power_half(x, np.clip(far / width, 0.0, 1.0), self.c)[()]

    def ppf(self, q: ArrayLike) -> np.ndarray | np.float64:
        """Quantile function: the y with cdf(y) = q (a and b for the noiseless law at 0, 1;
        -inf and +inf with noise; NaN for NaN).  q outside [0, 1] is an error."""
        return self._quantile(_probabilities(q, allow_nan=True), upper=False)

    def isf(self, q: ArrayLike) -> np.ndarray | np.float64:
        """Inverse survival function: the y with sf(y) = q, accurate for tiny q."""
        return self._quantile(_probabilities(q, allow_nan=True), upper=True)

    def _quantile(self, q, upper: bool):
        if self._kind == "point":
            return np.where(np.isnan(q), np.nan, self.a)[()]
        if self._kind == "normal":
            z = ndtri(q)
            return (self.a - self.o * z if upper else self.a + self.o * z)[()]
        # convex: F = G(m), so cdf = q <=> G = q; concave: F = 1 - G(m)
        law, far_side = self._standard, upper == self.convex
        m = law.quantile(q, upper=far_side)
        y = self._from_m(m)
        if isinstance(law, _Noiseless) and far_side:
            # 1 - G(m) = q: the distance from the far end, 1 - m = 1 - (1 - q)^(2/c), is
            # exact where 1 - m would cancel (the far end's quantiles)
            with np.errstate(divide="ignore"):  # q = 1: the near end (gap = b - a)
                gap = -np.expm1(np.log1p(-q) / law.k) * (self.b - self.a)
            y = np.where(gap < 0.5 * (self.b - self.a),
                         self.b - gap if self.convex else self.a + gap, y)
        return y[()]

    def sample(
        self,
        size: int | tuple[int, ...] | None = None,
        *,
        generator: np.random.Generator | int | None = None,
    ) -> np.ndarray | np.float64:
        """Draws by the generative construction: a + (b - a) U^(2/c) (convex) or
        b - (b - a) U^(2/c) (concave), U uniform (the squared radius of a uniform point in
        the unit c-ball), plus N(0, o^2) noise.

        ``generator``: a ``numpy.random.Generator``, an int seed, or None (fresh entropy).
        """
        size = _sample_size(size)
        generator = as_generator(generator)
        radius2 = generator.random(size) ** (2.0 / self.c)
        width = self.b - self.a
        ys = self.a + width * radius2 if self.convex else self.b - width * radius2
        if self.o > 0:
            ys = ys + generator.normal(0.0, self.o, size)
        return np.asarray(ys, dtype=float)[()]

    # -- tuning curves ----------------------------------------------------------------------

    def quantile_tuning_curve(
        self, ns: ArrayLike, q: float = 0.5, minimize: bool | None = None
    ) -> np.ndarray | np.float64:
        """The q-quantile of the best of n draws: ppf(q^(1/n)) when maximising,
        ppf(1 - (1 - q)^(1/n)) when minimising (``minimize=None``: ``convex``); n real > 0."""
        ns = _counts(ns)
        q_array = real_array(q, "q")
        if q_array.ndim != 0:
            raise InvalidParameterError(f"q must be a scalar, got {q_array!r}.")
        q = float(_probabilities(q_array))
        if _direction(minimize, self.convex):
            with np.errstate(divide="ignore"):
                return self._quantile(-np.expm1(np.log1p(-q) / ns), upper=False)
        with np.errstate(divide="ignore"):
            return self._quantile(-np.expm1(np.log(q) / ns), upper=True)

    def average_tuning_curve(
        self, ns: ArrayLike, minimize: bool | None = None
    ) -> np.ndarray | np.float64:
        """E[best of n draws] (``minimize=None``: ``convex``); n real > 0, or inf.

        Closed forms without noise (below); with noise, E[max] = int_0^1 F^-1(u^(1/n)) du
        by tanh-sinh quadrature, which copes with the quantile's logarithmic singularities
        at u = 0 and 1 (error below 1e-8 (b - a + o)).  With noise the best of infinitely
        many draws is unbounded: n = inf gives +inf (maximising) or -inf (minimising).
        """
        ns = _counts(ns)
        minimize = _direction(minimize, self.convex)
        if self._kind == "point":
            return np.full_like(ns, self.a)[()]
        if self.o == 0.0:
            return self._noiseless_average(ns, minimize)
        finite = np.isfinite(ns)
        unbounded = -np.inf if minimize else np.inf
        if not finite.all():
            out = np.full_like(ns, unbounded)
            if finite.any():
                out[finite] = self.average_tuning_curve(ns[finite], minimize)
            return out[()]
        if self._kind == "normal":
            # E[max] = a + o E[max of n standard normals]; E[min] = a - o (the same)
            top = _expected_extreme(ns, lambda p, upper: np.where(upper, -ndtri(p), ndtri(p)), 1.0)
            return (self.a - self.o * top if minimize else self.a + self.o * top)[()]
        law = self._standard
        # the best of n is the max or the min of the standard variable M (to_standard)
        take_max_of_m = minimize != self.convex
        extreme = _expected_extreme(ns, law.quantile, 1.0 + law.s, largest=take_max_of_m)
        return self._from_m(extreme)[()]

    def _noiseless_average(self, ns, minimize: bool):
        """E[min X] and E[max X] over n draws of X ~ Beta(k, 1), k = c / 2 (the standard
        convex variable):

            E[max] = n / (n + 1/k),
            E[min] = n B(n, 1 + 1/k) = (1/k) B(n + 1, 1/k),

        the second through ``betaln``, which stays accurate where the ratio of gamma
        functions cancels (n >~ 1e8; opda's loggamma form loses all digits by n ~ 1e16).
        """
        c, width = self.c, self.b - self.a
        with np.errstate(divide="ignore"):
            expected_min = (2.0 / c) * np.exp(betaln(ns + 1.0, 2.0 / c))
        # the best of n near the far end: from that end, 1 - E[max] = 1 / (1 + c n / 2)
        max_gap = 1.0 / (1.0 + 0.5 * c * ns)
        if self.convex:
            value = self.a + width * expected_min if minimize else self.b - width * max_gap
        else:
            value = self.a + width * max_gap if minimize else self.b - width * expected_min
        return value[()]

    # -- equality -------------------------------------------------------------------------------

    def _key(self):
        return (type(self).__name__, self.a, self.b, self.c, self.o, self.convex)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self):
        return hash(self._key())


# ----------------------------------------------------------------------------------------
# E[max] / E[min] of n draws from a quantile function, by tanh-sinh quadrature

_TANH_SINH_REACH = 4.5  # |t| range: weights beyond are below 1e-70
_TANH_SINH_LEVELS = 8  # step halvings from h = 1/2


def _expected_extreme(ns, quantile, scale: float, largest: bool = True, tolerance=1e-9):
    """E[max] (or E[min]) of n draws: int_0^1 Q(u^(1/n)) du (Q of 1 - u^(1/n) for the min).

    ``quantile(p, upper)`` solves G(m) = p (upper False) or 1 - G(m) = p (upper True) for
    arrays.  The substitution u = (1 + tanh(pi/2 sinh t)) / 2 clusters the nodes double
    exponentially at both ends, where Q(u^(1/n)) has logarithmic singularities; the step is
    halved until two successive sums agree to ``tolerance * scale``.
    """
    ns = np.asarray(ns, dtype=float)
    shape = ns.shape
    ns = ns.ravel()
    total = np.zeros(ns.size)
    previous = None
    h = 0.5
    for level in range(_TANH_SINH_LEVELS):
        if level == 0:
            t = np.arange(-_TANH_SINH_REACH, _TANH_SINH_REACH + h / 2, h)
        else:
            h /= 2.0
            t = np.arange(-_TANH_SINH_REACH + h, _TANH_SINH_REACH, 2.0 * h)
        total = (0.5 if level else 1.0) * total + h * _tanh_sinh_sum(t, ns, quantile, largest)
        if previous is not None and np.all(np.abs(total - previous) <= tolerance * scale):
            break
        previous = total.copy()
    return total.reshape(shape)


def _tanh_sinh_sum(t, ns, quantile, largest: bool):
    """sum_t w(t) Q(u(t)^(1/n)) for the nodes t (unscaled by the step)."""
    sinh = 0.5 * np.pi * np.sinh(t)
    log_u = -np.logaddexp(0.0, -2.0 * sinh)  # u = 1 / (1 + exp(-2 sinh))
    weight = 0.5 * np.pi * np.cosh(t) * 0.5 / np.cosh(sinh) ** 2
    # the max of n is Q(v) with v = u^(1/n); the min is Q_upper(v): the m with 1 - G = v
    log_v = log_u[:, None] / ns[None, :]
    one_minus_v = -np.expm1(log_v)
    v = np.exp(log_v)
    if not largest:
        v, one_minus_v = one_minus_v, v
    # Q(v) from the accurate side: lower quantile for v <= 1/2, upper one otherwise
    upper = v > 0.5
    # past n ~ 1e280 the level underflows at nodes of negligible weight (< 1e-60), where
    # a zero would give an infinite quantile
    level = np.maximum(np.where(upper, one_minus_v, v), _TINY)
    values = quantile(level, upper)
    return (weight[:, None] * values).sum(axis=0)


# ----------------------------------------------------------------------------------------
# the public classes


class QuadraticDistribution(_Base):
    """The quadratic distribution Q(a, b, c) (``convex``: minimisation form, best score a;
    concave: maximisation form, best score b).

    Parameters
    ----------
    a, b : finite floats, a <= b
        The ends of the support (a == b: a point mass).
    c : int in [C_MIN, C_MAX] = [1, 10]
        The effective number of hyperparameters (floats with c % 1 == 0 accepted).
    convex : bool
        True for the minimisation form (a loss: the best score is ``a``), False for the
        maximisation form (an accuracy: the best score is ``b``).

    Attributes ``mean`` = a + (b - a) c / (c + 2) (convex) or a + (b - a) 2 / (c + 2)
    (concave), ``variance`` = (b - a)^2 4c / ((c + 2)^2 (c + 4)).  The parameters are
    fixed once set: make a new distribution to change them.

    Examples
    --------
    >>> law = QuadraticDistribution(a=0.6, b=0.8, c=2)  # c = 2: uniform on [a, b]
    >>> law.mean, round(law.variance, 6), round(float(law.cdf(0.7)), 6)
    (0.7, 0.003333, 0.5)
    >>> np.round(law.quantile_tuning_curve([1, 10, 100]), 4).tolist()  # median best of n
    [0.7, 0.7866, 0.7986]
    >>> loss = QuadraticDistribution(a=0.6, b=0.8, c=4, convex=True)
    >>> np.round(loss.quantile_tuning_curve([1, 10, 100]), 4).tolist()  # goes down to a
    [0.7414, 0.6518, 0.6166]
    """

    def __init__(self, a: float, b: float, c: int, convex: bool = False):
        self.a, self.b, self.c, self.o, self.convex = _validate(type(self), a, b, c, 0.0, convex)
        self._setup()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(a={self.a!r}, b={self.b!r}, c={self.c!r},"
            f" convex={self.convex!r})"
        )

    def _key(self):
        return (type(self).__name__, self.a, self.b, self.c, self.convex)

    @classmethod
    def fit(
        cls, ys, limits=(-np.inf, np.inf), constraints=None, *, generator=None, warm_start=None
    ):
        """Fit by censored maximum product of spacings (see :mod:`tailstop.fitting`).

        Observations outside ``limits = (lower, upper]`` are censored (only counted);
        ``constraints`` fix (a scalar) or bound (a pair) ``a``, ``b``, ``c``, and ``convex``
        (a bool or a list of bools).
        """
        from tailstop.fitting import fit_quadratic

        return fit_quadratic(ys, limits, constraints, generator=generator, warm_start=warm_start)


class NoisyQuadraticDistribution(_Base):
    """The noisy quadratic distribution Q(a, b, c) + N(0, o^2).

    Parameters as :class:`QuadraticDistribution`, plus ``o >= 0``, the standard deviation
    of the noise.  o = 0 gives the quadratic distribution, a == b with o > 0 exactly
    Normal(a, o^2).  ``variance`` = o^2 + (b - a)^2 4c / ((c + 2)^2 (c + 4)).

    The distribution functions are exact to ~1e-12 (relative, including the tails) for
    every noise ratio o / (b - a); see :mod:`tailstop._moments`.  The parameters are fixed once
    set: make a new distribution to change them.

    Examples
    --------
    >>> law = NoisyQuadraticDistribution(a=0.60, b=0.72, c=2, o=0.005)
    >>> round(float(law.cdf(0.72)), 3)            # c = 2: uniform on [a, b], plus noise
    0.983
    >>> bool(law.ppf(0.5) < law.quantile_tuning_curve(10) < 0.72)
    True
    >>> fit = NoisyQuadraticDistribution.fit(law.sample(500, generator=0),
    ...                                      limits=(0.66, float("inf")),
    ...                                      constraints={"convex": False})
    >>> abs(fit.b - 0.72) < 0.01, fit.c
    (True, 2)
    """

    def __init__(self, a: float, b: float, c: int, o: float, convex: bool = False):
        self.a, self.b, self.c, self.o, self.convex = _validate(type(self), a, b, c, o, convex)
        self._setup()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(a={self.a!r}, b={self.b!r}, c={self.c!r},"
            f" o={self.o!r}, convex={self.convex!r})"
        )

    @classmethod
    def fit(
        cls, ys, limits=(-np.inf, np.inf), constraints=None, *, generator=None, warm_start=None
    ):
        """Fit by censored maximum product of spacings (see :mod:`tailstop.fitting`).

        Observations outside ``limits = (lower, upper]`` are censored (only counted);
        ``constraints`` fix (a scalar) or bound (a pair) ``a``, ``b``, ``c``, ``o``, and
        ``convex`` (a bool or a list of bools).
        """
        from tailstop.fitting import fit_noisy_quadratic

        return fit_noisy_quadratic(
            ys, limits, constraints, generator=generator, warm_start=warm_start
        )

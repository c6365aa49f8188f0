"""The censored maximum-product-of-spacings objective (private).

The fit maximises the grouped-data spacing log-likelihood of Cheng & Amin (1983) and
Ranneby (1984), in the grouped form of Titterington (1985) that handles ties and censoring,
scaled as Ekström's (2008) M_T2 so that it stays O(1) across sample sizes.  The buckets are
built exactly as in opda 0.8.0's ``fit`` (``parametric.py``):

* round the data to ``-trunc(log10(max spacing(observed))) - 3`` decimals and merge ties;
* break points ``z_0 < z_1 < ... < z_L``: the lower end of the support, the lower censoring
  limit (if anything is censored there), the observations, the upper limit (likewise), the
  upper end of the support (``-inf``/``+inf``, or ``a``'s lowest and ``b``'s highest allowed
  values when the noise is fixed to zero);
* bucket ``(z_{l-1}, z_l]`` counts the observations equal to ``z_l``; the lowest bucket holds
  the ``n_lower`` left-censored observations; the top bucket holds the ``n_upper``
  right-censored ones plus the extra spacing's pseudo-observation, so counts add to ``n + 1``.

With ``F`` the model CDF and ``k_l`` the counts, the loss (lower is better) is::

    L = -(1 / (n + 1)) sum_{l: k_l > 0} k_l log((F(z_l) - F(z_{l-1})) (n + 1) / k_l)

(an estimate of a Kullback-Leibler divergence; 0 when every bucket gets probability
``k_l / (n + 1)``).  Any CDF non-monotonicity would be repaired by sorting, as opda does.

The model CDF is tailstop's exact noisy quadratic (``tailstop._moments``; the noiseless
closed form when ``o = 0``, exactly normal when ``a = b``).  opda instead switches to the
noiseless formula below ``o = 1e-6 (b - a)`` and to a moment-matched normal above
``o = 10 (b - a)``, and its CDF carries approximation errors up to ~1e-5, so its own loss
values differ slightly; comparisons score both fits with this objective.  Spacings are
differences of ``G`` (the standard convex CDF) on the side where it is small, so no spacing
suffers cancellation.

Besides the objective: the search coordinates (:class:`SearchCoordinates`) and the table of the
standard CDF that ranks starting points (:class:`StandardCdfTable`); the Newton steps that
minimise the loss are in :mod:`tailstop._newton`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from tailstop import _moments
from tailstop.errors import ConstraintError


def rounding_decimals(ys_observed: np.ndarray) -> int:
    """Decimals kept when grouping: three fewer than the coarsest float precision (opda)."""
    finfo = np.finfo(ys_observed.dtype)
    return int(
        -np.clip(
            np.log10(np.max(np.abs(np.spacing(ys_observed)))),
            np.log10(finfo.smallest_normal),
            np.log10(finfo.max),
        ).astype(int)
        - 3
    )


class SpacingObjective:
    """Prepared buckets of a censored spacing fit and the batched loss over them.

    Parameters
    ----------
    ys : array of floats
        All observations (censored ones included; NaN-free, already validated).
    limits : (lower, upper)
        The left-open interval ``(lower, upper]`` outside which observations are censored.
    support : (lo, hi)
        The ends of the support used as outer break points: ``(-inf, inf)`` when the noise may
        be positive, else the lowest allowed ``a`` and the highest allowed ``b``.
    """

    def __init__(self, ys, limits=(-np.inf, np.inf), support=(-np.inf, np.inf)):
        ys = np.asarray(ys)
        if np.issubdtype(ys.dtype, np.integer):
            ys = ys.astype(float)
        lower, upper = float(limits[0]), float(limits[1])
        n = len(ys)
        n_lower = int(np.sum(ys <= lower))
        n_upper = int(np.sum(ys > upper))
        observed = ys[(lower < ys) & (ys <= upper)]
        decimals = rounding_decimals(observed)
        zs, ks = np.unique(
            np.round(
                np.concatenate(
                    [
                        [support[0]],
                        [lower] if n_lower > 0 else [],
                        observed,
                        [upper] if n_upper > 0 else [],
                        [support[1]],
                    ]
                ),
                decimals=decimals,
            ),
            return_counts=True,
        )
        ks = ks[1:].astype(float)
        if n_lower > 0:
            ks[0] = n_lower
        if n_upper > 0:
            ks[-2] -= 1
            ks[-1] = n_upper + 1
        self._set(zs, ks, n)
        self.n_lower, self.n_upper = n_lower, n_upper

    def _set(self, zs: np.ndarray, ks: np.ndarray, n: int) -> None:
        self.zs, self.ks, self.n = zs, ks, n
        self.finite = np.isfinite(zs)
        self.z_finite = zs[self.finite]
        self.first = int(zs.size > 0 and not self.finite[0])
        self.last = int(zs.size > 1 and not self.finite[-1])
        self.n_infinite = self.first + self.last
        self.positive = ks > 0
        self.all_positive = bool(self.positive.all())
        self.weights = ks[self.positive] / (n + 1)
        self.constant = float(np.sum(self.weights * np.log((n + 1) / ks[self.positive])))

    @property
    def n_points(self) -> int:
        """Number of finite break points: the CDF evaluations per parameter set."""
        return int(self.finite.sum())

    def coarsened(self, max_buckets: int, keep: int = 12, sides=(False,), full_buckets: int = 64):
        """A copy whose interior buckets are merged into at most ``max_buckets`` groups.

        The grouped objective is a smooth approximation of the full one (fewer CDF evaluations
        per parameter set).  The ``keep`` buckets nearest the best score of each form in
        ``sides`` (the top for ``False``, concave; the bottom for ``True``, convex), the
        censored buckets and the pseudo-observation's bucket stay as they are: they carry the
        information on the best score, the noise and the tail mass.  Losses of different
        groupings are not comparable: fit both forms on one grouping keeping both ends.
        """
        n_buckets = len(self.ks)
        if n_buckets <= max(max_buckets, full_buckets):
            return self
        # Bucket l ends at zs[l + 1]; the first and last buckets always end a group.
        ends = np.zeros(n_buckets, dtype=bool)
        ends[[0, -1, -2]] = True
        if True in sides:
            ends[: keep + 1] = True
        if False in sides:
            ends[-keep - 2 :] = True
        free = ~ends
        budget = max(max_buckets - int(ends.sum()), 1)
        cumulative = np.cumsum(np.where(free, self.ks, 0.0))
        total = cumulative[-1]
        if total > 0:
            group = np.floor(cumulative / total * budget * (1 - 1e-12)).astype(int)
            boundary = np.append(group[1:] != group[:-1], True)
            ends |= free & boundary
        last = np.flatnonzero(ends)  # each group's last bucket
        ks = np.add.reduceat(self.ks, np.concatenate(([0], last[:-1] + 1)))
        zs = np.concatenate((self.zs[:1], self.zs[last + 1]))
        copy = object.__new__(SpacingObjective)
        copy._set(zs, ks, self.n)
        copy.n_lower, copy.n_upper = self.n_lower, self.n_upper
        return copy

    def loss(self, a, b, c, o, convex: bool) -> np.ndarray:
        """The loss for parameter sets ``(a_k, b_k, c, o_k)``, batched over ``k``.

        ``a``, ``b``, ``o`` broadcast to one dimension (K,), and ``c`` is an integer or an
        integer array of shape (K,); returns shape (K,).  Invalid sets
        (``a > b``, ``o < 0``, non-finite) and sets giving some observed bucket zero probability
        have loss ``+inf``.
        """
        a, b, o = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (a, b, o))
        if not a.shape == b.shape == o.shape:
            a, b, o = (np.ascontiguousarray(x) for x in np.broadcast_arrays(a, b, o))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._value(self._spacings(a, b, c, o, convex))

    def _value(self, spacings: np.ndarray) -> np.ndarray:
        if not self.all_positive:
            spacings = spacings[:, self.positive]
        value = -(np.log(spacings) @ self.weights) - self.constant
        value[~(value < np.inf)] = np.inf  # NaN (invalid sets) and log(0) alike
        return value

    def spacings(self, a, b, c: int, o, convex: bool) -> np.ndarray:
        """Bucket probabilities ``F(z_l) - F(z_{l-1})``, shape (K, L); NaN for invalid sets."""
        a, b, o = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, float)) for x in (a, b, o)))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._spacings(a, b, c, o, convex)

    def _spacings(self, a, b, c, o, convex: bool) -> np.ndarray:
        width = b - a
        valid = (width >= 0) & (o >= 0) & np.isfinite(width + o)
        z = self.z_finite
        column = c[:, None] if np.ndim(c) else c  # one c per parameter set (row)
        if valid.all() and (width > 0).all():  # the common case: no degenerate rows
            if (o == 0).all():
                Gf = self._noiseless(a, b, width, column, convex)
            else:
                u = self.standardised(a, b, convex)
                Gf = _moments.std_cdf(u, column, (o / width)[:, None])
        else:
            Gf = np.full((a.size, z.size), np.nan)
            regular = valid & (width > 0)
            if regular.any():
                u = self.standardised(a[regular], b[regular], convex)
                of_regular = column[regular] if np.ndim(c) else c
                Gf[regular] = _moments.std_cdf(
                    u, of_regular, (o[regular] / width[regular])[:, None]
                )
            normal = valid & (width == 0) & (o > 0)  # a == b: exactly Normal(a, o^2)
            if normal.any():
                t = (z - a[normal, None]) / o[normal, None]
                Gf[normal] = ndtr(t if convex else -t)
            point_mass = valid & (width == 0) & (o == 0)
            if point_mass.any():
                at = a[point_mass, None]
                Gf[point_mass] = (z >= at) if convex else (z < at)
        spacings = self._assemble(Gf, convex)
        if not valid.all():
            spacings[~valid] = np.nan
        return spacings

    def loss_from_standard(self, Gf: np.ndarray, convex: bool) -> np.ndarray:
        """The loss given G (the standard convex CDF) at the standardised finite break points:
        ``(z - a) / (b - a)`` (convex) or ``(b - z) / (b - a)`` (concave), shape (K, points).

        Lets the caller supply G from elsewhere, e.g. interpolated in a table.
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            spacings = self._assemble(Gf, convex)
            if not self.all_positive:
                spacings = spacings[:, self.positive]
            value = -(np.log(spacings) @ self.weights) - self.constant
        value[~(value < np.inf)] = np.inf
        return value

    def standardised(self, a, b, convex: bool) -> np.ndarray:
        """The finite break points standardised for each (a, b): shape (K, points)."""
        z, width = self.z_finite, (b - a)[:, None]
        return (z - a[:, None]) / width if convex else (b[:, None] - z) / width

    def _assemble(self, Gf: np.ndarray, convex: bool) -> np.ndarray:
        # G at every break point, oriented so that the spacings are G[l] - G[l-1] (convex)
        # or G[l-1] - G[l] (concave); the infinite ends have G = 0 or 1.
        K, z = Gf.shape[0], self.z_finite
        if self.n_infinite:
            G = np.empty((K, self.zs.size))
            G[:, self.first : self.first + z.size] = Gf
            if self.first:
                G[:, 0] = 0.0 if convex else 1.0
            if self.last:
                G[:, -1] = 1.0 if convex else 0.0
        else:
            G = Gf
        spacings = G[:, 1:] - G[:, :-1] if convex else G[:, :-1] - G[:, 1:]
        if (spacings < 0).any():
            # opda sorts the CDF values to repair tiny non-monotonicity of the approximation.
            G = np.sort(G, axis=1) if convex else -np.sort(-G, axis=1)
            spacings = G[:, 1:] - G[:, :-1] if convex else G[:, :-1] - G[:, 1:]
        return spacings

    def _noiseless(self, a, b, width, c, convex: bool) -> np.ndarray:
        u = np.clip(self.standardised(a, b, convex), 0.0, 1.0)
        return u if np.ndim(c) == 0 and c == 2 else u ** (0.5 * c)


def losses(sets: list, convex: bool) -> list:
    """:meth:`SpacingObjective.loss` of each ``(objective, a, b, c, o)`` of ``sets`` (of the
    same form), with one kernel call for the noisy parameter sets of all objectives (the
    kernel's cost is mostly per call on small data: the fits of several tails in lock step
    evaluate theirs together). ``c`` an integer array of shape (K,) like ``a``."""
    out: list = [None] * len(sets)
    merged = []  # (index, objective, G's shape) of the sets taking the common path
    m, cs, ss = [], [], []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i, (objective, a, b, c, o) in enumerate(sets):
            width = b - a
            common = (
                np.isfinite(width + o).all() and (width > 0).all() and (o >= 0).all()
                and not (o == 0).all()
            )
            if not common:
                out[i] = objective.loss(a, b, c, o, convex)
                continue
            u = objective.standardised(a, b, convex)
            merged.append((i, objective, u.shape))
            m.append(u.ravel())
            cs.append(np.repeat(c, u.shape[1]))
            ss.append(np.repeat(o / width, u.shape[1]))
        if not merged:
            return out
        G = _moments.std_cdf(np.concatenate(m), np.concatenate(cs), np.concatenate(ss))
        start = 0
        for i, objective, shape in merged:
            size = shape[0] * shape[1]
            Gf = G[start : start + size].reshape(shape)
            start += size
            out[i] = objective._value(objective._assemble(Gf, convex))
    return out


class SearchCoordinates:
    """The search coordinates for one value of ``convex`` and the map back to ``(a, b, o)``.

    ``x = ((best - anchor) / R, log(width / R), log(o / R))``, keeping only the free ones:
    ``best`` is ``b`` (concave) or ``a`` (convex), ``width = b - a``, ``R`` the spread of the
    data and ``anchor`` their best end.  In these coordinates the loss is far better
    conditioned than in ``(a, b, o)``: under censoring, the width only sets the mass left in
    the tail, nearly independently of the best score and the noise.  Box bounds: the given
    ones for ``a``, ``b``, ``o``; when both ends are free, the box of the far ("mass") end is
    kept by clipping it plus a quadratic penalty on the distance outside.
    """

    PENALTY = 10.0
    NOISE_FLOOR = 1e-12  # o / R below this is the noiseless limit for every feasible width
    WIDTH_FLOOR = 1e-9

    def __init__(self, convex: bool, a_bounds, b_bounds, o_bounds, anchor: float, scale: float):
        self.convex = convex
        self.scale = R = scale
        self.anchor = anchor
        self.sign = 1.0 if convex else -1.0  # mass end = best + sign * width
        best_bounds, mass_bounds = (a_bounds, b_bounds) if convex else (b_bounds, a_bounds)
        self.best_bounds, self.mass_bounds, self.o_bounds = best_bounds, mass_bounds, o_bounds
        self.best_fixed = best_bounds[0] == best_bounds[1]
        self.mass_fixed = mass_bounds[0] == mass_bounds[1]
        self.o_fixed = o_bounds[0] == o_bounds[1]
        lo, hi, self.names = [], [], []
        infeasible = ConstraintError("the constraints put a above b: no distribution obeys them.")
        if not self.best_fixed:
            b_lo, b_hi = best_bounds
            if self.mass_fixed:  # the best end stays on its side of the fixed mass end
                if convex:
                    b_hi = min(b_hi, mass_bounds[0])
                else:
                    b_lo = max(b_lo, mass_bounds[0])
                if b_lo > b_hi:
                    raise infeasible
            self.names.append("best")
            lo.append((b_lo - anchor) / R)
            hi.append((b_hi - anchor) / R)
        if not self.mass_fixed:
            if self.best_fixed:
                best = best_bounds[0]
                distances = [self.sign * (m - best) for m in mass_bounds]
                if max(distances) < 0:
                    raise infeasible
                w_lo, w_hi = max(min(distances), 0.0), max(distances)
            else:
                w_lo = max(0.0, b_bounds[0] - a_bounds[1])
                w_hi = b_bounds[1] - a_bounds[0]
            self.names.append("width")
            lo.append(math.log(max(w_lo, self.WIDTH_FLOOR * R) / R))
            hi.append(math.log(max(w_hi, 2 * self.WIDTH_FLOOR * R) / R))
        if not self.o_fixed:
            self.names.append("noise")
            lo.append(math.log(max(o_bounds[0], self.NOISE_FLOOR * R) / R))
            hi.append(math.log(max(o_bounds[1], 2 * self.NOISE_FLOOR * R) / R))
        self.lower, self.upper = np.array(lo), np.array(hi)

    @property
    def dimension(self) -> int:
        return len(self.names)

    def to_params(self, X: np.ndarray):
        """(a, b, o, penalty) for the rows of X, shape (K, dimension)."""
        K = X.shape[0]
        R, cols = self.scale, iter(range(X.shape[1]))
        if self.best_fixed:
            best = np.full(K, self.best_bounds[0])
        else:
            best = self.anchor + R * X[:, next(cols)]
        penalty = 0.0
        if self.mass_fixed:
            mass = np.full(K, self.mass_bounds[0])
        else:
            raw = best + self.sign * R * np.exp(X[:, next(cols)])
            mass = np.minimum(np.maximum(raw, self.mass_bounds[0]), self.mass_bounds[1])
            penalty = self.PENALTY * ((raw - mass) / R) ** 2
        o = np.full(K, self.o_bounds[0]) if self.o_fixed else R * np.exp(X[:, next(cols)])
        a, b = (best, mass) if self.convex else (mass, best)
        return a, b, o, penalty

    def from_params(self, a, b, o) -> np.ndarray:
        """Coordinates of parameter sets, clipped to the box (shape (K, dimension))."""
        a, b, o = np.broadcast_arrays(*(np.atleast_1d(np.asarray(x, float)) for x in (a, b, o)))
        best, mass = (a, b) if self.convex else (b, a)
        R, columns = self.scale, []
        if self.best_fixed:
            best = np.full_like(best, self.best_bounds[0])
        else:
            columns.append((best - self.anchor) / R)
        with np.errstate(divide="ignore", invalid="ignore"):
            if not self.mass_fixed:
                columns.append(np.log(np.maximum(self.sign * (mass - best), 0.0) / R))
            if not self.o_fixed:
                columns.append(np.log(np.maximum(o, 0.0) / R))
        X = np.stack(columns, axis=-1) if columns else np.zeros((a.size, 0))
        X = np.where(np.isnan(X), self.lower, X)
        return np.clip(X, self.lower, self.upper)

    def loss(self, objective: SpacingObjective, c, X: np.ndarray) -> np.ndarray:
        """The loss at the rows of X (``c``: an integer, or one per row)."""
        a, b, o, penalty = self.to_params(X)
        return objective.loss(a, b, c, o, self.convex) + penalty


class StandardCdfTable:
    """log G(m; c, s) of the standard convex form tabulated for every c and some noise ratios.

    Data-independent (built once, one kernel call per c): for each c in ``cs`` and s in
    ``noise_ratios`` a row holding G on the noiseless quantiles ``q^(2/c)`` of the
    probabilities ``probabilities``, widened by 8 s on both sides.  Linear interpolation of
    log G in it ranks starting points and inverts G for plotting positions; rows of any
    (c, s) are interpolated together (the rows' abscissae are shifted apart and concatenated,
    so one ``searchsorted`` serves them all).
    """

    def __init__(self, cs, noise_ratios, probabilities):
        self.cs = list(cs)
        self.noise_ratios = np.asarray(noise_ratios, dtype=float)
        s = self.noise_ratios[:, None]
        grids, logs = [], []
        for c in self.cs:
            grid = np.concatenate(
                [
                    np.broadcast_to(probabilities ** (2.0 / c), (s.shape[0], probabilities.size)),
                    -s * np.linspace(8, 0, 16, endpoint=False),
                    1 + s * np.linspace(0, 8, 17)[1:],
                ],
                axis=1,
            )
            grid.sort(axis=1)
            G = np.maximum.accumulate(_moments.std_cdf(grid, c, s), axis=1)
            grids.append(grid)
            logs.append(np.log(np.maximum(G, np.finfo(float).tiny)))
        self._row_of_c = np.full(max(self.cs) + 1, -1, dtype=np.intp)  # -1: not tabulated
        self._row_of_c[self.cs] = np.arange(len(self.cs))
        self.m = np.concatenate(grids)  # (tables, points)
        self.log_G = np.concatenate(logs)
        K, M = self.m.shape
        self.width = M
        self._m_offset = 4.0 * (1 + 8 * self.noise_ratios.max()) * np.arange(K)
        self._m_cat = (self.m + self._m_offset[:, None]).ravel()
        self._g_cat = self.log_G.ravel()
        # For the inverse the abscissa log G must increase strictly: add a negligible ramp.
        increasing = self.log_G + 1e-9 * np.arange(M)
        self._l_offset = (np.abs(self.log_G).max() + 1.0) * 2.0 * np.arange(K)
        self._l_cat = (increasing + self._l_offset[:, None]).ravel()
        self._m_range = (self.m[:, 0], self.m[:, -1])
        self._l_range = (increasing[:, 0], increasing[:, -1])

    def index(self, c, noise_index):
        """Row of the table of (c, noise_ratios[noise_index]) (arrays broadcast)."""
        c = np.asarray(c, dtype=np.intp)
        known = (c >= 0) & (c < self._row_of_c.size)
        rows = np.where(known, self._row_of_c[np.where(known, c, 0)], -1)
        if (rows < 0).any():
            raise KeyError(f"c not tabulated: {np.unique(c[rows < 0]).tolist()}")
        return rows * self.noise_ratios.size + noise_index

    def log_cdf(self, rows, m):
        """log G at m (shape (R, L)) from the tables ``rows`` (shape (R,))."""
        return self._interpolate(m, rows, self._m_cat, self._g_cat, self._m_offset, self._m_range)

    def quantile(self, rows, log_p):
        """m with log G(m) = log_p (shape (R, L)) from the tables ``rows``."""
        return self._interpolate(
            log_p, rows, self._l_cat, self.m.ravel(), self._l_offset, self._l_range
        )

    def _interpolate(self, x, rows, xp, fp, offset, ranges):
        lo, hi = ranges[0][rows, None], ranges[1][rows, None]
        xq = np.minimum(np.maximum(x, lo), hi) + offset[rows, None]
        start = (rows * self.width)[:, None]
        j = np.clip(np.searchsorted(xp, xq), start + 1, start + self.width - 1)
        x0, x1 = xp[j - 1], xp[j]
        t = (xq - x0) / np.maximum(x1 - x0, 1e-300)
        return fp[j - 1] + t * (fp[j] - fp[j - 1])

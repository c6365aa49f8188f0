"""Validated inputs of a fit (private): the data, the constraints and opda's search box.

Split out of :mod:`tailstop.fitting`; the searches are in :mod:`tailstop._globalsearch` and
:mod:`tailstop._localsearch`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaincinv, ndtri

from tailstop._data import real_array
from tailstop._spacing import (
    SearchCoordinates,
    SpacingObjective,
)
from tailstop.errors import (
    ConstraintError,
    InvalidDataError,
    InvalidParameterError,
    NotEnoughTrials,
)

C_MIN, C_MAX = 1, 10
MIN_OBSERVATIONS = 3
SCREEN_BUCKETS, COARSE_BUCKETS = 24, 48
FULL_BUCKETS = 64  # objectives with at most this many buckets are refined as they are
# Offsets of the plotting positions of the extreme order statistics, as (lowest, highest)
# pairs of shifts of the Beta laws' probabilities from 0.5.
_PLOTTING_PAIRS = ((0.0, 0.0), (-0.25, -0.25), (0.25, 0.25), (-0.25, 0.25), (0.25, -0.25))

# ---------------------------------------------------------------------------------------
# Validation


def _validate_data(ys: Any, limits: Any) -> tuple[np.ndarray, float, float]:
    """A float copy of ys and the limits, or the error that names what is wrong."""
    try:
        array = np.array(ys)
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidDataError(f"ys must be a 1-D array of numbers: {error}") from error
    if array.ndim != 1:
        raise InvalidDataError(f"ys must be a 1-D array, got {array.ndim} dimensions.")
    if array.dtype.kind not in "biuf":
        raise InvalidDataError(f"ys must hold real numbers, got dtype {array.dtype}.")
    if array.dtype.kind != "f":  # floats keep their precision: it sets the rounding
        array = array.astype(float)
    if len(array) < MIN_OBSERVATIONS:
        raise NotEnoughTrials(
            f"the fit needs at least {MIN_OBSERVATIONS} observations, got {len(array)}."
        )
    try:
        lower, upper = (float(x) for x in limits)
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidDataError(f"limits must be a pair of numbers, got {limits!r}.") from error
    if math.isnan(lower) or math.isnan(upper) or not lower < upper:
        raise InvalidDataError(
            f"limits must be a proper left-open interval (lower < upper), got {limits!r}."
        )
    nan = np.isnan(array)
    if nan.any():
        raise InvalidDataError(f"ys contains NaN (first at index {int(np.argmax(nan))}).")
    uncensored = (array > lower) & (array <= upper)
    # -inf <= lower = -inf counts as censored, but no finite limit censors it (as in opda).
    if (
        np.isinf(array[uncensored]).any()
        or (lower == -np.inf and np.isneginf(array).any())
        or (upper == np.inf and np.isposinf(array).any())
    ):
        raise InvalidDataError(
            "ys contains an infinite value that limits do not censor; pass finite limits "
            "to censor diverged trials."
        )
    if not uncensored.any():
        raise InvalidDataError(
            f"all {len(array)} observations fall outside limits {limits!r}; at least one "
            "must be uncensored."
        )
    return array, lower, upper


def _parse_constraints(constraints: Mapping | None, names: tuple[str, ...]):
    """(fixed values, closed ranges, the c values, the convex values) of the constraints."""
    if constraints is not None and not isinstance(constraints, Mapping):
        raise ConstraintError(
            f"constraints must be a mapping such as {{'c': 2, 'o': (0, 0.1)}}, got {constraints!r}."
        )
    constraints = dict(constraints) if constraints is not None else {}
    fixed: dict[str, float] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for name, value in constraints.items():
        if name == "convex":
            continue
        if name not in names:
            raise ConstraintError(
                f"unknown constraint key {name!r}; allowed: {', '.join((*names, 'convex'))}."
            )
        try:
            array = np.array(real_array(value, name))
        except InvalidParameterError as error:  # (a string, a bool, None, a ragged nesting)
            raise ConstraintError(
                f"the constraint for {name} must be a number or a pair, got {value!r}."
            ) from error
        if array.shape not in {(), (2,)}:
            raise ConstraintError(
                f"the constraint for {name} must be a number or a pair, got {value!r}."
            )
        if np.isnan(array).any():
            raise ConstraintError(f"the constraint for {name} contains NaN: {value!r}.")
        if array.shape == (2,) and array[0] > array[1]:
            raise ConstraintError(
                f"the constraint for {name} has its lower bound above its upper bound: {value!r}."
            )
        if name == "c":
            _check_c(array, value)
        if name == "o" and np.any(array < 0):
            raise ConstraintError(f"the constraint for o must be non-negative, got {value!r}.")
        if array.shape == ():
            fixed[name] = float(array)
        else:
            ranges[name] = (float(array[0]), float(array[1]))
    if "c" in fixed:
        cs = [int(fixed["c"])]
    else:
        c_lo, c_hi = ranges.get("c", (C_MIN, C_MAX))
        cs = list(range(max(C_MIN, int(c_lo)), min(C_MAX, int(c_hi)) + 1))
    return fixed, ranges, cs, _parse_convex(constraints.get("convex", [False, True]))


def _check_c(array: np.ndarray, value) -> None:
    if np.any(array % 1 != 0):
        raise ConstraintError(f"the constraint for c must be integers, got {value!r}.")
    if array.shape == () and not C_MIN <= array <= C_MAX:
        raise ConstraintError(f"c must lie in {C_MIN}..{C_MAX}, got {value!r}.")
    if array.shape == (2,):
        if array[0] > C_MAX or array[1] < C_MIN:
            raise ConstraintError(
                f"the constraint for c, {value!r}, excludes every supported value "
                f"({C_MIN}..{C_MAX})."
            )
        if array[0] < C_MIN or array[1] > C_MAX:
            warnings.warn(
                f"the constraint for c, {value!r}, reaches outside {C_MIN}..{C_MAX}; only "
                "values in that range are fitted.",
                RuntimeWarning,
                stacklevel=7,
            )


def _parse_convex(value) -> list[bool]:
    if isinstance(value, (bool, np.bool_)):
        return [bool(value)]
    try:
        values = list(value)
    except TypeError as error:
        raise ConstraintError(
            f"the constraint for convex must be a bool or a list of bools, got {value!r}."
        ) from error
    if not values:
        raise ConstraintError("the constraint for convex must not be empty.")
    if not all(isinstance(v, (bool, np.bool_)) for v in values):
        raise ConstraintError(
            f"the constraint for convex must be a bool or a list of bools, got {value!r}."
        )
    if len(set(map(bool, values))) != len(values):
        raise ConstraintError(f"the constraint for convex has duplicates: {value!r}.")
    return [bool(v) for v in values]


# ---------------------------------------------------------------------------------------
# The problem: data summary, objectives and opda's search box


class _Coarse:
    """The coarse objective of some data, built on first use: only the global search refines
    on it (a warm refit or a step along a profile descends on the full objective)."""

    def __init__(self, objective: SpacingObjective, sides):
        self._objective, self._sides = objective, sides
        self._value: SpacingObjective | None = None

    def __call__(self) -> SpacingObjective:
        if self._value is None:
            self._value = self._objective.coarsened(
                COARSE_BUCKETS, sides=self._sides, full_buckets=FULL_BUCKETS
            )
        return self._value


@dataclass
class _Problem:
    objective: SpacingObjective
    coarse_of: _Coarse  # the objective refined on (coarsened above FULL_BUCKETS)
    screen: dict  # convex -> the objective starts are ranked on
    n: int
    y_min: float  # the least retained observation, or the lower limit when it censors
    y_max: float  # the greatest retained observation, or the upper limit when it censors
    a_bounds: tuple[float, float]
    b_bounds: tuple[float, float]
    o_bounds: tuple[float, float]
    cs: list[int]
    convexs: list[bool]
    plotting_positions: tuple[np.ndarray, np.ndarray]  # probabilities of y_min and y_max
    quick: bool = False  # pruning margins scaled to the uncensored share (margin_scale)
    tolerance: float | None = None  # the searches' ftol, when the caller sets one

    @property
    def coarse(self) -> dict:
        """convex -> the objective the global search refines on."""
        coarse = self.coarse_of()
        return {cv: coarse for cv in self.convexs}

    @property
    def scale(self) -> float:
        return self.y_max - self.y_min

    @property
    def margin_scale(self) -> float:
        """What the search's pruning margins (set for uncensored data) are multiplied by: 1,
        or for a ``quick`` fit the share ``(k + 1) / (n + 1)`` of the loss that the ``k``
        uncensored observations carry (loss differences between parameters scale with it).
        A quick fit of a tail of 20 among 1,000 trials prunes 48x sooner; it can drop a
        search that crawls from behind to the optimum (a small ``c`` along the box's edge)."""
        if not self.quick:
            return 1.0
        objective = self.objective
        uncensored = objective.n - objective.n_lower - objective.n_upper
        return min(1.0, (uncensored + 1.0) / (objective.n + 1.0))

    @property
    def ftol(self) -> float | None:
        """The loss decrease below which the searches stop, when coarser than their default:
        the caller's (a profile's fits, wanted to ~1e-3 in deviance), or for a quick fit,
        which feeds test statistics in deviance units ``2 (n + 1) dL``, 1e-3 in those."""
        if self.tolerance is not None:
            return self.tolerance
        return 1e-3 / (2.0 * (self.n + 1.0)) if self.quick else None

    @property
    def final(self) -> bool:
        """Whether the refining objective is the full one (no polish needed)."""
        return all(self.coarse[cv] is self.objective for cv in self.convexs)


@functools.lru_cache(maxsize=4)  # an analysis's tail and partner, a profile's fits
def _objectives(data: bytes, dtype: str, lower: float, upper: float, support, sides):
    """The full, coarse and screening objectives of the data (``data``: the array's bytes).

    Cached: the fits of one analysis (the estimate, its profiles over c and along the
    interval ends) share their data and limits and differ only in their constraints, and
    the objectives are never modified once built.
    """
    array = np.frombuffer(data, dtype=np.dtype(dtype))
    objective = SpacingObjective(array, (lower, upper), support)
    screen = objective.coarsened(SCREEN_BUCKETS, keep=8, sides=sides, full_buckets=0)
    return objective, _Coarse(objective, sides), screen


def _setup(ys, limits, constraints, noisy: bool) -> _Problem:
    names = ("a", "b", "c", "o") if noisy else ("a", "b", "c")
    array, lower, upper = _validate_data(ys, limits)
    fixed, ranges, cs, convexs = _parse_constraints(constraints, names)
    n = len(array)
    n_lower, n_upper = int(np.sum(array <= lower)), int(np.sum(array > upper))
    observed = array[(array > lower) & (array <= upper)]
    y_min = float(observed.min()) if n_lower == 0 else lower
    i_min = 1 if n_lower == 0 else n_lower  # the rank of y_min
    y_max = float(observed.max()) if n_upper == 0 else upper
    j_max = n if n_upper == 0 else n - n_upper + 1  # the rank of y_max

    o_constraint = fixed.get("o", ranges.get("o", (0.0, np.inf))) if noisy else 0.0
    if np.max(o_constraint) <= 0.0:  # noiseless: the support must hold the data
        a_lo = fixed.get("a", ranges.get("a", (-np.inf,))[0])
        b_hi = fixed.get("b", ranges.get("b", (np.inf, np.inf))[1])
        if a_lo > y_min:
            raise ConstraintError(
                f"the constraint for a puts it above the least observation (or the lower "
                f"limit when it censors), {y_min!r}, which a noiseless fit cannot reach."
            )
        if b_hi < y_max:
            raise ConstraintError(
                f"the constraint for b puts it below the greatest observation (or the upper "
                f"limit when it censors), {y_max!r}, which a noiseless fit cannot reach."
            )

    # opda's box: p bounds the mass between y_min and y_max from below (Beta law of the
    # difference of their plotting positions), w the width (b - a) / spread from above,
    # through the quadratic's central interval of mass p, v the noise o / spread. opda takes
    # w over the allowed c; here it is over every c (that of c = C_MAX, the widest), so a fit
    # with c fixed has the box of the fit with c free, and profile deviances over c compare
    # fits over the same parameters (a small c with a small tail sits on the box's edge).
    spread = y_max - y_min
    p = betaincinv(j_max - i_min, n - (j_max - i_min) + 1, 1e-9)
    w = 1.0 / ((0.5 + p / 2) ** (2 / C_MAX) - (0.5 - p / 2) ** (2 / C_MAX))
    v = 1.0 / (ndtri(0.5 + p / 2) - ndtri(0.5 - p / 2))
    if noisy:
        default_a = default_b = (y_min - w * spread, y_max + w * spread)
    else:
        default_a, default_b = (y_min - w * spread, y_min), (y_max, y_max + w * spread)

    def box(name, default):
        if name in fixed:
            return (fixed[name], fixed[name])
        lo, hi = ranges.get(name, (-np.inf, np.inf))
        bounds = (max(default[0], lo), min(default[1], hi))
        if bounds[0] > bounds[1]:
            raise ConstraintError(
                f"the constraint for {name}, {(lo, hi)!r}, excludes every plausible value "
                f"{default!r} for these data."
            )
        return bounds

    a_bounds, b_bounds = box("a", default_a), box("b", default_b)
    if a_bounds[0] > b_bounds[1]:
        raise ConstraintError(
            f"the constraints put a ({a_bounds!r}) above b ({b_bounds!r}); a <= b is required."
        )
    o_bounds = box("o", (0.0, v * spread)) if noisy else (0.0, 0.0)
    support = (-np.inf, np.inf) if o_bounds[1] > 0 else (a_bounds[0], b_bounds[1])
    # One grouping for both forms (their losses must be comparable), keeping the buckets
    # near the best score of each form fitted, and those at an uncensored end of the data:
    # its smearing by the noise tells a noisy basin from a noiseless one.
    sides = tuple(sorted(set(convexs) | ({True} if n_lower == 0 else set()) | (
        {False} if n_upper == 0 else set()
    )))
    objective, coarse, screen = _objectives(
        array.tobytes(), array.dtype.str, lower, upper, support, sides
    )
    screen = {cv: screen for cv in convexs}
    if y_min == y_max and n_lower == 0 and n_upper == 0 and (len(cs) > 1 or len(convexs) > 1):
        warnings.warn(
            "all observations are equal: the fit is a point mass, whose c and convex are "
            "unidentifiable; fix them with constraints if they matter.",
            RuntimeWarning,
            stacklevel=5,
        )
    d_lo, d_hi = 0.5 + np.array(_PLOTTING_PAIRS).T
    positions = (betaincinv(i_min, n - i_min + 1, d_lo), betaincinv(j_max, n - j_max + 1, d_hi))
    return _Problem(
        objective,
        coarse,
        screen,
        n,
        y_min,
        y_max,
        a_bounds,
        b_bounds,
        o_bounds,
        cs,
        convexs,
        positions,
    )


def _coordinates(problem: _Problem) -> dict:
    anchor = {True: problem.y_min, False: problem.y_max}
    scale = problem.scale if problem.scale > 0 else 1.0  # spread 0: every parameter is fixed
    return {
        cv: SearchCoordinates(
            cv, problem.a_bounds, problem.b_bounds, problem.o_bounds, anchor[cv], scale
        )
        for cv in problem.convexs
    }



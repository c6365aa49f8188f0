"""What an update of an estimate reuses from the one before (private): the chosen tail, the
fits, the profile ends and the effective dimensions' fits, and the tests of whether the latest
trials left a tail's data as they were (see ``analyze(previous=...)``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tailstop import regime
from tailstop._fitproblem import C_MAX

if TYPE_CHECKING:
    from tailstop._data import CleanScores
    from tailstop.estimate import TailEstimate

FULL_RESELECT_GROWTH = 1.1  # an update re-chooses the threshold once n grew by 10%


@dataclass(frozen=True)
class _State:
    """What an update reuses: the chosen tail fraction and fits (maximise orientation)."""

    tail_fraction: float
    selected_at: int
    fit: Any
    regime: regime.RegimeChoice | None
    ends: dict = field(default_factory=dict)  # profile ends, the guesses of the next update
    end_fits: dict = field(default_factory=dict)  # the constrained fits at those ends
    end_deviances: dict = field(default_factory=dict)  # their deviances then
    deeper_fraction: float | None = None  # the stability partner's tail, as a share of n
    deeper_fit: Any = None
    dimension_deviances: dict = field(default_factory=dict)  # c -> profile deviance of c
    dimension_fits: dict = field(default_factory=dict)  # c -> the fit at c (those deviances)
    c_max: int = C_MAX
    curve_fits: dict = field(default_factory=dict)  # filled by tuning_curve on first use
    tail: tuple = ()  # (threshold, points above it) of the chosen tail and of the partner's
    # the deeper tails' part of the region (_intervals.union_region), kept until the next choice
    union: tuple = (None, None, ())
    noise: float | None = None  # the known seed noise the fits hold o at, if one was given


def _kept_tail_size(ys: np.ndarray, state: _State, index: int, fraction: float, n_finite: int):
    """The size of the tail above the threshold ``state.tail[index]`` an update keeps (the
    same share of the trials for a state without one)."""
    if len(state.tail) > index:
        return int(np.clip(np.sum(ys > state.tail[index]), regime.MIN_TAIL, n_finite))
    return _tail_size(fraction, n_finite)


def _tail_unchanged(ys: np.ndarray, state: _State, index: int) -> bool:
    """Whether the tail above the threshold ``state.tail[index]`` holds the same points as
    before the latest trials (they all fell below it)."""
    if len(state.tail) <= index:
        return False
    threshold, count = state.tail[index], state.tail[index + 1]
    return int(np.sum(ys > threshold)) == count


def _tails(ys: np.ndarray, threshold: float, deeper) -> tuple:
    """``(threshold, points above it)`` of the chosen tail, then of its stability partner's:
    equal before and after an update exactly when the new trials fell below both thresholds
    (the tails' data are unchanged, only the censored count grew)."""
    tails: tuple[float, ...] = (float(threshold), int(np.sum(ys > threshold)))
    if deeper is not None:
        tails += (float(deeper[1]), int(np.sum(ys > deeper[1])))
    return tails


def _extends(previous: TailEstimate, clean: CleanScores) -> bool:
    """Whether ``previous`` estimated some of these trials: the same direction and
    resolution, no more failed trials, and its finite scores among these (as a multiset: with
    parallel workers trials finish out of order)."""
    before = previous._clean
    if before.direction != clean.direction or before.n_failed > clean.n_failed:
        return False
    if before.resolution != clean.resolution:
        return False
    if before.values.size > clean.values.size:
        return False
    if not before.values.size:
        return True
    values, counts = np.unique(before.values, return_counts=True)
    now = np.sort(clean.values)
    available = np.searchsorted(now, values, "right") - np.searchsorted(now, values, "left")
    return bool(np.all(available >= counts))


def _tail_size(fraction: float, n_finite: int) -> int:
    return int(np.clip(round(fraction * n_finite), regime.MIN_TAIL, n_finite))

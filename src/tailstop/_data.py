"""Validation of scores at the boundary (private).

Scores arrive from users and frameworks: lists with ``None``, NaN for failed trials, strings,
infinities for diverged ones. Everything is checked here, once, and folded into the
*maximise* orientation used by every computation inside tailstop.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from tailstop.errors import InvalidDataError, InvalidParameterError

DIRECTIONS = ("maximize", "minimize")


def check_direction(direction: object) -> str:
    """``"maximize"`` or ``"minimize"`` (case-insensitive; Optuna's enum names too)."""
    name = getattr(direction, "name", direction)
    if isinstance(name, str) and name.lower() in DIRECTIONS:
        return name.lower()
    raise InvalidParameterError(f"direction must be 'maximize' or 'minimize', got {direction!r}")


def check_bounds(bounds: object) -> tuple[float, float] | None:
    """``None`` or a pair ``(low, high)`` with ``low < high`` (either may be infinite)."""
    if bounds is None:
        return None
    try:
        low, high = (float(v) for v in bounds)  # type: ignore[union-attr]
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"bounds must be a pair (low, high), got {bounds!r}") from exc
    if np.isnan(low) or np.isnan(high) or not low < high:
        raise InvalidParameterError(f"bounds must satisfy low < high, got {bounds!r}")
    return low, high


@dataclass(frozen=True)
class CleanScores:
    """Scores ready for the fit, in the maximise orientation.

    ``values`` holds the finite scores (negated when minimising); ``n_failed`` counts
    ``None``, NaN and infinite scores: failed trials, which used a trial but cannot become
    the best.
    """

    values: np.ndarray
    n_failed: int
    direction: str
    bounds: tuple[float, float] | None  # in the maximise orientation
    scores: np.ndarray | None = None  # every trial in order, user orientation, NaN = failed

    @property
    def n_trials(self) -> int:
        return int(self.values.size + self.n_failed)

    def to_user(self, x):
        """Map a score (or array) from the maximise orientation back to the user's."""
        return x if self.direction == "maximize" else -np.asarray(x)


def check_sequence(scores: object) -> None:
    """Scores must come as an ordered sequence: not a string, a mapping or a set."""
    if isinstance(scores, (str, bytes)) or not np.iterable(scores):
        raise InvalidDataError(f"scores must be a sequence of numbers, got {type(scores).__name__}")
    if isinstance(scores, (Mapping, AbstractSet)):
        raise InvalidDataError(
            f"scores must be an ordered sequence (one per trial), got a {type(scores).__name__}"
        )


def score_value(score: object, index: int | str = "") -> float:
    """One trial's score as a float, NaN for a failed trial (None, NaN, +-inf).

    Anything that is not a real number (strings, booleans, objects) raises
    :class:`~tailstop.errors.InvalidDataError` naming the score.
    """
    label = f"score {index}".strip()
    if score is None:
        return float("nan")
    if isinstance(score, (str, bytes, bool, np.bool_)):
        raise InvalidDataError(f"{label} is not a number: {score!r}")
    try:
        value = float(score)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{label} is not a number: {score!r}") from exc
    return value if np.isfinite(value) else float("nan")


def _float_array(scores: object) -> np.ndarray | None:
    """A float copy of ``scores`` without checking each one, when they are certainly real
    numbers: a 1-D real (not boolean) numpy array, or a list or tuple of floats (what the
    monitor keeps); None otherwise (each score is then checked by :func:`score_value`)."""
    if isinstance(scores, np.ndarray):
        if scores.ndim == 1 and scores.dtype.kind in "fiu":
            return scores.astype(float)
        return None
    if isinstance(scores, (list, tuple)) and all(isinstance(s, float) for s in scores):
        return np.array(scores, dtype=float)
    return None


def clean_scores(scores: object, direction: str, bounds: object = None) -> CleanScores:
    """Validate ``scores`` and fold them to maximisation.

    ``None``, NaN and +-inf are failed trials (counted, never fitted). Anything that is not a
    number raises :class:`~tailstop.errors.InvalidDataError`, and so does a finite score outside
    ``bounds``.
    """
    direction = check_direction(direction)
    checked_bounds = check_bounds(bounds)
    check_sequence(scores)
    array = _float_array(scores)
    if array is None:
        values = [score_value(score, i) for i, score in enumerate(scores)]  # type: ignore[union-attr]
        array = np.asarray(values, dtype=float).ravel()
    finite = np.isfinite(array)
    kept = array[finite]
    if checked_bounds is not None and kept.size:
        low, high = checked_bounds
        outside = (kept < low) | (kept > high)
        if outside.any():
            bad = kept[outside][0]
            raise InvalidDataError(
                f"{int(outside.sum())} score(s) lie outside the declared bounds "
                f"[{low:g}, {high:g}], e.g. {float(bad)!r}"
            )
    if direction == "minimize":
        kept = -kept
        if checked_bounds is not None:
            checked_bounds = (-checked_bounds[1], -checked_bounds[0])
    scores_in_order = np.where(finite, array, np.nan)
    scores_in_order.flags.writeable = False
    return CleanScores(
        values=kept,
        n_failed=int(array.size - kept.size),
        direction=direction,
        bounds=checked_bounds,
        scores=scores_in_order,
    )

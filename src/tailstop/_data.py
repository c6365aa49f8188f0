"""Validation of scores at the boundary (private).

Scores arrive from users and frameworks: lists with ``None``, NaN for failed trials, strings,
infinities for diverged ones. Everything is checked here, once, and folded into the
*maximise* orientation used by every computation inside tailstop.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, SupportsInt, cast

import numpy as np

from tailstop.errors import InvalidDataError, InvalidParameterError

DIRECTIONS = ("maximize", "minimize")


def check_direction(direction: object) -> str:
    """``"maximize"`` or ``"minimize"`` (case-insensitive; Optuna's enum names too)."""
    name = getattr(direction, "name", direction)
    if isinstance(name, str) and name.lower() in DIRECTIONS:
        return name.lower()
    raise InvalidParameterError(f"direction must be 'maximize' or 'minimize', got {direction!r}")


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters (an int of 400
    digits, a long list)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def is_real_scalar(value: object) -> bool:
    """One real number: anything ``float()`` takes (``Decimal``, a numpy or torch scalar, a
    0-d array) but a string, bytes, a bool, a complex number or ``None``, which numpy would
    read as numbers or fail on with a bare ``TypeError``."""
    if value is None or isinstance(
        value, (str, bytes, bool, np.bool_, complex, np.complexfloating)
    ):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    try:
        float(cast("float", value))
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def real_array(value: object, name: str) -> np.ndarray:
    """``value`` (a real number or an array-like of them) as a float array.

    Stricter than ``np.asarray(value, dtype=float)``: strings, booleans, complex numbers and
    ``None`` (:func:`is_real_scalar`) raise :class:`InvalidParameterError` naming ``name``.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:  # (a ragged nesting)
        raise InvalidParameterError(
            f"{name} must be a real number or an array of them, got {shown(value)}"
        ) from exc
    kind = array.dtype.kind
    if kind in "iuf" or (kind == "O" and all(is_real_scalar(v) for v in array.flat)):
        return array.astype(float, copy=False)
    raise InvalidParameterError(
        f"{name} must be a real number or an array of them, got {shown(value)}"
    )


def real_number(value: object, name: str) -> float:
    """``value`` as a float if it is one real number (:func:`is_real_scalar`)."""
    if not is_real_scalar(value):
        raise InvalidParameterError(f"{name} must be a real number, got {shown(value)}")
    return float(cast("float", value))


def integer(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int if it is a whole number (``5`` or ``5.0``, not ``True`` or ``"5"``)
    in ``[minimum, maximum]``."""
    ok = is_real_scalar(value) and float(cast("float", value)).is_integer()
    number = cast("SupportsInt", value)  # a Real when ok
    if ok:
        ok = int(number) >= minimum and (maximum is None or int(number) <= maximum)
    if not ok:
        upper = "" if maximum is None else f" and <= {maximum}"
        raise InvalidParameterError(
            f"{name} must be an integer >= {minimum}{upper}, got {shown(value)}"
        )
    return int(number)


def as_generator(generator: object) -> np.random.Generator:
    """A numpy ``Generator`` from one, from an int seed, or from fresh entropy (``None``)."""
    if isinstance(generator, np.random.Generator):
        return generator
    try:
        return np.random.default_rng(cast("Any", generator))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameterError(
            f"generator must be a numpy Generator, an int seed >= 0 or None, got {generator!r}"
        ) from exc


def check_bounds(bounds: object) -> tuple[float, float] | None:
    """``None`` or a pair ``(low, high)`` with ``low < high``; either may be infinite, or
    ``None`` for no bound on that side (``(0, None)``: a loss that cannot go below 0)."""
    if bounds is None:
        return None
    try:
        if isinstance(bounds, (str, bytes)):  # ("01" would unpack into "0" and "1")
            raise TypeError
        given_low, given_high = cast("tuple[Any, Any]", bounds)
        low = -np.inf if given_low is None else real_number(given_low, "low")
        high = np.inf if given_high is None else real_number(given_high, "high")
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameterError(
            f"bounds must be a pair (low, high), got {shown(bounds)}"
        ) from exc
    if np.isnan(low) or np.isnan(high) or not low < high:
        raise InvalidParameterError(f"bounds must satisfy low < high, got {shown(bounds)}")
    return low, high


@dataclass(frozen=True)
class CleanScores:
    """Scores ready for the fit, in the maximise orientation.

    ``values`` holds the finite scores ``y`` as ``sign (y - offset)`` (``sign`` -1 when
    minimising; ``y`` rounded to a multiple of ``resolution`` when one is given);
    ``n_failed`` counts ``None``, NaN and infinite scores: failed trials, which
    used a trial but cannot become the best. ``offset`` is 0 unless the scores sit far from
    zero compared with their spread (see :func:`clean_scores`).
    """

    values: np.ndarray
    n_failed: int
    direction: str
    bounds: tuple[float, float] | None  # in the maximise orientation
    scores: np.ndarray | None = None  # every trial in order, user orientation, NaN = failed
    offset: float = 0.0
    resolution: float | None = None  # the step ``values`` were rounded to (see clean_scores)

    @property
    def n_trials(self) -> int:
        return int(self.values.size + self.n_failed)

    def to_user(self, x):
        """Map a score (or array) from the maximise orientation back to the user's."""
        x = x if self.direction == "maximize" else -np.asarray(x)
        return x + self.offset if self.offset else x

    def from_user(self, y):
        """Map a score (or array) from the user's orientation to the maximise one."""
        y = np.asarray(y) - self.offset if self.offset else y
        return y if self.direction == "maximize" else -np.asarray(y)

    @property
    def best(self) -> float:
        """The best finite score, in the user's orientation, exactly as given."""
        assert self.scores is not None, "CleanScores.best needs the scores in order"
        finite = self.scores[np.isfinite(self.scores)]
        return float(finite.max() if self.direction == "maximize" else finite.min())


def unmasked(scores: object) -> object:
    """A numpy masked array's scores with the masked ones as NaN (failed trials); anything
    else as it is."""
    if isinstance(scores, np.ma.MaskedArray) and scores.dtype.kind in "fiu":
        return np.ma.filled(scores.astype(float), np.nan)
    return scores


def check_sequence(scores: object) -> None:
    """Scores must come as an ordered sequence: not a string, a mapping or a set."""
    if isinstance(scores, (str, bytes)) or not np.iterable(scores):
        raise InvalidDataError(f"scores must be a sequence of numbers, got {type(scores).__name__}")
    if isinstance(scores, (Mapping, AbstractSet)):
        raise InvalidDataError(
            f"scores must be an ordered sequence (one per trial), got a {type(scores).__name__}"
        )
    if getattr(scores, "ndim", 1) != 1:
        raise InvalidDataError(
            f"scores must be one-dimensional (one per trial), got an array of shape "
            f"{scores.shape}"  # type: ignore[attr-defined]
        )


def score_value(score: object, index: int | str = "") -> float:
    """One trial's score as a float, NaN for a failed trial (None, NaN, +-inf).

    Anything that is not a real number (strings, booleans, objects) raises
    :class:`~tailstop.errors.InvalidDataError` naming the score.
    """
    label = f"score {index}".strip()
    if score is None or score is np.ma.masked:
        return float("nan")
    if isinstance(score, (str, bytes, bool, np.bool_)):
        raise InvalidDataError(f"{label} is not a number: {score!r}")
    if isinstance(score, (complex, np.complexfloating)):
        raise InvalidDataError(f"{label} is not a real number: {score!r}")
    try:
        value = float(score)  # type: ignore[arg-type]
    except OverflowError as exc:  # an int beyond a float's range
        raise InvalidDataError(f"{label} is too large for a float: {shown(score)}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidDataError(f"{label} is not a number: {shown(score)}") from exc
    return value if np.isfinite(value) else float("nan")


def _float_array(scores: object) -> np.ndarray | None:
    """A float copy of ``scores`` without checking each one, when they are certainly real
    numbers: a 1-D real (not boolean) numpy array, or a list or tuple of floats (what the
    monitor keeps); None otherwise (each score is then checked by :func:`score_value`)."""
    if isinstance(scores, np.ndarray):
        if scores.ndim == 1 and scores.dtype.kind in "fiu":
            return scores.astype(float)
        if scores.dtype.kind == "c":
            raise InvalidDataError(f"scores must be real numbers, got a {scores.dtype} array")
        return None
    if isinstance(scores, (list, tuple)) and all(isinstance(s, float) for s in scores):
        return np.array(scores, dtype=float)
    return None


# Scores whose magnitude exceeds their spread by more than this are centred before the fit.
CENTRE_RATIO = 1e3


def check_resolution(resolution: object) -> float | None:
    """The step of a metric that counts something: a finite number > 0, or None."""
    if resolution is None:
        return None
    if not is_real_scalar(resolution):
        raise InvalidParameterError(f"resolution must be a number > 0 or None, got {resolution!r}")
    value = float(cast("float", resolution))
    if not (math.isfinite(value) and value > 0):
        raise InvalidParameterError(f"resolution must be finite and > 0, got {resolution!r}")
    return value


# Scores beyond this overflow the fit's intermediate values (analyze refuses them); a finite
# score this far on the worse side is a failed trial (clean_scores): no measurement reaches it.
MAX_MAGNITUDE = 1e300


def clean_scores(
    scores: object,
    direction: str,
    bounds: object = None,
    *,
    offset: float | None = None,
    resolution: float | None = None,
) -> CleanScores:
    """Validate ``scores`` and fold them to maximisation.

    ``None``, NaN and +-inf are failed trials (counted, never fitted), and so is a finite score
    beyond ``MAX_MAGNITUDE`` (1e300) on the worse side (a sentinel such as ``sys.float_info.max``
    for a failed run). Anything that is not a
    number raises :class:`~tailstop.errors.InvalidDataError`, and so does a finite score outside
    ``bounds``.

    Scores far from zero compared with their spread (``max |y| > CENTRE_RATIO ptp(y)`` over
    the better half of them, from the median to the best, e.g. 1e6 + a few thousandths) are
    centred on their median: the fit's finite differences move the support's ends by 1e-5 of
    the tail's spread, which such an offset would leave a few ulps (measured: the fitted noise
    2.6 times too small at an offset of 2e9 spreads). For the better half the subtraction is
    exact (Sterbenz: each of those scores lies within a factor 2 of the median), and so is
    :meth:`CleanScores.to_user`'s way back; a far worse score (a diverged trial) may round,
    by far less than its distance below the tail. ``offset`` imposes one instead (an update
    keeps its previous estimate's).

    ``resolution``: the step of a metric that counts something (``1 / m`` for accuracy on
    ``m`` examples); the fitted values are rounded to the nearest multiple of it (kept within
    ``bounds``), which makes scores that differ by less, such as averages over folds of
    unequal sizes, the ties they are. ``scores`` (and so the current best) keep the values
    given.
    """
    direction = check_direction(direction)
    checked_bounds = check_bounds(bounds)
    resolution = check_resolution(resolution)
    scores = unmasked(scores)
    check_sequence(scores)
    array = _float_array(scores)
    if array is None:
        # check_sequence made sure scores is iterable
        iterable = cast("Iterable[object]", scores)
        values = [score_value(score, i) for i, score in enumerate(iterable)]
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
    # a score beyond MAX_MAGNITUDE on the worse side (sys.float_info.max as a loss, its negative
    # as an accuracy) is a failure's sentinel, not a measurement: a failed trial
    # (unless other scores are that far out too: then the search's scale is the problem)
    diverged = (array < -MAX_MAGNITUDE) if direction == "maximize" else (array > MAX_MAGNITUDE)
    others = kept[~diverged[finite]]
    if diverged.any() and float(np.max(np.abs(others), initial=0.0)) <= MAX_MAGNITUDE:
        finite &= ~diverged
        kept = array[finite]
    if resolution is not None:
        with np.errstate(over="ignore"):
            steps = kept / resolution
        if not np.isfinite(steps).all():
            raise InvalidParameterError(
                f"resolution {resolution!r} is too small for scores of magnitude "
                f"{float(np.max(np.abs(kept))):g}: they overflow as multiples of it"
            )
        kept = np.round(steps) * resolution
        if checked_bounds is not None:
            kept = np.clip(kept, *checked_bounds)
    if offset is None:
        offset = _centre(kept, direction)
    if offset:
        kept = kept - offset
        if checked_bounds is not None:
            checked_bounds = (checked_bounds[0] - offset, checked_bounds[1] - offset)
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
        offset=float(offset),
        resolution=resolution,
    )


def _centre(kept: np.ndarray, direction: str = "maximize") -> float:
    """The median of ``kept`` if the better half of them (from the median to the best, where
    the tail is) lies far from zero compared with its spread, else 0.

    The better half, not all of them: a diverged trial's finite but far worse score (a loss
    of 1e6 among losses of 0.3) would otherwise hide how close together the rest sit."""
    if not kept.size:
        return 0.0
    # the middle order statistic itself (not an average of two): a score, so within a
    # factor 2 of every score of the better half when it is centred
    middle = float(np.partition(kept, kept.size // 2)[kept.size // 2])
    better = kept[kept >= middle] if direction == "maximize" else kept[kept <= middle]
    magnitude, spread = float(np.max(np.abs(better))), float(np.ptp(better))
    if not magnitude > CENTRE_RATIO * spread:
        return 0.0
    return middle

"""The search without the fit (private, for :class:`tailstop.Monitor` and
:mod:`tailstop.replay`): scores in order, the best so far, the trials since it improved, and
the checks of a finished trial's score and duration."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from numbers import Real

from tailstop._data import score_value, shown
from tailstop.errors import InvalidDataError
from tailstop.rules import SearchState


def check_score(score: object, index: int | str = "", bounds=None) -> float:
    """A finished trial's score as a float; NaN for a failed trial (None, NaN, +-inf).

    Raises :class:`InvalidDataError` for anything that is not a number and for a finite score
    outside ``bounds``.
    """
    value = score_value(score, index)
    if bounds is not None and math.isfinite(value) and not bounds[0] <= value <= bounds[1]:
        raise InvalidDataError(
            f"{f'score {index}'.strip()} = {value!r} lies outside the declared bounds "
            f"[{bounds[0]}, {bounds[1]}]"
        )
    return value


def _check_duration(duration: object, index: int | str = "") -> float:
    if duration is None:
        return math.nan
    label = f"duration {index}".strip()
    if isinstance(duration, (str, bytes, bool)) or not isinstance(duration, Real):
        raise InvalidDataError(f"{label} must be a number of seconds, got {duration!r}")
    try:
        value = float(duration)
    except OverflowError:  # an int beyond a float's range
        value = math.inf
    if not math.isfinite(value) or value < 0:
        raise InvalidDataError(
            f"{label} must be finite and >= 0 seconds, got {shown(duration)}"
        )
    return value


class _Tracker:
    """The search without the fit: scores in order, best so far, trials since it improved."""

    def __init__(self, direction: str):
        self.sign = 1.0 if direction == "maximize" else -1.0
        self.direction = direction
        self.scores: list[float] = []  # user orientation, NaN = failed
        self.durations: list[float] = []  # NaN = unknown
        self.best = -math.inf  # maximise orientation
        self.best_index = -1
        self.n_failed = 0
        self.duration_sum, self.duration_count = 0.0, 0  # running mean of known durations

    def append(self, score: float, duration: float) -> None:
        self.scores.append(score)
        self.durations.append(duration)
        if not math.isnan(duration):
            self.duration_sum += duration
            self.duration_count += 1
        if math.isnan(score):
            self.n_failed += 1
        elif self.sign * score > self.best:
            self.best = self.sign * score
            self.best_index = len(self.scores) - 1

    def set_durations(self, seconds) -> None:
        self.durations = list(seconds)
        known = [d for d in self.durations if not math.isnan(d)]
        self.duration_sum, self.duration_count = float(sum(known)), len(known)

    def reset(self) -> None:
        type(self).__init__(self, self.direction)

    @property
    def n_trials(self) -> int:
        return len(self.scores)

    @property
    def n_finite(self) -> int:
        return len(self.scores) - self.n_failed

    def state(self, budget: int | None) -> SearchState:
        count = self.duration_count
        return SearchState(
            n_trials=self.n_trials,
            n_failed=self.n_failed,
            budget=budget,
            trials_since_improvement=self.n_trials - 1 - self.best_index,
            current_best=None if self.best_index < 0 else self.sign * self.best,
            mean_duration=self.duration_sum / count if count else None,
            direction=self.direction,
        )


def _failed_as_none(values: Iterable[float]) -> Counter:
    return Counter(None if math.isnan(v) else v for v in values)

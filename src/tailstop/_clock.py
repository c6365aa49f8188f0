"""A search's time budget (private, for :class:`tailstop.Monitor`): the wall-clock time used,
and the rate at which trials finish, which turns the time left into trials left.

The rate is measured on the trials that finish while the monitor watches: from the first
call that brings trials (a resumed search's earlier trials arrive all at once there, so they
set the count it starts from, not the rate) to the latest arrival,
``rate = (n_latest - n_first) / (t_latest - t_first)``. It counts every worker's trials
that the monitor is given (the Optuna callback reads them all from the storage), so it is
the search's rate, whatever its parallelism. Until ``MIN_RATE_TRIALS`` trials have arrived
after the first call the rate is unknown, and a time budget sets no horizon yet.

The whole span, not a recent window: a search's rate drifts (the refits begin at
``min_trials`` and grow with it), but on real studies (``bench_time_budget.py``, both
forecasts at the same points of the same runs) the rate over the later half of the trials
had about the same median error and larger worst errors (in two runs of 12 studies, up to
+48-52% against +33-36% in the budget's first quarter, -21-23% against -12-15% in its second).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import timedelta

from tailstop._data import real_number, shown
from tailstop.errors import InvalidParameterError

MIN_RATE_TRIALS = 3


def check_time_budget(value: object, name: str = "time_budget") -> float | None:
    """``value`` (seconds, or a ``datetime.timedelta``) as seconds > 0, finite; or None."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    seconds = real_number(value, name)
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidParameterError(
            f"{name} must be a finite number of seconds > 0, got {shown(value)}"
        )
    return seconds


class SearchClock:
    """Wall-clock time used by a search and the rate at which its trials finish."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.restart(0.0)

    def restart(self, spent: float = 0.0) -> None:
        """Count from now, with ``spent`` seconds already used; the rate is measured afresh."""
        self._started = self._clock()
        self._spent_before = float(spent)
        self._first: tuple[float, int] | None = None  # (time, trials) at the first arrival
        self._latest: tuple[float, int] | None = None

    @property
    def elapsed(self) -> float:
        """Seconds used: those before the last restart and those since."""
        return self._spent_before + max(self._clock() - self._started, 0.0)

    def arrived(self, n_trials: int) -> None:
        """Note that the search has ``n_trials`` finished trials now."""
        now = self._clock()
        if self._first is None or n_trials < self._first[1]:  # first, or a smaller history
            if n_trials > 0:
                self._first, self._latest = (now, n_trials), None
            return
        latest = self._latest or self._first
        if n_trials > latest[1]:
            self._latest = (now, n_trials)

    @property
    def trial_rate(self) -> float | None:
        """Trials finished per second since the first arrival (None until measured)."""
        if self._first is None or self._latest is None:
            return None
        (t0, n0), (t1, n1) = self._first, self._latest
        if n1 - n0 < MIN_RATE_TRIALS or t1 <= t0:
            return None
        return (n1 - n0) / (t1 - t0)

    def time_left(self, budget: float | None) -> float | None:
        """Seconds left in ``budget`` (0 once used), None without one."""
        return None if budget is None else max(budget - self.elapsed, 0.0)

"""Baseline stoppers for :func:`tailstop.replay.replay`: fixed budgets, a faithful copy of Ray
Tune's ``ExperimentPlateauStopper``, and the issue-4 set of baselines. No dependency on Ray or
Optuna. A baseline is a callable ``stopper(scores, direction) -> trials used`` that reads one
order's scores from the first one on; ``Patience`` is a rule (:mod:`tailstop.rules`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tailstop.errors import InvalidParameterError

if TYPE_CHECKING:
    from tailstop.rules import Rule

__all__ = ["FixedTrials", "RayPlateau", "Stopper", "baselines", "terminator_note"]

Stopper = Callable[[np.ndarray, str], int]  # one order's scores, the direction -> trials used


# -- stoppers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedTrials:
    """Run exactly ``n`` trials (or all there are).

    A baseline for :func:`tailstop.replay.replay`: called with one order's scores and the
    direction, it returns the trials used.

    Parameters
    ----------
    n : int
        Trials to run (>= 1).

    Examples
    --------
    >>> import numpy as np
    >>> stopper = FixedTrials(50)
    >>> stopper(np.zeros(200), "maximize"), stopper(np.zeros(30), "maximize")
    (50, 30)
    >>> stopper.describe()
    'fixed 50 trials'
    """

    n: int

    def __post_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise InvalidParameterError(f"n must be an integer >= 1, got {self.n!r}")

    def __call__(self, scores: np.ndarray, direction: str) -> int:
        return min(self.n, len(scores))

    def describe(self) -> str:
        return f"fixed {self.n} trials"


class _RayExperimentPlateauStopper:
    """Ray Tune 2.x ``ExperimentPlateauStopper.__call__``/``stop_all``, line for line.

    Source: ``ray/tune/stopper/experiment_plateau.py``. Ray calls it once per reported
    result; the replay reports each trial once, with its final score. Trials that error
    never reach a Ray stopper, so failed trials are skipped.
    """

    def __init__(self, std: float, top: int, mode: str, patience: int):
        self._mode, self._patience, self._std, self._top = mode, patience, std, top
        self._iterations = 0
        self._top_values: list[float] = []

    def __call__(self, value: float) -> bool:
        self._top_values.append(value)
        if self._mode == "min":
            self._top_values = sorted(self._top_values)[: self._top]
        else:
            self._top_values = sorted(self._top_values)[-self._top :]
        if self.has_plateaued():
            self._iterations += 1
        else:
            self._iterations = 0
        return self.stop_all()

    def has_plateaued(self) -> bool:
        return bool(
            len(self._top_values) == self._top and np.std(self._top_values) <= self._std
        )

    def stop_all(self) -> bool:
        return self.has_plateaued() and self._iterations >= self._patience


@dataclass(frozen=True)
class RayPlateau:
    """Ray Tune's ``ExperimentPlateauStopper(metric, std, top, mode, patience)``.

    Stops the experiment once the ``top`` best scores have a (population) standard deviation
    of at most ``std`` for more than ``patience`` consecutive results. Ray's defaults:
    ``top=10``, ``patience=0``. Arguments are checked as Ray checks them.

    Parameters
    ----------
    std : float
        Largest standard deviation of the ``top`` best scores that counts as a plateau
        (a float > 0, as Ray requires).
    top : int
        How many of the best scores to look at (> 1).
    patience : int
        Results the plateau must last for, counted as Ray counts them (the result that
        reaches the plateau is the first, so 0 and 1 both stop there).

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([0.1, 0.5, 0.8, 0.81, 0.8, 0.79, 0.2, 0.3])
    >>> RayPlateau(0.01, top=3)(scores, "maximize")  # top 3 = 0.8, 0.8, 0.81 at trial 5
    5
    >>> RayPlateau(0.01, top=3, patience=2)(scores, "maximize")
    6
    >>> RayPlateau(0.001, top=3)(scores, "maximize")  # never a plateau: every trial
    8
    """

    std: float
    top: int = 10
    patience: int = 0

    def __post_init__(self):
        if not isinstance(self.top, int) or self.top <= 1:
            raise InvalidParameterError(f"top must be an integer > 1, got {self.top!r}")
        if not isinstance(self.patience, int) or self.patience < 0:
            raise InvalidParameterError(f"patience must be an integer >= 0, got {self.patience!r}")
        if not isinstance(self.std, float) or not self.std > 0:
            raise InvalidParameterError(f"std must be a float > 0, got {self.std!r}")

    def __call__(self, scores: np.ndarray, direction: str) -> int:
        mode = "max" if direction == "maximize" else "min"
        stopper = _RayExperimentPlateauStopper(self.std, self.top, mode, self.patience)
        for i, score in enumerate(scores):
            if math.isfinite(score) and stopper(float(score)):
                return i + 1
        return len(scores)

    def describe(self) -> str:
        return f"Ray ExperimentPlateauStopper(top={self.top}, std={self.std:g})"


def terminator_note() -> str | None:
    """Why Optuna's Terminator is not among the baselines (``None`` would mean it could be).

    Pass it in ``replay(..., notes=[terminator_note()])`` to print it under the table.

    Examples
    --------
    >>> terminator_note()
    'Optuna Terminator (static error = epsilon): skipped, ...'
    """
    try:
        import torch  # noqa: F401
    except ImportError:
        return "Optuna Terminator (static error = epsilon): skipped, torch is not installed"
    return (
        "Optuna Terminator (static error = epsilon): skipped, its regret bound fits a Gaussian "
        "process to the hyperparameters, which a replay of scores does not have (see "
        "examples/benchmarks/bench_terminator_replay.py, which replays them)"
    )


def baselines(epsilon: float) -> dict[str, Rule | Stopper]:
    """The issue-4 baselines: fixed 50 and 100 trials, Patience 20 and 50, Ray's plateau.

    Parameters
    ----------
    epsilon : float
        The replay's epsilon, used as the plateau's ``std``.

    Returns
    -------
    dict of name to rule
        Ready for :func:`replay`'s ``rules`` (add your own rules to it).

    Examples
    --------
    >>> list(baselines(0.01))
    ['fixed 50', 'fixed 100', 'Patience(20)', 'Patience(50)', 'Ray plateau(top=10, std=0.01)']
    >>> baselines(0.01)["Ray plateau(top=10, std=0.01)"]
    RayPlateau(std=0.01, top=10, patience=0)
    """
    from tailstop.rules import Patience

    return {
        "fixed 50": FixedTrials(50),
        "fixed 100": FixedTrials(100),
        "Patience(20)": Patience(20),
        "Patience(50)": Patience(50),
        f"Ray plateau(top=10, std={epsilon:g})": RayPlateau(float(epsilon), top=10),
    }

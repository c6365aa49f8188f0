"""Does a hyperparameter's range cut the search off from its optimum?

tailstop's best possible score is the best *within the ranges searched*. When the optimum lies
beyond one end of a range (the best learning rate is the largest one tried), the best trials
crowd that end: a range to widen, and an estimate to read with care (its interval then stays
several times as wide as with the optimum inside; README, Assumptions and limits).

:func:`crowded_edges` flags a numeric hyperparameter when at least ``CROWD_SHARE`` (three
quarters) of the best ``m`` trials that set it lie in the outer ``EDGE_SHARE`` (a tenth) of its
range at one end, measured on the scale it is sampled on (log for a log range), with
``m = max(10, 2% of the finished trials)``. For a hyperparameter that does not matter the best
trials fall anywhere: at least 8 of 10 in one end's tenth has a chance of 3.7e-7. The flag
also comes up for an optimum inside the range but within its outer tenth: widening the range
is then cheap insurance.

Where the ranges are not known (a file of results, a Ray Tune folder), :func:`sampled_ranges`
reads them off the values: a random search samples each hyperparameter uniformly (or
log-uniformly) over its range, so a field whose values pass a Kolmogorov-Smirnov test of that
law over the span they cover was sampled so, and the span is its range to within about
``1 / n`` of it. Fields that fail both laws (metrics, durations, a range that depends on
another hyperparameter) are left out, as are trial numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from tailstop._data import check_direction
from tailstop._io import nested_value
from tailstop.errors import InvalidDataError, InvalidParameterError

__all__ = ["CROWD_SHARE", "EDGE_SHARE", "MIN_BEST", "MIN_INTEGER_VALUES", "RangeEdge",
           "crowded_edges", "sampled_ranges"]

EDGE_SHARE = 0.1  # the outer tenth of a range, at each end
CROWD_SHARE = 0.75  # of the best trials
MIN_BEST = 10  # best trials to look at, at least
BEST_SHARE = 0.02  # of the finished trials, when more
MIN_INTEGER_VALUES = 10  # an integer range of fewer values has no "outer tenth"
SAMPLED_LEVEL = 0.01  # of the test that a field's values were sampled over their span
RESTATED_RHO = 0.999  # rank correlation with the score of a field of its ranks
# fields that number the trials rather than set them (compared in lower case)
INDEX_NAMES = frozenset({"", "trial", "trial_id", "trial_number", "number", "id", "index",
                         "unnamed: 0", "step", "iteration", "training_iteration"})


@dataclass(frozen=True)
class RangeEdge:
    """A hyperparameter whose best trials crowd one end of its range."""

    name: str
    end: str  # "low" or "high"
    count: int  # best trials in the outer tenth at that end
    best: int  # best trials that set the hyperparameter
    low: float | None = None  # the range (None where not told)
    high: float | None = None
    log: bool = False  # on a log scale

    def __str__(self) -> str:
        span = ""
        if self.low is not None and self.high is not None:
            span = f" ({self.low:.4g} to {self.high:.4g}{', log scale' if self.log else ''})"
        return (f"{self.count} of the {self.best} best trials set {self.name} in the "
                f"{'top' if self.end == 'high' else 'bottom'} tenth of its range{span}: the "
                f"optimum may lie beyond it (widen the range)")

    def to_dict(self) -> dict:
        return {"name": self.name, "end": self.end, "count": self.count, "best": self.best,
                "low": self.low, "high": self.high, "log": self.log}


def crowded_edges(
    scores: Sequence[float | None],
    configs: Sequence[Mapping[str, object] | None],
    ranges: Mapping[str, tuple],
    direction: str,
) -> list[RangeEdge]:
    """The hyperparameters whose best trials crowd one end of their range (module docstring).

    ``scores`` and ``configs`` hold one entry per trial (a failed trial's score None or NaN);
    ``ranges`` maps a hyperparameter's name to ``(low, high)`` or ``(low, high, log)``, the
    range it is sampled from (``log`` True: on a log scale); leave out an integer range of
    fewer than ``MIN_INTEGER_VALUES`` (10) values, which has no outer tenth. Hyperparameters
    without a range, and values that are not numbers, are left out. A name may reach into
    nested configs in slash notation (``"optimizer/lr"``, as Tune's results are read).
    """
    direction = check_direction(direction)
    _check_configs(configs)
    if not isinstance(ranges, Mapping):
        raise InvalidParameterError(
            f"ranges must map a hyperparameter's name to (low, high[, log]), got a "
            f"{type(ranges).__name__}"
        )
    values = _scores_of(scores, configs)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size < 2 * MIN_BEST:
        return []
    sign = 1.0 if direction == "maximize" else -1.0
    # best first; ties keep trial order
    order = finite[np.argsort(-sign * values[finite], kind="stable")]
    wanted = max(MIN_BEST, math.ceil(BEST_SHARE * finite.size))
    edges = []
    for name, bounds in ranges.items():
        position = _position(bounds)
        if position is None:
            continue
        low, high = float(bounds[0]), float(bounds[1])
        log = bool(bounds[2]) if len(bounds) > 2 else False
        where = []
        for i in order:
            config = configs[i]
            value = nested_value(config, name) if isinstance(config, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                u = position(float(value))
                if math.isfinite(u):
                    where.append(u)
                    if len(where) == wanted:
                        break
        if len(where) < MIN_BEST:
            continue
        placed = np.asarray(where)
        for end, count in (("low", int(np.sum(placed <= EDGE_SHARE))),
                           ("high", int(np.sum(placed >= 1.0 - EDGE_SHARE)))):
            if count >= CROWD_SHARE * placed.size:
                edges.append(RangeEdge(name, end, count, placed.size, low, high, log))
    return edges


def _check_configs(configs) -> None:
    """InvalidDataError unless ``configs`` is a sequence of per-trial entries."""
    if isinstance(configs, (str, bytes, Mapping)) or not hasattr(configs, "__len__"):
        raise InvalidDataError(
            f"configs must hold one mapping per trial, got a {type(configs).__name__}"
        )


def _scores_of(scores: Sequence[float | None], configs: Sequence) -> np.ndarray:
    """The scores as floats (NaN for a failed trial), one per config, or InvalidDataError."""
    if len(scores) != len(configs):
        raise InvalidDataError(
            f"scores and configs must hold one entry per trial, got {len(scores)} and "
            f"{len(configs)}"
        )
    try:
        return np.array([np.nan if s is None else float(s) for s in scores], dtype=float)
    except (TypeError, ValueError):
        raise InvalidDataError("scores must be numbers (None or NaN for a failed trial)") from None


def _position(bounds: tuple):
    """The map from a value to its place in the range, 0 at ``low`` and 1 at ``high`` (on a
    log scale for a log range), or None for a range that cannot be read so."""
    try:
        low, high = float(bounds[0]), float(bounds[1])
        log = bool(bounds[2]) if len(bounds) > 2 else False
    except (TypeError, ValueError, IndexError):
        return None
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        return None
    if log:
        if low <= 0:
            return None
        low, high = math.log(low), math.log(high)
        return lambda x: (math.log(x) - low) / (high - low) if x > 0 else math.nan
    return lambda x: (x - low) / (high - low)


def sampled_ranges(
    configs: Sequence[Mapping[str, object] | None],
    scores: Sequence[float | None] | None = None,
    *,
    level: float = SAMPLED_LEVEL,
) -> dict[str, tuple[float, float, bool]]:
    """The ranges a random search sampled its numeric hyperparameters from, read off the
    values (module docstring): ``{name: (low, high, log)}`` for :func:`crowded_edges`.

    ``configs`` holds one mapping per trial (None for a trial without one); nested mappings
    are read in slash notation (``"optimizer/lr"``). A field is kept when it holds numbers
    (not booleans) in at least ``2 MIN_BEST`` trials, of at least ``MIN_INTEGER_VALUES``
    distinct values, not sorted in trial order (a counter), not named as a trial number
    (``INDEX_NAMES``), and its values pass, at ``level``, the Kolmogorov-Smirnov test of the
    uniform law over ``[low, high]`` = the span they cover, or of the log-uniform law when
    that fits them better (positive values only). Integer values are tested as a rounded
    draw: against the law over ``[low - 1/2, high + 1/2]`` at the cell ends.

    ``scores`` (one per trial, None or NaN for a failed one): also leave out a field of
    integers that orders the trials as the score does, ``|Spearman's rho| >= RESTATED_RHO``
    (0.999) over the trials that have both: the score's rank (scikit-learn's
    ``rank_test_score``), uniform over its span like a sampled integer, and its best trials
    all at one end. (A continuous field can order the trials so too and be a hyperparameter:
    the one a noiseless score of a single hyperparameter rises with up to an end of its
    range; a continuous restatement of the score, such as an error rate, rarely looks sampled
    uniformly: see docs/benchmarks.md.)
    """
    if not 0.0 < level < 1.0:
        raise InvalidParameterError(f"level must lie in (0, 1), got {level!r}")
    _check_configs(configs)
    configs = list(configs)
    paired = None if scores is None else _scores_of(scores, configs)
    columns: dict[str, list[float]] = {}
    trials: dict[str, list[int]] = {}
    for i, config in enumerate(configs):
        if isinstance(config, Mapping):
            for name, value in _numeric_leaves(config, ""):
                columns.setdefault(name, []).append(value)
                trials.setdefault(name, []).append(i)
    ranges = {}
    for name, column in columns.items():
        values = np.asarray(column, dtype=float)
        if (values.size < 2 * MIN_BEST or name.rsplit("/", 1)[-1].strip().lower() in INDEX_NAMES
                or np.unique(values).size < MIN_INTEGER_VALUES):
            continue
        steps = np.diff(values)
        if np.all(steps >= 0) or np.all(steps <= 0):
            continue
        if paired is not None and _restates(values, paired[trials[name]]):
            continue
        critical = float(stats.kstwo.isf(level, values.size))
        fits = [(_sampled_distance(values, log), log) for log in (False, True)
                if not log or values.min() > 0]
        distance, log = min(fits)
        if distance <= critical:
            ranges[name] = (float(values.min()), float(values.max()), log)
    return ranges


def _restates(values: np.ndarray, scores: np.ndarray) -> bool:
    """Whether ``values`` are integers that order their trials as ``scores`` do: the
    scores' ranks (``sampled_ranges``)."""
    both = np.isfinite(scores)
    if (both.sum() < 2 * MIN_BEST or np.any(values != np.round(values))
            or np.ptp(scores[both]) == 0 or np.ptp(values[both]) == 0):
        return False
    rho = stats.spearmanr(values[both], scores[both])[0]
    return bool(abs(rho) >= RESTATED_RHO)


def _numeric_leaves(config: Mapping, prefix: str):
    """``(slash path, value)`` of every finite number in a (nested) mapping."""
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _numeric_leaves(value, name + "/")
        elif (isinstance(value, (int, float, np.integer, np.floating))
              and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)):
            yield name, float(value)


def _sampled_distance(values: np.ndarray, log: bool) -> float:
    """Kolmogorov-Smirnov distance of ``values`` from the uniform (``log``: log-uniform) law
    over their span, integers as rounded draws (``sampled_ranges``)."""
    half = 0.5 if np.all(values == np.round(values)) else 0.0
    low, high = values.min() - half, values.max() + half  # (log: positive integers, low >= 1/2)
    transform = np.log if log else (lambda x: x)
    start, width = transform(low), transform(high) - transform(low)

    def law(x):
        return np.clip((transform(x) - start) / width, 0.0, 1.0)

    distinct, counts = np.unique(values, return_counts=True)
    after = np.cumsum(counts) / values.size
    before = after - counts / values.size
    return float(max(np.max(after - law(distinct + half)),
                     np.max(law(distinct - half) - before)))

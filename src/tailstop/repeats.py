"""Configurations a search ran more than once, and what their scores say about the seed noise.

Random search over integers and categories alone draws the same configuration again and
again (a neighbour count in 1..59 and two binary choices: 236 configurations, so 300
trials repeated 85 of them). When every repeat scores exactly what the first run did, the
objective is deterministic: its seed noise is 0, measured rather than fitted. That matters,
because a fit to such a search reads the surface's misfit (the law assumes continuous
hyperparameters) as seed noise, and the default stopping rule's epsilon follows the fitted
noise: on a deterministic k-nearest-neighbours search it stopped 0.010 short of the best
(``examples/benchmarks/check_stepped_search.py --search knn``). A single repeat whose scores
differ shows the objective is not deterministic.

:class:`Repeats` keeps the evidence; :class:`tailstop.Monitor` reads it when trials come with
their configuration (``observe(score, config=...)``; the Optuna and Ray Tune adapters pass
the trial's parameters) and then holds the noise at 0, unless the user gave one.

Example
-------
>>> repeats = Repeats(min_configurations=2)
>>> for k, score in [(3, 0.91), (5, 0.93), (3, 0.91), (7, 0.90), (5, 0.93)]:
...     repeats.add({"n_neighbors": k}, score)
>>> repeats.n_repeated, repeats.deterministic
(2, True)
>>> repeats.add({"n_neighbors": 7}, 0.89)
>>> repeats.deterministic
False
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import Any

from tailstop.errors import InvalidParameterError

__all__ = [
    "MIN_CONFIGURATIONS",
    "RELATIVE_TOLERANCE",
    "ConfigurationLog",
    "Repeats",
    "configuration_key",
]

# Repeated configurations, every repeat exact, that make an objective deterministic. Five were
# too few: a decision tree whose seed only breaks ties between features repeated nine
# configurations exactly before one differed, at trial 194 (check_stepped_search.py --search
# tree; README, Assumptions).
# Ten exact repeats in a row rule out, at 95%, a chance of more than a quarter per repeat to
# differ.
MIN_CONFIGURATIONS = 10
RELATIVE_TOLERANCE = 1e-9  # scores this close (relative) are the same score (summation order)


def configuration_key(config: Any) -> Hashable:
    """A hashable key equal for equal configurations: mappings by their sorted items, lists
    and tuples by their items (recursively), numpy scalars by their value; anything else
    unhashable by its ``repr``."""
    if isinstance(config, Mapping):
        items = sorted(((repr(key), value) for key, value in config.items()),
                       key=lambda item: item[0])  # by the key alone: values may not compare
        return ("mapping", tuple((key, configuration_key(value)) for key, value in items))
    if isinstance(config, (list, tuple)):
        return ("sequence", tuple(configuration_key(value) for value in config))
    item = getattr(config, "item", None)
    if callable(item) and getattr(config, "shape", None) == ():
        config = item()  # a numpy scalar or 0-d array
    if isinstance(config, float) and math.isnan(config):
        return ("nan",)
    try:
        hash(config)
    except TypeError:
        return ("repr", repr(config))
    return (type(config).__name__ if isinstance(config, bool) else "value", config)


class Repeats:
    """The finite scores of every configuration seen more than once, and the verdict.

    Parameters
    ----------
    min_configurations : int
        How many distinct configurations must have been repeated, every repeat scoring the
        same, before :attr:`deterministic` is True. Two runs of a noisy objective can tie
        by chance when its score comes in steps coarser than the noise (accuracy on a small
        set); several such ties in a row are the evidence.

    Notes
    -----
    Scores equal to within ``RELATIVE_TOLERANCE`` of their magnitude are the same score (a
    sum in another order). Failed runs (None, NaN, inf) are left out. A seed among the
    configuration's parameters makes every repeat of it exact by construction: the verdict
    is then about the seed's own choice, not about the noise; turn the detection off there
    (``Monitor(detect_deterministic=False)``).
    """

    def __init__(self, min_configurations: int = MIN_CONFIGURATIONS):
        if isinstance(min_configurations, bool) or not isinstance(min_configurations, int) \
                or min_configurations < 1:
            raise InvalidParameterError(
                f"min_configurations must be an integer >= 1, got {min_configurations!r}"
            )
        self.min_configurations = min_configurations
        self._first: dict[Hashable, float] = {}  # each configuration's first finite score
        self._repeated: set[Hashable] = set()
        self._differs = False

    def add(self, config: Any, score: float | None) -> None:
        """Record one finished run of ``config`` (failed: ``score`` None or not finite)."""
        if score is None or not math.isfinite(score):
            return
        try:
            key = configuration_key(config)
            value = float(score)
            if key not in self._first:
                self._first[key] = value
                return
        except Exception:  # a configuration that cannot be keyed (its hash or == raises)
            return  # says nothing: left out
        self._repeated.add(key)
        first = self._first[key]
        if abs(value - first) > RELATIVE_TOLERANCE * max(abs(first), abs(value)):
            self._differs = True

    @property
    def n_repeated(self) -> int:
        """Distinct configurations with two or more finite scores."""
        return len(self._repeated)

    @property
    def deterministic(self) -> bool | None:
        """True when at least ``min_configurations`` configurations were repeated and every
        repeat scored the same; False once any repeat scored differently; None until then."""
        if self._differs:
            return False
        return True if len(self._repeated) >= self.min_configurations else None

    def to_dict(self) -> dict:
        """``{"repeated_configurations": int, "deterministic": bool or None}``."""
        return {"repeated_configurations": self.n_repeated, "deterministic": self.deterministic}


class ConfigurationLog:
    """Each trial's configuration in order (None: not given) and the :class:`Repeats` among
    them: the part of a :class:`tailstop.Monitor` that watches for a deterministic objective."""

    def __init__(self) -> None:
        self.configs: list[Any] = []
        self.repeats = Repeats()
        self.any_given = False  # whether any trial came with its configuration

    def extend(self, configs: list, values: list) -> None:
        """Append trials: their configurations and their scores (NaN for a failed one)."""
        for config, value in zip(configs, values, strict=True):
            self.configs.append(config)
            if config is not None:
                self.any_given = True
                self.repeats.add(config, value)


def verdict_notice(noise: float | None, n_repeated: int) -> str:
    """The log line of a change of the noise the repeats make refits hold (0 or None)."""
    if noise == 0.0:
        return (
            f"tailstop: {n_repeated} configurations ran more than once and every repeat scored "
            "the same: the objective is deterministic, and the refits hold the seed noise at 0 "
            "(detect_deterministic=False turns this off)"
        )
    return (
        "tailstop: a repeated configuration scored differently: the objective is not "
        "deterministic after all, and the refits fit the seed noise again"
    )

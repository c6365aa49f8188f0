"""tailstop: know when to stop a hyperparameter search.

The best scores of a random search follow the noisy quadratic distribution (Lourie, He &
Cho, "Hyperparameter Loss Surfaces Are Simple Near their Optima", COLM 2025).  tailstop
fits it to a live search and tells how much more the search can still gain.
"""

from __future__ import annotations

from tailstop import errors, replay, rules
from tailstop.distributions import NoisyQuadraticDistribution, QuadraticDistribution
from tailstop.estimate import EffectiveDimension, Interval, TailEstimate, analyze
from tailstop.monitor import Monitor
from tailstop.replay import ReplayResult
from tailstop.rules import (
    CostBenefit,
    Decision,
    GainBelow,
    NearOptimum,
    Patience,
    Rule,
    SearchState,
    all_of,
    any_of,
)
from tailstop.seednoise import seed_noise

__version__ = "0.1.0.dev0"

# submodules imported on first use (``tailstop.plot.figure``), not with the package
_LAZY_SUBMODULES = ("bands", "edges", "fitting", "forecast", "nonparametric", "plot", "synthetic")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"tailstop.{name}")
    raise AttributeError(f"module 'tailstop' has no attribute {name!r}")

__all__ = [
    "CostBenefit",
    "Decision",
    "EffectiveDimension",
    "GainBelow",
    "Interval",
    "Monitor",
    "NearOptimum",
    "NoisyQuadraticDistribution",
    "Patience",
    "QuadraticDistribution",
    "ReplayResult",
    "Rule",
    "SearchState",
    "TailEstimate",
    "__version__",
    "all_of",
    "analyze",
    "any_of",
    "errors",
    "replay",
    "rules",
    "seed_noise",
]

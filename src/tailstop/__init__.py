"""tailstop: know when to stop a hyperparameter search.

The best scores of a random search follow the noisy quadratic distribution (Lourie, He &
Cho, "Hyperparameter Loss Surfaces Are Simple Near their Optima", COLM 2025).  tailstop
fits it to a live search and tells how much more the search can still gain.
"""

from __future__ import annotations

from tailstop import errors, rules
from tailstop.distributions import NoisyQuadraticDistribution, QuadraticDistribution
from tailstop.estimate import EffectiveDimension, Interval, TailEstimate, analyze
from tailstop.monitor import Monitor
from tailstop.rules import CostBenefit, GainBelow, NearOptimum, Patience, all_of, any_of

__version__ = "0.1.0.dev0"

__all__ = [
    "CostBenefit",
    "EffectiveDimension",
    "GainBelow",
    "Interval",
    "Monitor",
    "NearOptimum",
    "NoisyQuadraticDistribution",
    "Patience",
    "QuadraticDistribution",
    "TailEstimate",
    "__version__",
    "all_of",
    "analyze",
    "any_of",
    "errors",
    "rules",
]

"""tailstop: know when to stop a hyperparameter search.

The best scores of a random search follow the noisy quadratic distribution (Lourie, He &
Cho, "Hyperparameter Loss Surfaces Are Simple Near their Optima", COLM 2025).  tailstop
fits it to a live search and tells how much more the search can still gain.
"""

from __future__ import annotations

from tailstop import errors
from tailstop.distributions import NoisyQuadraticDistribution, QuadraticDistribution

__version__ = "0.1.0.dev0"

__all__ = [
    "NoisyQuadraticDistribution",
    "QuadraticDistribution",
    "__version__",
    "errors",
]

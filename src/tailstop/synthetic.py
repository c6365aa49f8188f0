"""Random-search problems with a known truth, for checking tailstop on searches it has not seen.

A problem is an objective over ``d`` hyperparameters sampled uniformly in the unit box. Near its
optimum ``x*`` the expected score is quadratic in ``r <= d`` directions and flat in the others::

    q(x) = sum_{j=1}^{r} lam_j (u_j . (x - x*))^2        (u_j orthonormal, lam_j > 0)
    score(x) = best - scale * h(q(x)) + noise            (maximise; minimise flips the sign)
    h(q) = 1 - exp(-q)

``h(q) = q - q^2/2 + ...`` is quadratic at the optimum but saturates farther out, so the score
distribution of random search is *not* a noisy quadratic: only its tail approaches one, with
effective dimension ``r`` (the rank of the Hessian) and best possible expected score ``best``
(Lourie, He & Cho 2025, §2). The seed noise is normal with standard deviation
``noise_ratio * scale``. The directions that do not matter are exactly flat, so ``r`` is the
true effective dimension.

Example
-------
>>> from tailstop.synthetic import make_problem
>>> problem = make_problem(2, dimension=5, noise_ratio=0.01, generator=0)
>>> scores = problem.run_search(100, generator=1)
>>> scores.shape, problem.effective_dimension
((100,), 2)
>>> bool(scores.max() < problem.best + 5 * problem.noise)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import gamma

import numpy as np

from tailstop._data import as_generator, integer, real_array, real_number
from tailstop.errors import InvalidParameterError

__all__ = ["SyntheticProblem", "make_problem", "random_problems"]

_DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class SyntheticProblem:
    """A random-search problem whose best expected score and effective dimension are known.

    Attributes
    ----------
    dimension : int
        Number of hyperparameters ``d`` (each sampled uniformly in [0, 1]).
    effective_dimension : int
        Number ``r`` of directions in which the score is quadratic at the optimum (the truth
        for the noisy quadratic's ``c``).
    best : float
        The best possible expected score, ``score(x*)`` without noise.
    scale : float
        The range of expected scores: every expected score lies within ``scale`` of ``best``.
    noise : float
        Standard deviation of the seed noise.
    direction : str
        ``"maximize"`` or ``"minimize"``.
    optimum : ndarray, shape (d,)
        The hyperparameters ``x*`` with the best expected score.
    directions : ndarray, shape (r, d)
        Orthonormal rows ``u_j``: the directions in which the score is quadratic.
    curvatures : ndarray, shape (r,)
        The ``lam_j > 0`` of ``q(x)``.

    The attributes are also the constructor's parameters; :func:`make_problem` draws them.

    Examples
    --------
    >>> import numpy as np
    >>> problem = make_problem(3, noise_ratio=0.02, direction="minimize", best=0.1,
    ...                        regime_mass=0.1, generator=0)
    >>> problem
    SyntheticProblem(dimension=6, effective_dimension=3, best=0.1, scale=1.0, noise=0.02,
                     direction='minimize')
    >>> float(problem.expected_score(problem.optimum)), problem.noise_ratio
    (0.1, 0.02)

    About 10% (``regime_mass``) of random trials score within ``scale / 2`` of the best:

    >>> x = np.random.default_rng(1).random((100_000, problem.dimension))
    >>> round(float(np.mean(problem.expected_score(x) < problem.best + 0.5)), 2)
    0.11
    >>> problem.objective(x[:3], generator=2).shape
    (3,)
    >>> best_of = problem.expected_best([1, 10, 100], n_reference=100_000)
    >>> bool(best_of[0] > best_of[1] > best_of[2] > problem.best)  # a loss goes down
    True
    """

    dimension: int
    effective_dimension: int
    best: float
    scale: float
    noise: float
    direction: str
    optimum: np.ndarray = field(repr=False)
    directions: np.ndarray = field(repr=False)
    curvatures: np.ndarray = field(repr=False)

    @property
    def noise_ratio(self) -> float:
        """Seed noise relative to the range of expected scores."""
        return self.noise / self.scale

    def expected_score(self, x: np.ndarray) -> np.ndarray:
        """Noiseless score of hyperparameters ``x`` (shape ``(..., d)``)."""
        x = np.asarray(x, dtype=float)
        if x.shape[-1] != self.dimension:
            raise InvalidParameterError(
                f"x has {x.shape[-1]} hyperparameters; this problem has {self.dimension}"
            )
        projections = (x - self.optimum) @ self.directions.T
        q = np.sum(self.curvatures * projections**2, axis=-1)
        drop = self.scale * -np.expm1(-q)
        return self.best - drop if self.direction == "maximize" else self.best + drop

    def objective(
        self, x: np.ndarray, *, generator: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Score of hyperparameters ``x`` with one draw of seed noise each."""
        value = self.expected_score(x)
        if self.noise > 0:
            value = value + as_generator(generator).normal(0.0, self.noise, size=np.shape(value))
        return value

    def run_search(
        self, n_trials: int, *, generator: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Scores of ``n_trials`` random-search trials, in the order they ran."""
        n_trials = integer(n_trials, "n_trials", 1)
        rng = as_generator(generator)
        x = rng.random((n_trials, self.dimension))
        return self.objective(x, generator=rng)

    def expected_best(
        self,
        ks: Sequence[float] | np.ndarray,
        *,
        n_reference: int = 1_000_000,
        generator: np.random.Generator | int | None = 0,
    ) -> np.ndarray:
        """Expected best score after ``k`` trials, from a large reference sample.

        Uses the exact expected maximum (minimum) of ``k`` draws from the empirical
        distribution of ``n_reference`` scores: ``sum_i y_(i) [(i/N)^k - ((i-1)/N)^k]``
        (Dodge et al. 2019); its Monte Carlo error shrinks like ``1/sqrt(N)``.
        """
        ks = real_array(ks, "ks")
        if np.any(~(ks > 0)) or np.any(np.isinf(ks)):
            raise InvalidParameterError(f"ks must be finite and > 0, got {ks!r}")
        scores = np.sort(self.run_search(n_reference, generator=generator))
        if self.direction == "minimize":
            scores = -scores[::-1]
        grid = np.arange(scores.size + 1) / scores.size
        weights = np.diff(grid[None, :] ** ks.reshape(-1, 1), axis=1)
        best = weights @ scores
        best = best if self.direction == "maximize" else -best
        return best.reshape(ks.shape)


def make_problem(
    effective_dimension: int,
    *,
    dimension: int | None = None,
    noise_ratio: float = 0.0,
    direction: str = "maximize",
    best: float | None = None,
    scale: float = 1.0,
    regime_mass: float | None = None,
    generator: np.random.Generator | int | None = None,
) -> SyntheticProblem:
    """Draw a random problem with a known best expected score and effective dimension.

    Parameters
    ----------
    effective_dimension : int
        ``r``, the number of directions that matter (1 or more).
    dimension : int, optional
        ``d >= r``, the number of hyperparameters searched; default ``r + 3``.
    noise_ratio : float
        Seed noise std relative to ``scale``.
    direction : {"maximize", "minimize"}
    best : float, optional
        Best possible expected score; default drawn uniformly in [0.5, 0.9] (an accuracy).
    scale : float
        Range of expected scores.
    regime_mass : float, optional
        Probability that a random trial scores within ``scale / 2`` of ``best``; sets the
        curvatures. Default drawn log-uniformly in [0.02, 0.3].
    generator : numpy Generator or int seed, optional
        Source of every random choice (seed it for a reproducible problem).

    Returns
    -------
    SyntheticProblem

    Examples
    --------
    >>> problem = make_problem(2, dimension=6, noise_ratio=0.05, scale=10.0, generator=0)
    >>> problem.dimension, problem.effective_dimension, problem.noise
    (6, 2, 0.5)
    >>> bool(0.5 <= problem.best <= 0.9), problem.directions.shape
    (True, (2, 6))
    >>> scores = problem.run_search(1000, generator=1)
    >>> bool(scores.max() < problem.best + 4 * problem.noise)
    True
    """
    r = integer(effective_dimension, "effective_dimension", 1)
    d = r + 3 if dimension is None else integer(dimension, "dimension", 1)
    if d < r:
        raise InvalidParameterError(f"dimension ({d}) must be at least effective_dimension ({r})")
    if direction not in _DIRECTIONS:
        raise InvalidParameterError(
            f"direction must be 'maximize' or 'minimize', got {direction!r}"
        )
    noise_ratio = real_number(noise_ratio, "noise_ratio")
    if not (np.isfinite(noise_ratio) and noise_ratio >= 0):
        raise InvalidParameterError(f"noise_ratio must be finite and >= 0, got {noise_ratio}")
    scale = real_number(scale, "scale")
    if not (np.isfinite(scale) and scale > 0):
        raise InvalidParameterError(f"scale must be finite and > 0, got {scale}")
    rng = as_generator(generator)
    best = float(rng.uniform(0.5, 0.9)) if best is None else real_number(best, "best")
    if not np.isfinite(best):
        raise InvalidParameterError(f"best must be finite, got {best!r}")
    if regime_mass is None:
        mass = float(np.exp(rng.uniform(np.log(0.02), np.log(0.3))))
    else:
        mass = real_number(regime_mass, "regime_mass")
    if not 0 < mass < 1:
        raise InvalidParameterError(f"regime_mass must be in (0, 1), got {mass}")
    optimum = rng.uniform(0.25, 0.75, size=d)
    directions = np.linalg.qr(rng.normal(size=(d, d)))[0][:, :r].T
    # Anisotropic curvatures, then one common factor so that P(h(q) < 1/2) is about `mass`:
    # within the box, {q < ln 2} is an ellipsoid of volume V_r * prod (ln2 / lam_j)^(1/2).
    shape = np.exp(rng.uniform(np.log(0.2), np.log(5.0), size=r))
    unit_ball = np.pi ** (r / 2) / gamma(r / 2 + 1)
    volume = unit_ball * np.prod(np.sqrt(np.log(2.0) / shape))
    factor = (volume / mass) ** (2.0 / r)
    return SyntheticProblem(
        dimension=d,
        effective_dimension=r,
        best=best,
        scale=float(scale),
        noise=float(noise_ratio) * float(scale),
        direction=direction,
        optimum=optimum,
        directions=directions,
        curvatures=shape * factor,
    )


def random_problems(
    count: int,
    *,
    effective_dimensions: Sequence[int] = (1, 2, 3, 4),
    noise_ratios: Sequence[float] = (0.0, 0.01, 0.05),
    directions: Sequence[str] = _DIRECTIONS,
    generator: np.random.Generator | int | None = None,
) -> list[SyntheticProblem]:
    """``count`` problems cycling through every combination of the given settings.

    Parameters
    ----------
    count : int
        Number of problems.
    effective_dimensions : sequence of int
        Values of ``r`` to cycle through (outermost).
    noise_ratios : sequence of float
        Seed noise relative to the range of expected scores.
    directions : sequence of str
        ``"maximize"`` and/or ``"minimize"`` (innermost).
    generator : numpy Generator or int seed, optional
        Shared by all the problems (each draws its own optimum, curvatures and best).

    Returns
    -------
    list of SyntheticProblem

    Examples
    --------
    >>> problems = random_problems(5, effective_dimensions=(1, 2), noise_ratios=(0.0, 0.01),
    ...                            directions=("maximize",), generator=0)
    >>> [(p.effective_dimension, p.noise_ratio, p.direction) for p in problems]
    [(1, 0.0, 'maximize'), (1, 0.01, 'maximize'), (2, 0.0, 'maximize'),
     (2, 0.01, 'maximize'), (1, 0.0, 'maximize')]
    """
    count = integer(count, "count", 0)
    rng = as_generator(generator)
    combos = [(r, s, dr) for r in effective_dimensions for s in noise_ratios for dr in directions]
    if not combos:
        raise InvalidParameterError(
            "effective_dimensions, noise_ratios and directions must each hold a value"
        )
    return [
        make_problem(r, noise_ratio=s, direction=dr, generator=rng)
        for r, s, dr in (combos[i % len(combos)] for i in range(count))
    ]

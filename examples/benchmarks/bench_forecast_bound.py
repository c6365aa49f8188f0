"""Benchmark: how well can any estimator forecast from 64 trials when the law is known in part?

``bench_law_known.py`` bounds the forecast of issue 3 with the whole law known (0.13-0.17x the
better baseline's error at n = 64); ``bench_forecast.py`` measures tailstop knowing nothing
(0.86-1.20x). This script asks what lies between, on searches where the noisy quadratic law
holds *exactly* in the tail, so that every shortfall is the estimator's:

* each shared search (``../shared/data/scores/*.csv``, maximise) is replaced by a mixture: with
  probability ``p`` (the tail's share that ``analyze`` chooses on all trials) a draw from the
  law fitted to all trials, conditioned on exceeding that tail's threshold ``theta``; otherwise
  one of the search's own scores at or below ``theta`` (these only ever count as censored);
* from ``--reps`` samples of ``n`` draws each predictor forecasts the expected best after
  ``k`` = 256 draws, ``E[T_256] = theta + int_theta^U (1 - F(t)^256) dt``, with
  ``F(t) = 1 - p (1 - G(t)) / (1 - G(theta))`` above ``theta`` (``G`` the law's CDF).

Predictors (``y*`` the sample's best, ``m`` = ``k - n``):

* ``best`` and ``nonparametric``: the baselines of ``bench_forecast.py``, ``y*`` and the
  sample's empirical average tuning curve at ``k``;
* ``law known``: ``E[max(y*, T_m)]`` under the mixture, what no estimator can beat;
* ``analyze``: tailstop, ``y* + expected_gain(m).estimate``, nothing known (and how often its
  90% interval holds the true gain ``E[max(y*, T_m)] - y*``);
* ``MPS ...``: the censored spacing fit with the threshold known (``limits=(theta, inf)``),
  the law's ``c`` and / or ``o`` given, and its plug-in gain ``int_y*^1 (1 - G^m)``;
* ``posterior mean / median`` (``--posterior``): ``c`` and ``o`` given, the posterior of the
  gain under a flat prior on the support's ends ``(a, b)``, on a grid of 40 x 100 whose
  sides move out until the posterior there is below 1e-3 of its peak (censored likelihood
  ``G(theta)^(n - k_tail) prod g(y_i)``); about 5 s per sample. With only the two ends
  unknown this is near the best any estimator can do.

Prints the mean absolute error (x1e-3), its ratio to the better baseline's (issue 3's target:
<= 0.5 at n = 64), and the bias.

Run from the repository root (about 2 minutes per search, 6 more with ``--posterior``)::

    PYTHONPATH=src python examples/benchmarks/bench_forecast_bound.py --reps 60 --posterior
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from bench_forecast import load_scores
from scipy.integrate import trapezoid  # (numpy's own is numpy >= 2 only)

from tailstop import NoisyQuadraticDistribution
from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.fitting import fit_parameters
from tailstop.forecast import expected_gain
from tailstop.nonparametric import EmpiricalDistribution

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
K = 256
GRID_POINTS = 100_001


class TailMixture:
    """Scores whose top share ``p`` above ``theta`` follows ``law`` exactly (module docstring)."""

    def __init__(self, law, theta: float, p: float, below: np.ndarray):
        self.law, self.theta, self.p = law, float(theta), float(p)
        self.below = np.asarray(below, dtype=float)
        self.survival_at_theta = 1.0 - float(law.cdf(theta))
        self.upper = min(1.0, float(law.b) + 12.0 * float(law.o))

    def cdf_above(self, t: np.ndarray) -> np.ndarray:
        """``F(t)`` for ``t > theta``."""
        survival = (1.0 - self.law.cdf(t)) / self.survival_at_theta
        return 1.0 - self.p * survival

    def expected_best(self, k: int, floor: float | None = None) -> float:
        """``E[max(floor, T_k)]`` (``floor`` None: ``E[T_k]``; the chance that all ``k`` draws
        fall at or below ``theta``, ``(1 - p)^k``, is neglected: below 1e-20 here)."""
        start = self.theta if floor is None else max(float(floor), self.theta)
        if start >= self.upper:
            return start
        t = np.linspace(start, self.upper, GRID_POINTS)
        return start + float(trapezoid(1.0 - self.cdf_above(t) ** k, t))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        m = int(rng.binomial(n, self.p))
        tail: list[float] = []
        while len(tail) < m:
            draws = self.law.sample(4 * m + 50, generator=rng)
            tail.extend(draws[draws > self.theta].tolist())
        values = np.concatenate([tail[:m], rng.choice(self.below, n - m)])
        rng.shuffle(values)
        return values


def plug_in_gain(ys, theta: float, constraints: dict, m: int) -> float:
    """The censored spacing fit's own gain ``int_y*^1 (1 - G^m)``, the threshold known."""
    fitted = fit_parameters(ys, (theta, np.inf), {"convex": False, "b": (0.0, 1.0), **constraints})
    law = NoisyQuadraticDistribution(fitted.a, fitted.b, fitted.c, fitted.o)
    return float(expected_gain(law, ys.max(), m, ceiling=1.0))


def _log_likelihood(tail, censored: int, theta: float, c: int, o: float, a_grid, b_grid):
    """Censored log-likelihood ``censored log G(theta) + sum log g(y_i)`` on a grid of ends."""
    log_like = np.full((a_grid.size, b_grid.size), -np.inf)
    for i, a in enumerate(a_grid):
        for j, b in enumerate(b_grid):
            if b <= a or a >= theta:
                continue
            law = NoisyQuadraticDistribution(a, b, c, o)
            at_theta = float(law.cdf(theta))
            if not 0.0 < at_theta < 1.0:
                continue
            density = np.maximum(law.pdf(tail), 1e-300)
            log_like[i, j] = censored * np.log(at_theta) + np.sum(np.log(density))
    return log_like


BORDER = 1e-3  # a grid's side moves out while its posterior weight exceeds this share of the peak


def posterior_gain(ys, theta: float, c: int, o: float, m: int, start) -> tuple[float, float, float]:
    """Posterior mean and median of the gain of ``m`` draws, ``c`` and ``o`` given, a flat
    prior on the ends ``(a, b)`` (``a < theta``, ``theta <= b <= 1``), on a 40 x 100 grid
    around ``start`` (a fit with the same ``c`` and ``o``), each side moved out (up to four
    times) while the posterior there exceeds ``BORDER`` of its peak; and the largest weight
    left on a movable side, relative to the peak."""
    best = float(ys.max())
    tail = ys[ys > theta]
    width = float(start.b - start.a)
    a_lo, a_hi = float(start.a) - 1.5 * width, min(theta, float(start.a) + 0.9 * width)
    b_lo = max(theta, best - 5.0 * o)
    b_hi = min(1.0, best + max(2.0 * (best - theta), 10.0 * o))
    for _ in range(5):
        a_grid = np.linspace(a_lo, a_hi, 40)
        b_grid = np.linspace(b_lo, b_hi, 100)
        log_like = _log_likelihood(tail, ys.size - tail.size, theta, c, o, a_grid, b_grid)
        weight = np.exp(log_like - log_like.max())
        sides = {"a_lo": weight[0].max(), "a_hi": weight[-1].max() if a_hi < theta else 0.0,
                 "b_lo": weight[:, 0].max() if b_lo > theta else 0.0,
                 "b_hi": weight[:, -1].max() if b_hi < 1.0 else 0.0}
        border = max(sides.values())
        if border <= BORDER:
            break
        a_span, b_span = a_hi - a_lo, b_hi - b_lo
        if sides["a_lo"] > BORDER:
            a_lo -= a_span
        if sides["a_hi"] > BORDER:
            a_hi = min(theta, a_hi + 0.5 * a_span)
        if sides["b_lo"] > BORDER:
            b_lo = max(theta, b_lo - 0.5 * b_span)
        if sides["b_hi"] > BORDER:
            b_hi = min(1.0, b_hi + b_span)
    cells = np.argwhere(weight > 1e-5)
    w = weight[cells[:, 0], cells[:, 1]]
    w = w / w.sum()
    gains = np.array([
        float(expected_gain(NoisyQuadraticDistribution(a_grid[i], b_grid[j], c, o), best, m,
                            ceiling=1.0))
        for i, j in cells
    ])
    order = np.argsort(gains)
    median = gains[order][np.searchsorted(np.cumsum(w[order]), 0.5)]
    return float(np.sum(w * gains)), float(median), float(border)


def run(path: Path, n: int, reps: int, seed: int, posterior: bool) -> dict[str, np.ndarray]:
    scores = load_scores(path)
    whole = analyze(scores, "maximize", bounds=(0, 1))
    law = whole.distribution
    mixture = TailMixture(law, whole.threshold, whole.tail_fraction,
                          scores[scores <= whole.threshold])
    truth = mixture.expected_best(K)
    m = K - n
    rng = np.random.default_rng(seed)
    fits = {"MPS, c and o free": {}, "MPS, c given": {"c": law.c}, "MPS, o given": {"o": law.o},
            "MPS, c and o given": {"c": law.c, "o": law.o}}
    errors: dict[str, list[float]] = {"best": [], "nonparametric": [], "law known": [],
                                      "analyze": []}
    errors.update({name: [] for name in fits})
    if posterior:
        errors.update({"posterior mean, c and o given": [], "posterior median, c and o given": []})
    border = 0.0
    below = above = fitted = 0  # analyze's expected_gain interval against the true gain
    for _ in range(reps):
        ys = mixture.sample(n, rng)
        best = float(ys.max())
        errors["best"].append(best - truth)
        nonparametric = float(EmpiricalDistribution(ys).average_tuning_curve(K))
        errors["nonparametric"].append(nonparametric - truth)
        true_gain = mixture.expected_best(m, floor=best) - best
        errors["law known"].append(best + true_gain - truth)
        try:
            gain = analyze(ys, "maximize", bounds=(0, 1)).expected_gain(m)
            errors["analyze"].append(best + float(gain.estimate) - truth)
            fitted += 1
            below += true_gain < gain.low
            above += true_gain > gain.high
        except TailstopError:
            errors["analyze"].append(np.nan)
        for name, constraints in fits.items():
            errors[name].append(best + plug_in_gain(ys, mixture.theta, constraints, m) - truth)
        if posterior:
            start = fit_parameters(ys, (mixture.theta, np.inf),
                                   {"convex": False, "b": (0.0, 1.0), "c": law.c, "o": law.o})
            mean, median, edge = posterior_gain(ys, mixture.theta, law.c, law.o, m, start)
            border = max(border, edge)
            errors["posterior mean, c and o given"].append(best + mean - truth)
            errors["posterior median, c and o given"].append(best + median - truth)
    print(f"\n{path.stem}: law {law}, threshold {mixture.theta:.4f}, tail share {mixture.p:.3f}, "
          f"E[T_{K}] = {truth:.5f}; {reps} samples of n = {n}"
          + (f"; largest posterior weight on the grid's border {border:.1e} of the peak"
             if posterior else ""))
    print(f"analyze's 90% expected_gain({m}) interval holds the true gain E[max(y*, T_{m})] - y* "
          f"in {(fitted - below - above) / max(fitted, 1):.2f} of the samples (below its low end "
          f"{below / max(fitted, 1):.2f}, above its high end {above / max(fitted, 1):.2f})")
    return {name: np.asarray(values) for name, values in errors.items()}


def print_table(errors: dict[str, np.ndarray]) -> None:
    base = min(np.nanmean(np.abs(errors["best"])), np.nanmean(np.abs(errors["nonparametric"])))
    print(f"{'predictor':34s} {'MAE x1e-3':>10s} {'/ better baseline':>18s} {'bias x1e-3':>11s} "
          f"{'failed':>7s}")
    for name, values in errors.items():
        mae = np.nanmean(np.abs(values))
        print(f"{name:34s} {1e3 * mae:10.2f} {mae / base:18.2f} {1e3 * np.nanmean(values):+11.2f} "
              f"{int(np.isnan(values).sum()):7d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--posterior", action="store_true",
                        help="also the grid posterior with c and o given (about 5 s a sample)")
    parser.add_argument("--files", nargs="*", default=None,
                        help="search names (file stems) in the data folder; default all")
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    paths = sorted(args.data.glob("*.csv"))
    if args.files:
        paths = [p for p in paths if p.stem in args.files]
    if not paths:
        raise SystemExit(f"no score files in {args.data}")
    warnings.simplefilter("ignore")
    for path in paths:
        print_table(run(path, args.n, args.reps, args.seed, args.posterior))


if __name__ == "__main__":
    main()

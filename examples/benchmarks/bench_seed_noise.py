"""Benchmark: coverage of ``seed_noise``'s interval, by simulation.

Designs of k configurations x m seeds; per design and noise law, ``--reps`` simulated
measurements, each passed to ``tailstop.seed_noise`` at ``--confidence``. Noise laws:

* ``normal``: every configuration's scores normal with one standard deviation (the interval is
  exact here);
* ``t5``: Student's t with 5 degrees of freedom scaled to the same standard deviation (heavy
  tails: the interval's degrees of freedom are matched to the kurtosis the residuals show,
  which a few re-runs underestimate);
* ``uneven``: normal, but each configuration's standard deviation drawn log-uniformly between
  0.6 and 1.6 times a base (the noise differs between configurations, as it did on the
  gradient-boosting search, where 5 good configurations had 0.54-0.97); the truth is then the
  root of the configurations' mean variance, the quantity the pooled estimate targets.

Prints the coverage, the median of estimate / truth, and the median interval width relative
to the truth.

Run from the repository root (about 10 seconds)::

    PYTHONPATH=src python examples/benchmarks/bench_seed_noise.py
"""

from __future__ import annotations

import argparse

import numpy as np

from tailstop import seed_noise

DESIGNS = ((1, 3), (1, 5), (3, 3), (5, 3), (5, 5), (10, 3))


def draw(law: str, k: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One measurement: k configurations x m seeds, and the noise it estimates."""
    means = rng.uniform(0.7, 0.8, size=(k, 1))
    if law == "normal":
        return means + rng.standard_normal((k, m)), 1.0
    if law == "t5":
        return means + rng.standard_t(5, size=(k, m)) / np.sqrt(5 / 3), 1.0
    scales = np.exp(rng.uniform(np.log(0.6), np.log(1.6), size=(k, 1)))
    return means + scales * rng.standard_normal((k, m)), float(np.sqrt(np.mean(scales**2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"seed_noise at confidence {args.confidence}, {args.reps} simulated measurements each")
    print(f"{'design':<14} {'law':<7} {'coverage':>8} {'estimate/truth':>15} {'width/truth':>12}")
    for k, m in DESIGNS:
        for law in ("normal", "t5", "uneven"):
            hits, ratios, widths = 0, [], []
            for _ in range(args.reps):
                runs, truth = draw(law, k, m, rng)
                noise = seed_noise(runs, confidence=args.confidence)
                hits += noise.low <= truth <= noise.high
                ratios.append(noise.estimate / truth)
                widths.append((noise.high - noise.low) / truth)
            design = f"{k} x {m} seeds"
            print(f"{design:<14} {law:<7} {hits / args.reps:>8.3f} {np.median(ratios):>15.3f} "
                  f"{np.median(widths):>12.2f}")


if __name__ == "__main__":
    main()

"""Diagnostic: analyze()'s expected gain when the scores *are* a noisy quadratic.

Draws n = 300 scores from a few known noisy quadratics (a = 0, b = 1, concave), runs
``analyze`` and compares ``expected_gain(300)`` with the gain realised by 200 independent
continuations of 300 trials. It separates the forecast arithmetic (checked against the true
law) from the estimation error of the fit (mostly the seed noise, which sets the far tail).

Run: ``PYTHONPATH=src python examples/benchmarks/diagnose_gain.py`` (about 1 minute).
"""

from __future__ import annotations

import warnings

import numpy as np

from tailstop import NoisyQuadraticDistribution, forecast
from tailstop.estimate import analyze

CASES = [(1, 0.01), (2, 0.01), (3, 0.01), (2, 0.05), (1, 0.001), (4, 0.02)]


def main(n: int = 300, repeats: int = 3) -> None:
    warnings.simplefilter("ignore")
    ratios, true_ratios, covered, gain_covered = [], [], [], []
    print(f"{'c':>2} {'o':>6} {'c^':>3} {'o^':>9} {'b^ [interval]':>28} {'gain^':>9} "
          f"{'true-law':>9} {'realised':>9}")
    for i, (c, o) in enumerate(CASES * repeats):
        law = NoisyQuadraticDistribution(0.0, 1.0, c, o)
        rng = np.random.default_rng(i)
        scores = law.sample(n, generator=rng)
        est = analyze(scores, "maximize")
        more = law.sample((200, n), generator=rng)
        realised = np.maximum(more.max(axis=1) - scores.max(), 0.0).mean()
        true_gain = forecast.expected_gain(law, scores.max(), n)
        gain, best = est.expected_gain(n), est.best_possible
        ratios.append(gain.estimate / realised)
        true_ratios.append(true_gain / realised)
        covered.append(best.low <= 1.0 <= best.high)
        gain_covered.append(gain.low <= realised <= gain.high)
        print(f"{c:>2} {o:>6.3f} {est.effective_dimension.estimate:>3} {est.noise:>9.2e} "
              f"{best.estimate:>8.4f} [{best.low:.4f}, {best.high:.4f}] {gain.estimate:>9.2e} "
              f"{true_gain:>9.2e} {realised:>9.2e}")
    print(f"median gain^/realised {np.median(ratios):.2f}; true-law/realised "
          f"{np.median(true_ratios):.2f}; best-possible coverage {np.mean(covered):.2f}; "
          f"gain coverage {np.mean(gain_covered):.2f}")


if __name__ == "__main__":
    main()

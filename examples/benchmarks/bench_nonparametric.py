"""Benchmark of tailstop.nonparametric's simultaneous bands against opda's Monte-Carlo bands.

Prints
1. time (median of repeats, cache cleared) and peak traced memory (tracemalloc) of the
   Learned-Miller-DeStefano highest-density band at n in {48, 256, 1024, 4096}, tailstop vs
   opda (100,000 Monte Carlo draws, n_jobs=1 so tracemalloc sees all of it; opda only where it
   fits in about a minute);
2. the critical level kappa at n = 5, 16, 48 (tailstop exact vs opda Monte Carlo) and the exact
   coverage of opda's band with the Monte-Carlo interval it should fall in;
3. the simulated simultaneous coverage of every method.

Run:  PYTHONPATH=src python examples/benchmarks/bench_nonparametric.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
from scipy import stats

from tailstop import bands
from tailstop import nonparametric as npm
from tailstop._ld_table import guess_log_alpha

CONFIDENCE = 0.9


def clear_caches() -> None:
    bands._cached_band.cache_clear()
    bands._ld_solution.cache_clear()


def measure(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds over ``repeats`` runs and peak traced MB of one more run."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return float(np.median(seconds)), peak


def tailstop_band(n: int) -> Callable[[], object]:
    def run() -> object:
        clear_caches()
        return npm.ld_band(n, CONFIDENCE, "highest_density")

    return run


def opda_band(n: int, seed: int = 0) -> Callable[[], object]:
    from opda import nonparametric as onp

    def run() -> object:
        onp._ld_band_weights.cache_clear()
        return onp._ld_band_weights(
            n, CONFIDENCE, "highest_density", np.random.default_rng(seed), n_jobs=1
        )

    return run


def speed_table(quick: bool) -> None:
    print("1. LD highest-density band, confidence 0.9 (cold cache)")
    print(
        f"{'n':>6} {'tailstop ms':>12} {'MB':>7} {'evals':>6} {'opda s':>8} {'MB':>7} {'ratio':>8}"
    )
    opda_seconds_48 = None
    for n in (48, 256, 1024, 4096):
        repeats = 5 if n <= 1024 else 3
        seconds, peak = measure(tailstop_band(n), repeats)
        guess, slope = guess_log_alpha(n, CONFIDENCE, "highest_density")
        evaluations = bands._solve_log_alpha(n, CONFIDENCE, "highest_density", guess, slope)[2]
        opda_cell = f"{'-':>8} {'-':>7} {'-':>8}"
        predicted = None if opda_seconds_48 is None else opda_seconds_48 * n / 48
        if n == 48 or (n == 256 and not quick and predicted is not None and predicted < 90):
            opda_seconds, opda_peak = measure(opda_band(n), 1)
            opda_seconds_48 = opda_seconds if n == 48 else opda_seconds_48
            opda_cell = f"{opda_seconds:8.2f} {opda_peak:7.1f} {opda_seconds / seconds:8.0f}"
        print(f"{n:6d} {seconds * 1e3:12.1f} {peak:7.1f} {evaluations:6d} {opda_cell}")
    clear_caches()
    npm.ld_band(1024, CONFIDENCE)
    start = time.perf_counter()
    npm.ld_band(1024, CONFIDENCE)
    print(f"cached call at n = 1024: {(time.perf_counter() - start) * 1e6:.0f} us")
    ys = np.random.default_rng(0).uniform(size=1024)
    clear_caches()
    start = time.perf_counter()
    npm.confidence_bands(ys, CONFIDENCE, 0.0, 1.0)
    print(f"confidence_bands(n = 1024), cold: {(time.perf_counter() - start) * 1e3:.1f} ms\n")


def critical_level_table(trials: int) -> None:
    from opda import nonparametric as onp

    print(f"2. critical level kappa, confidence 0.9 (opda: {trials:,} Monte Carlo draws)")
    print(
        f"{'n':>4} {'kind':>16} {'tailstop kappa':>15} {'opda kappa':>12} "
        f"{'exact cov. of opda band':>24} {'MC 99.9% interval':>20}"
    )
    k = math.floor(CONFIDENCE * (trials - 1)) + 1
    interval = stats.beta.ppf([5e-4, 1 - 5e-4], [k, k + 1], [trials + 1 - k, trials - k])
    for n in (5, 16, 48):
        for kind in ("highest_density", "equal_tailed"):
            kappa = npm.ld_critical_level(n, CONFIDENCE, kind)
            lo, hi = onp._ld_band_weights(
                n, CONFIDENCE, kind, np.random.default_rng(n), n_trials=trials, n_jobs=1
            )
            # opda's kappa: the Beta(n, 1) interval's lower end is (1 - kappa)^(1/n) (HD) or
            # (alpha/2)^(1/n) (equal-tailed), which inverts in closed form.
            alpha = lo[-1] ** n if kind == "highest_density" else 2 * lo[-1] ** n
            coverage = npm.simultaneous_coverage(lo[1:], hi[:-1])
            print(
                f"{n:4d} {kind:>16} {kappa:15.6f} {1 - alpha:12.6f} {coverage:24.4f} "
                f"   [{interval[0]:.4f}, {interval[1]:.4f}]"
            )
    print()


def coverage_table(trials: int) -> None:
    print(f"3. simulated simultaneous coverage ({trials:,} uniform samples per cell)")
    print(f"{'method':>20} {'n':>5} {'nominal':>8} {'coverage':>9} {'CP 1-1e-6 interval':>22}")
    rng = np.random.default_rng(2024)
    for method in ("ld_highest_density", "ld_equal_tailed", "ks", "dkw"):
        for n in (10, 100, 1000):
            for confidence in (0.8, 0.9):
                lower, upper = npm.order_statistic_band(n, confidence, method)
                covered = 0
                for chunk in np.array_split(np.arange(trials), max(1, trials * n // 2_000_000)):
                    uniforms = np.sort(rng.random((chunk.size, n)), axis=1)
                    covered += int(np.all((lower <= uniforms) & (uniforms <= upper), axis=1).sum())
                low = stats.beta.ppf(5e-7, covered, trials - covered + 1)
                high = stats.beta.ppf(1 - 5e-7, covered + 1, trials - covered)
                print(
                    f"{method:>20} {n:5d} {confidence:8.2f} {covered / trials:9.4f} "
                    f"   [{low:.4f}, {high:.4f}]"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip opda at n = 256, fewer draws")
    args = parser.parse_args()
    speed_table(args.quick)
    critical_level_table(20_000 if args.quick else 100_000)
    coverage_table(2_000 if args.quick else 10_000)


if __name__ == "__main__":
    main()

"""Check: do chained warm refits (a live search's) keep the global optimum, and how fast are they?

For the ground truths of ``bench_fit.py`` (A = NQ(0.60, 0.72, 2, 0.005, concave), B =
NQ(0.095, 0.141, 1, 0.001, convex)), uncensored or censored at the true median, starts from the
fit of the first 40 or 250 draws and refits 15 times, each refit one draw later and warm-started
from the refit before (as a live search's fits are, reusing the previous screen while it
serves). Each refit is compared with a cold fit of the same data: a *miss* is a refit whose
loss is above the cold fit's by more than 0.01 in deviance (``2 (n + 1) dL``). Prints the
misses, the worst gap and the CPU time per refit, warm and cold.

Run from the repository root (about 4 minutes with the default 6 seeds)::

    PYTHONPATH=src python examples/benchmarks/check_chained_refits.py --seeds 6
"""

from __future__ import annotations

import argparse
import time

from bench_fit import synthetic_case

from tailstop import _fitproblem
from tailstop.fitting import fit_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="data sets per case")
    parser.add_argument("--refits", type=int, default=15, help="chained refits per data set")
    args = parser.parse_args()
    total = misses = 0
    worst = warm_time = cold_time = 0.0
    for truth in "AB":
        for start in (40, 250):
            for censored in (False, True):
                for seed in range(args.seeds):
                    ys, limits, constraints = synthetic_case(
                        truth, start + args.refits, censored, 1000 + seed
                    )
                    previous = fit_parameters(ys[:start], limits, constraints)
                    for m in range(start + 1, start + args.refits + 1):
                        _fitproblem._objectives.cache_clear()  # new data, as in a live search
                        clock = time.process_time()
                        warm = fit_parameters(ys[:m], limits, constraints, warm_start=previous)
                        warm_time += time.process_time() - clock
                        _fitproblem._objectives.cache_clear()
                        clock = time.process_time()
                        cold = fit_parameters(ys[:m], limits, constraints)
                        cold_time += time.process_time() - clock
                        gap = 2 * (m + 1) * (warm.loss - cold.loss)
                        total += 1
                        worst = max(worst, gap)
                        if gap > 0.01:
                            misses += 1
                            print(
                                f"  miss: truth {truth}, {m} draws, censored={censored}, seed "
                                f"{seed}: gap {gap:.3f}, warm c = {warm.c}, cold c = {cold.c}"
                            )
                        previous = warm
    print(
        f"chained refits {total}, misses (> 0.01 deviance) {misses}, worst gap {worst:.3g}; "
        f"CPU ms per refit: warm {1e3 * warm_time / total:.1f}, cold {1e3 * cold_time / total:.1f}"
    )


if __name__ == "__main__":
    main()

"""Check: do the quick candidate fits of the threshold search change the chosen tail?

``choose_regime`` tests each candidate tail with a *quick* fit (pruning margins scaled to the
tail's share of the trials) and refits only the chosen tail and its partner with the full
global search. This runs the threshold search on synthetic searches twice, with the quick
candidate fits and with every candidate fitted exactly (as before session 11), and reports how
often the chosen tail or its fit differ, the largest change of a candidate's p-value, and the
CPU time of each.

Run from the repository root (about 2 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_quick_regime.py --problems 30 --ns 100 300 1000
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from tailstop import regime
from tailstop.synthetic import random_problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=30)
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--seed", type=int, default=77)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    quick_fit, quick_fits = regime.fit_tail, regime.fit_tails

    def exact_fit(*fit_args, quick=False, **kwargs):
        return quick_fit(*fit_args, quick=False, **kwargs)

    def exact_fits(ys, tail_sizes, quick=True, **kwargs):  # the candidates too, one by one
        return [quick_fit(ys, k, quick=False, **kwargs) for k in tail_sizes]

    same = differ = 0
    cpu = {"quick": 0.0, "exact": 0.0}
    largest = 0.0
    for n in args.ns:
        for i, problem in enumerate(random_problems(args.problems, generator=args.seed)):
            scores = problem.run_search(n, generator=np.random.default_rng(1000 + i))
            ys = scores if problem.direction == "maximize" else -scores
            results = {}
            for kind, fit_tail in (("quick", quick_fit), ("exact", exact_fit)):
                regime.fit_tail = fit_tail
                regime.fit_tails = quick_fits if kind == "quick" else exact_fits
                try:
                    start = time.process_time()
                    results[kind] = regime.choose_regime(ys, ys.size, c_max=10)
                    cpu[kind] += time.process_time() - start
                finally:
                    regime.fit_tail, regime.fit_tails = quick_fit, quick_fits
            q, e = results["quick"], results["exact"]
            pq, pe = np.array(q[0].p_values), np.array(e[0].p_values)
            m = min(pq.size, pe.size)
            largest = max(largest, float(np.abs(pq[:m] - pe[:m]).max(initial=0.0)))
            if q[0].tail_size == e[0].tail_size and q[1] == e[1]:
                same += 1
            else:
                differ += 1
                print(f"n = {n}, problem {i}: tail {e[0].tail_size} -> {q[0].tail_size}, "
                      f"c {e[1].c} -> {q[1].c}")
    print(f"{same + differ} searches: same choice and fit {same}, different {differ}; "
          f"largest change of a candidate's p-value {largest:.3g}; "
          f"CPU s quick {cpu['quick']:.1f}, exact {cpu['exact']:.1f}")


if __name__ == "__main__":
    main()

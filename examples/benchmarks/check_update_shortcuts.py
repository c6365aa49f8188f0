"""Check: what do an update's shortcuts change, and what do they save?

An update whose new trials fell below the tail's threshold keeps the interval ends, effective
dimensions and least-gain ends that still hold, each confirmed by one evaluation of the loss
instead of a refit (``Profile.reuse_ends``). This replays the one-trial updates of
``check_updates.py`` (synthetic searches at 100 and 400 trials, the shared real searches in two
orders at 60 and 300 trials) twice, with the shortcuts and with them switched off, and reports
per kind of search:
how often and how far the best-possible interval's ends moved (by more than 0.1% of its width;
a consistent ``c`` kept unfitted reaches a slightly different ``b``) and its estimate, how much
the expected gain's upper end (over as many trials again, what the rules read) moved, whether
the effective-dimension sets agree, and the median CPU time per update of each.

Run from the repository root (about 3 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_update_shortcuts.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from check_updates import searches  # the same searches, sizes and orders

import tailstop._profile as profile_module
from tailstop.estimate import analyze


def replay(kinds, updates: int) -> list:
    rows = []
    for kind, scores, direction, bounds, n in kinds:
        estimate = analyze(scores[:n], direction, bounds=bounds)
        for m in range(n + 1, n + updates + 1):
            start = time.process_time()
            estimate = analyze(scores[:m], direction, bounds=bounds, previous=estimate)
            cpu = time.process_time() - start
            gain = estimate.expected_gain(m)
            rows.append((kind.split(" ")[0], cpu, tuple(estimate.best_possible), float(gain.high),
                         estimate.effective_dimension.consistent))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=14)
    parser.add_argument("--updates", type=int, default=8)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    kinds = list(searches(args.problems))
    with_shortcuts = replay(kinds, args.updates)
    # switched off: every profile reads reuse_ends as False (the instance attribute's
    # assignments go to this property's no-op setter)
    profile_module.Profile.reuse_ends = property(lambda self: False, lambda self, value: None)
    try:
        without = replay(kinds, args.updates)
    finally:
        del profile_module.Profile.reuse_ends
    print(f"{args.updates} one-trial updates per search; moves in units of the best-possible "
          "interval's width (without shortcuts); gain hi = expected_gain(n).high, relative")
    print(f"{'search':<18} {'updates':>7} {'ms off':>7} {'ms on':>6} {'ends moved':>11} "
          f"{'|d ends| max':>13} {'|d est| max':>12} {'gain hi mean':>13} {'gain hi max':>12} "
          f"{'same c sets':>12}")
    for kind in dict.fromkeys(row[0] for row in with_shortcuts):
        on = [r for r in with_shortcuts if r[0] == kind]
        off = [r for r in without if r[0] == kind]
        width = np.array([max(r[2][2] - r[2][1], 1e-300) for r in off])
        ends = np.array([max(abs(a[2][1] - b[2][1]), abs(a[2][2] - b[2][2]))
                         for a, b in zip(on, off, strict=True)]) / width
        est = np.array([abs(a[2][0] - b[2][0]) for a, b in zip(on, off, strict=True)]) / width
        gain = np.array([(a[3] - b[3]) / max(b[3], 1e-300) for a, b in zip(on, off, strict=True)])
        same = np.mean([a[4] == b[4] for a, b in zip(on, off, strict=True)])
        print(f"{kind:<18} {len(on):>7} {1e3 * np.median([r[1] for r in off]):>7.1f} "
              f"{1e3 * np.median([r[1] for r in on]):>6.1f} {np.mean(ends > 1e-3):>11.3f} "
              f"{ends.max():>13.4f} {est.max():>12.4f} "
              f"{gain.mean():>+13.4f} {np.abs(gain).max():>12.4f} {same:>12.2f}")


if __name__ == "__main__":
    main()

"""Check: a fresh choice of the tail inside an update, guided by the previous estimate or not.

Since session 26 an update that chooses the tail afresh (every 10% of growth) starts its
interval searches from the previous estimate's ends and fits (``tailstop._analyze._guide``).
For each search, a live monitor (default rule, budget = the search) is fed every trial; each
of its fresh choices is then made again, with and without the guide, and the table compares
them: CPU time, and how far the best possible's interval ends and the expected gain's upper
end (100 more trials) moved, as a share of the unguided interval's width (of the gain's upper
end). Positive: the guided one is wider (lower low end, higher high end, higher gain bound).

Run from the repository root (about 10 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_guided_choice.py \
        [--searches synth3 synth4 synth5 alexnet:300]

``synthN``: ``tailstop.synthetic.make_problem(1 + N % 4, noise_ratio=(0, 0.01, 0.05)[N % 3],
generator=N)``, 300 trials; ``name:n``: the first ``n`` trials of a shared search in one random
order (seed 0).
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

import tailstop._analyze as analyze_module
import tailstop.monitor as monitor_module
from tailstop.monitor import Monitor
from tailstop.synthetic import make_problem

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"


def load(search: str):
    if search.startswith("synth"):
        seed = int(search[5:])
        problem = make_problem(1 + seed % 4, noise_ratio=(0.0, 0.01, 0.05)[seed % 3],
                               generator=seed)
        return problem.run_search(300, generator=seed + 100), None
    name, n = search.split(":")
    with (SCORES / f"{name}.csv").open() as fh:
        scores = np.array([float(row["score"]) for row in csv.DictReader(fh)])
    return np.random.default_rng(0).permutation(scores)[: int(n)], (0.0, 1.0)


def fresh_choices(scores, bounds) -> list:
    """The calls of a live monitor's updates that chose the tail afresh."""
    calls = []
    analyze = monitor_module.analyze

    def recording(*args, **kwargs):
        estimate = analyze(*args, **kwargs)
        if (kwargs.get("previous") is not None
                and estimate._state.selected_at == estimate._clean.values.size):
            calls.append((list(args[0]), args[1], kwargs))
        return estimate

    monitor_module.analyze = recording
    try:
        monitor = Monitor("maximize", budget=len(scores), bounds=bounds)
        for score in scores:
            monitor.observe(float(score))
    finally:
        monitor_module.analyze = analyze
    return calls


def timed(scores, direction, kwargs, guided: bool):
    guide = analyze_module._guide
    if not guided:
        analyze_module._guide = lambda previous, c_max: None
    try:
        start = time.process_time()
        estimate = monitor_module.analyze(scores, direction, **kwargs)
        return estimate, time.process_time() - start
    finally:
        analyze_module._guide = guide


def cell(moved: np.ndarray) -> str:
    """``median / the largest move`` (signed)."""
    return f"{np.median(moved):+.4f} / {moved[np.argmax(np.abs(moved))]:+.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", nargs="+",
                        default=["synth3", "synth4", "synth5", "alexnet:300"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'search':12s} {'choices':>7s} {'time saved':>10s} {'low end':>16s} "
          f"{'high end':>16s} {'gain high':>16s} {'c set or fits differ':>20s}")
    print(f"{'':12s} {'':>7s} {'':>10s} {'median / max':>16s} {'median / max':>16s} "
          f"{'median / max':>16s}")
    for search in args.searches:
        scores, bounds = load(search)
        rows, seconds = [], np.zeros(2)
        for call_scores, direction, kwargs in fresh_choices(scores, bounds):
            guided, t_guided = timed(call_scores, direction, kwargs, True)
            plain, t_plain = timed(call_scores, direction, kwargs, False)
            seconds += (t_guided, t_plain)
            width = plain.best_possible.high - plain.best_possible.low
            gain_guided, gain_plain = guided.expected_gain(100), plain.expected_gain(100)
            rows.append((
                (plain.best_possible.low - guided.best_possible.low) / width,
                (guided.best_possible.high - plain.best_possible.high) / width,
                (gain_guided.high - gain_plain.high) / max(gain_plain.high, 1e-300),
                guided.effective_dimension != plain.effective_dimension
                or guided.fits_well != plain.fits_well,
            ))
        moved = np.array([r[:3] for r in rows])
        low, high, gain = (cell(moved[:, j]) for j in range(3))
        print(f"{search:12s} {len(rows):>7d} {1 - seconds[0] / seconds[1]:>10.0%} {low:>16s} "
              f"{high:>16s} {gain:>16s} {sum(r[3] for r in rows):>11d} of {len(rows):<3d}",
              flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: tailstop's censored spacing fit against opda 0.8.0's, side by side.

For n in {48, 256, 1024} x the ground truths A = NQ(0.60, 0.72, 2, 0.005, concave) and
B = NQ(0.095, 0.141, 1, 0.001, convex) x {uncensored, censored at the true median}, with
``convex`` fixed by the direction (the practical case), and for the five real-data fits of
Lourie, He & Cho (2025), the table gives:

* the median cold fit time of tailstop (over ``--seeds`` data sets) and of opda (over the
  first ``--opda-seeds``), and their ratio;
* tailstop's median warm refit time (the fit of all n points started from the fit of the
  first n - 1, as a live search does) and its cold time with ``convex`` free;
* the objective difference, tailstop minus opda, with the objective the spacing
  log-likelihood (minus tailstop's loss; higher is better), both scored by
  ``tailstop.fitting.spacing_loss``: median and minimum over the opda seeds, and how many of
  them have tailstop at least as good (within 1e-6 relative).

Run from the repository root (opda takes 4-40 s per fit, so the full table takes minutes)::

    PYTHONPATH=src python examples/benchmarks/bench_fit.py [--quick] [--seeds 20] [--opda-seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from tailstop._fitproblem import _objectives
from tailstop.fitting import fit_parameters, spacing_loss

TRUTHS = {"A": (0.60, 0.72, 2, 0.005, False), "B": (0.095, 0.141, 1, 0.001, True)}
MEDIANS = {"A": 0.66, "B": 0.106522}  # opda 0.8.0's ppf(0.5) of each truth
SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
REAL = [  # name, threshold, c_max, error rate (minimise)?
    ("alexnet", 0.50, 8, False),
    ("convnext-tiny", 0.60, 8, False),
    ("deberta-base", 0.87, 5, False),
    ("deberta-v3-base", 0.89, 5, False),
    ("deberta-v3-base", 0.11, 5, True),
]
TOLERANCE = 1e-6  # relative: "at least as good" allows this much worse


def draw(truth: str, n: int, seed: int) -> np.ndarray:
    a, b, c, o, convex = TRUTHS[truth]
    rng = np.random.default_rng(seed)
    x = rng.random(n) ** (2.0 / c)
    noise = o * rng.standard_normal(n)
    return (a + (b - a) * x if convex else b - (b - a) * x) + noise


def synthetic_case(truth: str, n: int, censored: bool, seed: int):
    convex = TRUTHS[truth][4]
    if not censored:
        limits = (-np.inf, np.inf)
    elif convex:
        limits = (-np.inf, MEDIANS[truth])
    else:
        limits = (MEDIANS[truth], np.inf)
    return draw(truth, n, seed), limits, {"convex": convex}


def real_case(name: str, threshold: float, c_max: int, error: bool):
    with (SCORES / f"{name}.csv").open() as fh:
        scores = np.array([float(row["score"]) for row in csv.DictReader(fh)])
    if error:
        constraints = {"a": (0.0, 1.0), "c": (1, c_max), "convex": True}
        return 1.0 - scores, (-np.inf, threshold), constraints
    return scores, (threshold, np.inf), {"b": (0.0, 1.0), "c": (1, c_max), "convex": False}


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def cold_timed(function, *args, **kwargs):
    """:func:`timed` with tailstop's per-data cache of objectives emptied first (a live
    search's refit meets new data: nothing is cached for it)."""
    _objectives.cache_clear()
    return timed(function, *args, **kwargs)


def tailstop_runs(ys, limits, constraints, warm: bool = True, free: bool = True):
    """Cold fit, warm refit (from the fit without the last point) and cold free-convex fit."""
    result, cold = cold_timed(fit_parameters, ys, limits, constraints)
    warm_time = free_time = np.nan
    if warm:
        previous = fit_parameters(ys[:-1], limits, constraints)
        _, warm_time = cold_timed(fit_parameters, ys, limits, constraints, warm_start=previous)
    if free:
        free_constraints = {k: v for k, v in constraints.items() if k != "convex"}
        _, free_time = cold_timed(fit_parameters, ys, limits, free_constraints)
    return result, cold, warm_time, free_time


def opda_run(ys, limits, constraints, seed: int):
    from opda.parametric import NoisyQuadraticDistribution

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted, seconds = timed(
            NoisyQuadraticDistribution.fit,
            ys,
            limits,
            constraints,
            generator=np.random.default_rng(seed),
        )
    loss = spacing_loss(ys, limits, fitted.a, fitted.b, fitted.c, fitted.o, fitted.convex)
    return fitted, loss, seconds


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="data sets per case for tailstop")
    parser.add_argument("--opda-seeds", type=int, default=3, help="data sets per case for opda")
    parser.add_argument("--quick", action="store_true", help="5 tailstop and 1 opda seed")
    parser.add_argument("--no-opda", action="store_true", help="time tailstop alone")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.opda_seeds = 5, 1
    n_opda = 0 if args.no_opda else min(args.opda_seeds, args.seeds)
    warnings.simplefilter("ignore", RuntimeWarning)
    fit_parameters(draw("A", 48, 0), constraints={"convex": False})  # one-time kernel tables

    rows, comparisons = [], []
    cases = [(t, n, cen) for n in (48, 256, 1024) for t in "AB" for cen in (False, True)]
    for truth, n, censored in cases:
        label = f"{truth} n={n:<5d} {'censored' if censored else 'full':9s}"
        progress(f"tailstop {label}")
        ours = [tailstop_runs(*synthetic_case(truth, n, censored, s)) for s in range(args.seeds)]
        diffs, opda_times = [], []
        for seed in range(n_opda):
            progress(f"opda     {label} seed {seed}")
            ys, limits, constraints = synthetic_case(truth, n, censored, seed)
            _, opda_loss, seconds = opda_run(ys, limits, constraints, seed)
            diffs.append((opda_loss - ours[seed][0].loss, opda_loss))
            opda_times.append(seconds)
        rows.append(_row(label, ours, opda_times, diffs))
        comparisons += diffs

    if SCORES.exists():
        for name, threshold, c_max, error in REAL:
            ys, limits, constraints = real_case(name, threshold, c_max, error)
            label = f"{name}{' (error)' if error else ''}"
            progress(f"tailstop {label}")
            ours = [tailstop_runs(ys, limits, constraints, free=False) for _ in range(5)]
            diffs, opda_times = [], []
            for seed in range(n_opda):
                progress(f"opda     {label} seed {seed}")
                _, opda_loss, seconds = opda_run(ys, limits, constraints, seed)
                diffs.append((opda_loss - ours[0][0].loss, opda_loss))
                opda_times.append(seconds)
            r = ours[0][0]
            label += f" b={r.b:.3f} c={r.c}" + (f" a={r.a:.4f} o={r.o:.1e}" if error else "")
            rows.append(_row(label, ours, opda_times, diffs))
            comparisons += diffs
    else:
        progress(f"{SCORES} not found: real-data fits skipped")

    _print_table(rows, comparisons, args, n_opda)


def _row(label, ours, opda_times, diffs):
    cold = np.median([r[1] for r in ours]) * 1e3
    warm = np.nanmedian([r[2] for r in ours]) * 1e3
    frees = [r[3] for r in ours if np.isfinite(r[3])]
    free = np.median(frees) * 1e3 if frees else np.nan
    opda = np.median(opda_times) if opda_times else np.nan
    d = np.array([x[0] for x in diffs]) if diffs else np.array([np.nan])
    wins = sum(x[0] >= -TOLERANCE * abs(x[1]) for x in diffs)
    ratio = opda * 1e3 / cold
    return (label, cold, warm, free, opda, ratio, np.median(d), d.min(), wins, len(diffs))


def _print_table(rows, comparisons, args, n_opda):
    print(
        f"tailstop vs opda 0.8.0: median times over {args.seeds} tailstop / {n_opda} opda data "
        "sets per case; objective = spacing log-likelihood (higher is better), diff = tailstop "
        f"- opda on the same objective; load average at the end {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    header = (
        f"{'case':50s} {'ts cold':>8s} {'ts warm':>8s} {'ts free':>8s} {'opda':>6s} "
        f"{'ratio':>6s} {'diff med':>9s} {'diff min':>9s} {'ts>=opda':>8s}"
    )
    print(header)
    print("-" * len(header))
    for label, cold, warm, free, opda, ratio, dmed, dmin, wins, total in rows:
        print(
            f"{label:50s} {cold:6.1f}ms {warm:6.1f}ms {free:6.1f}ms {opda:5.1f}s "
            f"{ratio:6.0f} {dmed:+9.1e} {dmin:+9.1e} {wins:>4d}/{total:<3d}"
        )
    if comparisons:
        wins = sum(d >= -TOLERANCE * abs(loss) for d, loss in comparisons)
        print(
            f"tailstop's objective >= opda's (within {TOLERANCE:g} relative) in {wins}/"
            f"{len(comparisons)} cases ({100 * wins / len(comparisons):.0f}%)"
        )


if __name__ == "__main__":
    main()

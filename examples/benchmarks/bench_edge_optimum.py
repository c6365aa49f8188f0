"""Benchmark: analyze()'s intervals when the best configuration lies on the edge of the box.

A search's range often stops short of the optimum: the best learning rate is the largest one
tried. Near such a best the score falls *linearly* across the edge, not quadratically. The law
still applies: random search's chance of landing within t of the best then grows like
t^((r - l)/2 + l) for l linear directions and r - l quadratic ones (each linear direction
counts twice in the effective dimension c), but only up to the depth at which the moved
optimum's curvature takes over: the tail's shape changes with depth.

This runs ``tailstop.synthetic`` problems (r in {1, 2, 3, 4}, noise / range in {0, 0.01, 0.05},
both directions), made axis-aligned (the score quadratic in the first r hyperparameters, flat in
the others: a random rotation would let the flat directions bring any optimum back into the
box), with the optimum moved out of the box in one or two of those r hyperparameters, so far
that the best expected score inside the box is lower by a drop drawn log-uniformly in
[0.003, 0.1] of the range. That best inside the box is the truth; near it the score falls
linearly across the l edges and quadratically in the other r - l directions: effective
dimension r + l.

It reports, per n, the coverage of the best-possible interval (confidence 0.9) and its median
width and signed error relative to the range, the share whose ``fits_well`` is True, the
median fitted effective dimension against the median ``r + l``, and the coverage of
``expected_gain(n)`` against the exact mean gain of n more trials (from ``--reference`` draws
of the problem's scores), with how often that gain stays below the interval's upper end (what
the stopping rules read). ``found``: the share of searches in which
:func:`tailstop.edges.crowded_edges` flags an end the optimum lies beyond (0 in the control);
``false``: the share in which it flags an end the optimum does not lie beyond. The
hyperparameters of odd index are given on a log scale (``1e-5 * 10^(4 x)``, a log range):
``found*`` and ``false*`` are the same shares with the ranges read off the values
(:func:`tailstop.edges.sampled_ranges`, as ``tailstop analyze`` of a file does), and ``read``
the share of searches whose every hyperparameter's range and scale were read right (the span
within 5% of the range of the true one).
``--flags-only`` skips the estimates: the flags' columns alone, in seconds.

``--inside`` runs the control: the same axis-aligned problems with the optimum left inside
(in [0.25, 0.75]); ``--near`` a harder one for the range-edge flag: the optimum inside but near
an end, moved in the same one or two hyperparameters to a distance from it drawn uniformly in
[0.1, 0.25] of the range (just outside the outer tenth that the flag reads), where any flag is
false.

Run from the repository root (about 2 minutes each on 2 cores)::

    PYTHONPATH=src python examples/benchmarks/bench_edge_optimum.py --problems 96 --jobs 2
    PYTHONPATH=src python examples/benchmarks/bench_edge_optimum.py --problems 96 --jobs 2 --inside
    PYTHONPATH=src python examples/benchmarks/bench_edge_optimum.py --problems 96 --jobs 2 --near
    PYTHONPATH=src python examples/benchmarks/bench_edge_optimum.py --problems 960 --flags-only
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from bench_noise_shape import interval_checks  # the same checks of one estimate

from tailstop.edges import crowded_edges, sampled_ranges
from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.synthetic import random_problems


def moved_out(problem, rng: np.random.Generator, inside: bool = False, near: bool = False):
    """``problem`` made axis-aligned (its quadratic directions the first ``r`` coordinates,
    the same curvatures) with its optimum moved out of the unit box in ``l`` = 1 or 2 of them
    (at most ``r``), each by ``sqrt(q_i / lam_i)`` beyond the nearer edge, so that the best
    expected score inside the box is lower than ``best`` by a drop drawn log-uniformly in
    [0.003, 0.1] of the range (``h(sum q_i)``, the ``q_i`` equal). Returns the problem, that
    best score inside the box (the truth, reached on the edges), ``r + l`` and the ends the
    optimum lies beyond (``{coordinate: "low" or "high"}``). ``inside``:
    the axis-aligned problem with its optimum where it was (the control: ``l`` = 0)."""
    r = problem.effective_dimension
    directions = np.eye(problem.dimension)[:r]
    if inside:
        return dataclasses.replace(problem, directions=directions), problem.best, r, {}
    drop = float(np.exp(rng.uniform(np.log(0.003), np.log(0.1))))
    moved = rng.choice(r, size=min(r, int(rng.integers(1, 3))), replace=False)
    share = -np.log1p(-drop) / moved.size  # h(q) = 1 - exp(-q) = drop, split evenly
    optimum = problem.optimum.copy()
    ends = {}
    if near:
        for i in moved:
            gap = rng.uniform(0.1, 0.25)
            optimum[i] = 1.0 - gap if optimum[i] > 0.5 else gap
        return dataclasses.replace(problem, directions=directions, optimum=optimum), \
            problem.best, r, {}
    for i in moved:
        excess = np.sqrt(share / problem.curvatures[i])
        ends[int(i)] = "high" if optimum[i] > 0.5 else "low"
        optimum[i] = 1.0 + excess if ends[int(i)] == "high" else -excess
    edge = dataclasses.replace(problem, directions=directions, optimum=optimum)
    inside = np.clip(optimum, 0.0, 1.0)
    return edge, float(edge.expected_score(inside)), r + moved.size, ends


def log_scaled(x: np.ndarray) -> tuple[list[dict], dict]:
    """Configs of the points ``x`` in the unit box, the odd coordinates on a log scale
    (``1e-5 * 10^(4 x)``), and their ranges."""
    values = np.where(np.arange(x.shape[1]) % 2 == 1, 1e-5 * 10.0 ** (4.0 * x), x)
    configs = [{f"x{j}": float(value) for j, value in enumerate(row)} for row in values]
    ranges = {f"x{j}": (1e-5, 0.1, True) if j % 2 else (0.0, 1.0)
              for j in range(x.shape[1])}
    return configs, ranges


def ranges_read_right(read: dict, ranges: dict) -> bool:
    """Whether every range was read with its scale and its span within 5% of it."""
    if read.keys() != ranges.keys():
        return False
    for name, (low, high, *log) in ranges.items():
        log = bool(log and log[0])
        got_low, got_high, got_log = read[name]
        f = np.log if log else (lambda v: v)
        width = f(high) - f(low)
        if (got_log != log or abs(f(got_low) - f(low)) > 0.05 * width
                or abs(f(got_high) - f(high)) > 0.05 * width):
            return False
    return True


def run_problems(indices: list[int], problems: int, ns: list[int], confidence: float,
                 reference: int, seed: int, inside: bool = False,
                 near: bool = False, flags_only: bool = False) -> list[dict]:
    warnings.simplefilter("ignore")
    rows = []
    for i, problem in enumerate(random_problems(problems, generator=seed)):
        if i not in indices:
            continue
        rng = np.random.default_rng([seed, i])
        edge, truth, effective, ends = moved_out(problem, rng, inside, near)
        x = rng.random((max(ns), edge.dimension))
        search = edge.objective(x, generator=rng)
        configs, ranges = log_scaled(x)
        truly = {(f"x{j}", end) for j, end in ends.items()}
        sign = 1.0 if edge.direction == "maximize" else -1.0
        ref = None if flags_only else np.sort(sign * edge.run_search(reference, generator=rng))
        for n in ns:
            flags = {(e.name, e.end) for e in
                     crowded_edges(search[:n], configs[:n], ranges, edge.direction)}
            read = sampled_ranges(configs[:n], search[:n])
            sampled = {(e.name, e.end) for e in
                       crowded_edges(search[:n], configs[:n], read, edge.direction)}
            row = {
                "n": n,
                "failed": False,
                "drop": abs(problem.best - truth) / edge.scale,  # below the optimum's best
                "found": bool(flags & truly),  # an end the optimum lies beyond, flagged
                "false": bool(flags - truly),  # an end it does not lie beyond, flagged
                "found_read": bool(sampled & truly),  # the same, the ranges read off
                "false_read": bool(sampled - truly),
                "read": ranges_read_right(read, ranges),
            }
            if not flags_only:
                try:
                    est = analyze(search[:n], edge.direction, confidence=confidence)
                except TailstopError:
                    rows.append({"n": n, "failed": True})
                    continue
                row.update(interval_checks(est, truth, edge, ref, n),
                           c=est.effective_dimension.estimate, effective=effective)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=96)
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--confidence", type=float, default=0.9)
    parser.add_argument("--reference", type=int, default=200_000,
                        help="draws of each problem's scores for the exact mean gain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--inside", action="store_true",
                        help="the control: the same axis-aligned problems, optimum inside")
    parser.add_argument("--near", action="store_true",
                        help="the optimum inside, 0.1-0.25 of the range from an end")
    parser.add_argument("--flags-only", action="store_true",
                        help="the range-edge flags alone, no estimates")
    args = parser.parse_args()
    parts = [list(range(j, args.problems, args.jobs)) for j in range(args.jobs)]
    tasks = [(part, args.problems, args.ns, args.confidence, args.reference, args.seed,
              args.inside, args.near, args.flags_only) for part in parts]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = [row for part in pool.map(run_problems, *zip(*tasks, strict=True))
                    for row in part]
    else:
        rows = run_problems(*tasks[0])
    where = ("inside the box (the control)" if args.inside
             else "inside, near an end" if args.near else "out of the box")
    print(f"{args.problems} axis-aligned synthetic problems, the optimum {where} "
          f"(r 1-4, noise 0-5% of the range, both directions), confidence {args.confidence}")
    if args.flags_only:
        print(f"{'n':>5} {'found':>6} {'false':>6} {'found*':>7} {'false*':>7} {'read':>6}")
        for n in args.ns:
            done = [r for r in rows if r["n"] == n]
            print(f"{n:>5}" + "".join(
                f" {np.mean([r[key] for r in done]):>{width}.3f}"
                for key, width in (("found", 6), ("false", 6), ("found_read", 7),
                                   ("false_read", 7), ("read", 6))))
        return
    print(f"{'n':>5} {'bp cov':>7} {'width':>7} {'median err':>11} {'fits':>5} "
          f"{'c med':>6} {'r+l med':>8} {'gain cov':>9} {'gain<=hi':>9} {'found':>6} "
          f"{'false':>6} {'found*':>7} {'false*':>7} {'read':>6} {'failed':>7}")
    for n in args.ns:
        done = [r for r in rows if r["n"] == n and not r["failed"]]
        failed = sum(r["n"] == n and r["failed"] for r in rows)

        def share(key, done=done):
            return np.mean([r[key] for r in done])

        def median(key, done=done):
            return np.median([r[key] for r in done])

        print(f"{n:>5} {share('covers'):>7.3f} {median('width'):>7.4f} "
              f"{median('error'):>+11.4f} {share('fits'):>5.2f} {median('c'):>6.1f} "
              f"{median('effective'):>8.1f} {share('gain_covers'):>9.3f} "
              f"{share('gain_below_high'):>9.3f} {share('found'):>6.2f} "
              f"{share('false'):>6.2f} {share('found_read'):>7.2f} "
              f"{share('false_read'):>7.2f} {share('read'):>6.2f} {failed:>7}")
    if not (args.inside or args.near):
        print("found, by how far the best inside the box falls below the optimum's (drop / range):")
        for n in args.ns:
            done = [r for r in rows if r["n"] == n and not r["failed"]]
            parts = []
            for low, high in ((0.0, 0.01), (0.01, 0.03), (0.03, 1.0)):
                part = [r["found"] for r in done if low <= r["drop"] < high]
                parts.append(f"[{low:g}, {high:g}): {sum(part)} of {len(part)}")
            print(f"{n:>5}  " + "   ".join(parts))


if __name__ == "__main__":
    main()

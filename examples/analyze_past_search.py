"""Analyse a finished search from a CSV file: how far was it from done?

Reads one score per trial from a CSV column (empty cells are failed trials), fits the noisy
quadratic law to the tail, prints the report and what more trials would bring, and writes the
tuning-curve plot. Without a file it first writes a demonstration CSV (a synthetic search with a
known truth), so the example runs as it is.

    python examples/analyze_past_search.py                         # the demonstration CSV
    python examples/analyze_past_search.py runs.csv --column accuracy --bounds 0 1
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import tailstop
from tailstop.synthetic import make_problem


def write_demo_csv(path: Path, n: int) -> None:
    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=7)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["trial", "score"])
        for i, score in enumerate(problem.run_search(n, generator=8)):
            writer.writerow([i, f"{score:.6f}"])
    print(f"wrote {path} ({n} trials; true best possible {problem.best:.4f}, "
          f"effective dimension {problem.effective_dimension})")


def read_scores(path: Path, column: str) -> list[float | None]:
    with path.open(newline="") as fh:
        return [float(row[column]) if row[column].strip() else None for row in csv.DictReader(fh)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path)
    parser.add_argument("--column", default="score")
    parser.add_argument("--direction", default="maximize", choices=["maximize", "minimize"])
    parser.add_argument("--bounds", type=float, nargs=2, default=None)
    parser.add_argument("--trials", type=int, default=200, help="size of the demonstration CSV")
    parser.add_argument("--plot", type=Path, default=Path("past-search.png"))
    args = parser.parse_args(argv)
    path = args.csv
    if path is None:
        path = Path("past-search.csv")
        write_demo_csv(path, args.trials)
    estimate = tailstop.analyze(read_scores(path, args.column), args.direction,
                                bounds=args.bounds)
    print(estimate)
    for k in (10, 100, 1000):
        gain = estimate.expected_gain(k)
        print(f"expected gain of {k:>4} more trials: {gain.estimate:.4g} "
              f"[{gain.low:.4g}, {gain.high:.4g}]")
    try:
        from tailstop import plot
    except ImportError:
        return
    try:
        figure = plot.figure(estimate, pyplot=False)
    except tailstop.errors.TailstopError as exc:  # matplotlib missing
        print(f"no plot: {exc}")
        return
    figure.savefig(args.plot, dpi=100)
    print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()

"""Benchmark: what ``analyze(..., noise=)`` costs against the plain call (CPU time).

On the shared searches AlexNet (504 trials) and DeBERTaV3 (1,000), a cold call and then four
one-trial updates (``previous=``), with and without the noise (the one fitted to all the
search's trials), interleaved in one process, ``--reps`` times; prints the medians and their
ratio. CPU time (``time.process_time``), so that a busy machine disturbs the ratio less.

Run from the repository root (about 1 minute)::

    PYTHONPATH=src python examples/benchmarks/bench_noise_cost.py
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import numpy as np

from tailstop import analyze

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--updates", type=int, default=4)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    for name in ("alexnet", "deberta-v3-base"):
        with (args.data / f"{name}.csv").open(newline="") as fh:
            ys = np.array([float(row["score"]) for row in csv.DictReader(fh)])
        n = min(ys.size - args.updates, 1000)
        noise = analyze(ys, "maximize", bounds=(0, 1)).noise
        cold: dict[str, list[float]] = {"plain": [], "noise": []}
        update: dict[str, list[float]] = {"plain": [], "noise": []}
        for _ in range(args.reps):
            for key, given in (("plain", None), ("noise", noise)):
                start = time.process_time()
                est = analyze(ys[:n], "maximize", bounds=(0, 1), noise=given)
                cold[key].append(time.process_time() - start)
                for j in range(1, args.updates + 1):
                    start = time.process_time()
                    est = analyze(ys[: n + j], "maximize", bounds=(0, 1), noise=given,
                                  previous=est)
                    update[key].append(time.process_time() - start)
        c = {k: 1e3 * float(np.median(v)) for k, v in cold.items()}
        u = {k: 1e3 * float(np.median(v)) for k, v in update.items()}
        print(f"{name} n={n}: cold {c['plain']:.0f} ms plain, {c['noise']:.0f} ms with noise "
              f"(x{c['noise'] / c['plain']:.2f}); update {u['plain']:.0f} ms plain, "
              f"{u['noise']:.0f} ms with noise (x{u['noise'] / u['plain']:.2f})", flush=True)


if __name__ == "__main__":
    main()

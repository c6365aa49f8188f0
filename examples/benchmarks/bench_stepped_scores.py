"""Benchmark: searches whose metric comes in steps (accuracy on a finite set), with and
without ``analyze(..., resolution=)``.

Each search mixes a head of poor trials (uniform on [0.1, 0.9], 70%) with a tail drawn from
a noisy quadratic ``NQ(b - w, b, c, o)`` (30%), its best possible ``b`` = 0.92 the truth. The
scores are then rounded to a step of a tenth of the tail's width ``w`` (as accuracy on a
finite set is), and in the ``jitter`` rows moved by a few multiples of a step 170 times
smaller (as averages over folds of unequal sizes are: 3-fold accuracy on 500 examples
differs by multiples of about 1.2e-5 around each multiple of 0.002). Rows:

* ``continuous``: the scores as drawn (the reference);
* ``stepped, copies``: rounded; the shape test given ``k`` equal transforms for ``k`` tied
  scores (tailstop before the tied transforms were spread over their bucket);
* ``stepped``: rounded; tailstop as it is (tied transforms spread);
* ``jitter``: rounded and jittered, no resolution;
* ``jitter, resolution``: the same with ``resolution`` = the step.

Per row: the share of estimates whose law fits (``fits_well``), the median share of the
trials in the chosen tail, the coverage of the true best possible by its 90% interval, the
median error of the best possible's estimate, and its median signed error in steps (``bias``).

Run from the repository root (a few minutes)::

    PYTHONPATH=src python examples/benchmarks/bench_stepped_scores.py --ns 100 300 1000 --count 40
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from tailstop import NoisyQuadraticDistribution, analyze, regime
from tailstop.errors import TailstopError

BEST = 0.92
LAWS = ((2, 0.02, 0.002), (1, 0.01, 0.001), (4, 0.04, 0.004))  # (c, width w, noise o)
JITTER_RATIO = 170  # the step over the jitter's


def search(n: int, seed: int, index: int):
    """``(scores, step)`` of one search: the continuous scores and the metric's step."""
    c, width, noise = LAWS[index % len(LAWS)]
    rng = np.random.default_rng([seed, n, index])
    tail = NoisyQuadraticDistribution(BEST - width, BEST, c, noise).sample(n, generator=rng)
    scores = np.where(rng.random(n) < 0.3, tail, rng.uniform(0.1, 0.9, n))
    return scores, width / 10


def copies_pit(dist, tail, threshold):
    """The transforms before ties were spread: ``k`` copies for ``k`` tied scores."""
    above = dist.sf(threshold) if np.isfinite(threshold) else 1.0
    return 1.0 - dist.sf(np.sort(tail)) / above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ns", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--count", type=int, default=40, help="searches per n")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    spread_pit = regime.tail_pit
    kinds = ("continuous", "stepped, copies", "stepped", "jitter", "jitter, resolution")
    print(f"searches: 30% NQ(0.92 - w, 0.92, c, o), (c, w, o) in {LAWS}, 70% uniform "
          f"on [0.1, 0.9]; step w / 10; {args.count} searches per n; 90% intervals")
    print(f"{'n':>5} {'scores':<20} {'fits':>6} {'tail':>6} {'covers':>7} {'|err| med':>10} "
          f"{'bias med':>9} {'errors':>6}")
    for n in args.ns:
        rows: dict[str, list] = {kind: [] for kind in kinds}
        for i in range(args.count):
            scores, step = search(n, args.seed, i)
            stepped = np.round(scores / step) * step
            rng = np.random.default_rng([args.seed, n, i, 1])
            jittered = stepped + (step / JITTER_RATIO) * rng.integers(-2, 3, n)
            cases = {
                "continuous": (scores, None),
                "stepped, copies": (stepped, None),
                "stepped": (stepped, None),
                "jitter": (jittered, None),
                "jitter, resolution": (jittered, step),
            }
            for kind, (data, resolution) in cases.items():
                regime.tail_pit = copies_pit if kind == "stepped, copies" else spread_pit
                try:
                    est = analyze(data, "maximize", bounds=(0, 1), resolution=resolution)
                except TailstopError:
                    rows[kind].append(None)
                    continue
                finally:
                    regime.tail_pit = spread_pit
                bp = est.best_possible
                rows[kind].append((est.fits_well, est.tail_fraction,
                                   bp.low <= BEST <= bp.high, abs(bp.estimate - BEST),
                                   (bp.estimate - BEST) / step))
        for kind in kinds:
            done = [r for r in rows[kind] if r is not None]
            fits, tail, covers, error, bias = (
                np.array(x, dtype=float) for x in zip(*done, strict=True)
            )
            print(f"{n:>5} {kind:<20} {fits.mean():>6.2f} {np.median(tail):>6.2f} "
                  f"{covers.mean():>7.2f} {np.median(error):>10.5f} {np.median(bias):>+9.2f} "
                  f"{len(rows[kind]) - len(done):>6}", flush=True)


if __name__ == "__main__":
    main()

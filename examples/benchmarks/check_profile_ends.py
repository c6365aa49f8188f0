"""Check: are the ends of analyze()'s best-possible intervals where the profile says?

An end of the interval for ``b`` is where the profile deviance ``D(b) = 2 (n + 1) (L(b) - L^)``,
minimised over everything else, crosses the chi-square critical value (2.71 at 0.9). analyze
finds it by a walk of local fits; this script refits at every reported end with the *global*
search (``fit_parameters`` with ``b`` fixed, every ``c``) and reports the deviance there. An end
whose global deviance is well below the critical value was stopped short (the interval is too
narrow there). The ends checked: the chosen tail's and the stability partner's, both sides, on

* draws of the noisy quadratic itself (NQ(0, 1, c, o), c in {1, 2, 3}, o in {0, 0.01, 0.03},
  n = 48), cold calls;
* random subsamples of the shared searches (n = 40, 64, 128, 300), cold calls;
* the shared searches after 8 updates (``previous=``) from 60 and 200 trials.

Run from the repository root (about 5 minutes)::

    PYTHONPATH=src python examples/benchmarks/check_profile_ends.py [--short 2.3]
"""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path

import numpy as np

from tailstop import analyze
from tailstop.distributions import NoisyQuadraticDistribution
from tailstop.fitting import fit_parameters, spacing_loss
from tailstop.regime import tail_constraints

SCORES = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
NAMES = ("alexnet", "convnext-tiny", "deberta-base", "deberta-v3-base")


def end_deviances(estimate, ys: np.ndarray, b_range=(-np.inf, np.inf)):
    """(label, end, global deviance) of every finite end of both profiles of ``b``."""
    ys = np.where(np.isfinite(ys), ys, -np.inf)
    state = estimate._state
    rows = []
    for part, fit, fraction in (
        ("main", state.fit, state.tail_fraction),
        ("partner", state.deeper_fit, state.deeper_fraction),
    ):
        if fit is None:
            continue
        k = round(fraction * ys.size)
        limits = (np.sort(ys)[ys.size - k - 1] if k < ys.size else -np.inf, np.inf)
        loss_hat = spacing_loss(ys, limits, fit.a, fit.b, fit.c, fit.o, False)
        for side in (1.0, -1.0):
            key = ("b", side) if part == "main" else ("deeper", "b", side)
            end = state.ends[key]
            if end in b_range:  # the metric's bound: an end by constraint, not by deviance
                continue
            constraints = {**tail_constraints(10, b_range), "b": end}
            constrained = fit_parameters(ys, limits, constraints)
            deviance = 2 * (ys.size + 1) * (constrained.loss - loss_hat)
            rows.append((f"{part} {'upper' if side > 0 else 'lower'}", end, deviance))
    return rows


def report(title: str, rows: list, short: float) -> None:
    deviances = np.array([r[-1] for r in rows])
    bad = [r for r in rows if r[-1] < short]
    q = np.quantile(deviances, [0.0, 0.1, 0.5, 0.9])
    print(
        f"{title:34s} ends {deviances.size:4d}  below {short}: {len(bad):3d}   "
        f"deviance min {q[0]:.2f} p10 {q[1]:.2f} median {q[2]:.2f} p90 {q[3]:.2f}"
    )
    for r in bad:
        print(f"    {r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=float, default=2.3, help="deviance counted as short")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    rows = []
    for seed in range(60):
        c, o = (1, 2, 3)[seed % 3], (0.0, 0.01, 0.03)[(seed // 3) % 3]
        ys = NoisyQuadraticDistribution(0.0, 1.0, c, o).sample(
            48, generator=np.random.default_rng(seed)
        )
        rows += [(seed, c, o, *r) for r in end_deviances(analyze(ys, "maximize"), ys)]
    report("law draws, n = 48, cold", rows, args.short)

    if not SCORES.is_dir():
        print(f"(no shared data at {SCORES}: the real searches are skipped)")
        return
    searches = {}
    for name in NAMES:
        with (SCORES / f"{name}.csv").open() as fh:
            searches[name] = np.array([float(row["score"]) for row in csv.DictReader(fh)])
    rows = []
    for name, scores in searches.items():
        for seed in range(4):
            ys = np.random.default_rng(seed).permutation(scores)
            for n in (40, 64, 128, 300):
                est = analyze(ys[:n], "maximize", bounds=(0, 1))
                rows += [(name, seed, n, *r) for r in end_deviances(est, ys[:n], (0.0, 1.0))]
    report("real searches, cold", rows, args.short)
    rows = []
    for name, scores in searches.items():
        for seed in range(3):
            ys = np.random.default_rng(seed).permutation(scores)
            for n in (60, 200):
                est = analyze(ys[:n], "maximize", bounds=(0, 1))
                for m in range(n + 1, n + 9):
                    est = analyze(ys[:m], "maximize", bounds=(0, 1), previous=est)
                rows += [(name, seed, n, *r) for r in end_deviances(est, ys[: n + 8], (0.0, 1.0))]
    report("real searches, after 8 updates", rows, args.short)


if __name__ == "__main__":
    main()

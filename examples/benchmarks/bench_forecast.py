"""Benchmark: forecast accuracy of analyze() on real searches (issue 3).

For each real search in ``../shared/data/scores/*.csv`` (column ``score``, maximise) and each
sample size n, ``--reps`` random subsamples of n trials are drawn *without replacement*, and
each predictor forecasts the expected best score after k = 256 trials. The truth is the
empirical average tuning curve of *all* N trials at k,

    E[max of k draws from F_N] = sum_i y_(i) [(i/N)^k - ((i-1)/N)^k],

(``EmpiricalDistribution(all).average_tuning_curve(k)``). Predictors:

* ``ts-gain``: ``analyze(sub, "maximize", bounds=(0, 1))``; current best + ``expected_gain(k - n)``,
  i.e. ``E[max(best, T_(k-n))]``, the expected best after k trials given the n observed ones;
* ``ts-own``: current best + the best fit's own gain ``int (1 - F^(k - n))``, the estimate
  before session 28, whose chance of any gain ``1 - F(y*)^(k - n)`` runs high (``ts-gain``
  takes that chance from the ranks, ``(k - n) / k``);
* ``ts-law``: the fitted law alone, ``est.distribution.average_tuning_curve(k)``;
* ``best``: the current best of the subsample;
* ``nonpar``: the empirical average tuning curve of the subsample at k (bootstrap law).

Tables: mean and median absolute error per dataset and n (paired: over the subsamples where
analyze succeeded); the bias of ``ts-gain``; the coverage of the ``expected_gain(k - n)``
interval against ``truth - best`` and against the conditional truth
``E[max(best, T_(k-n))] - best`` with T drawn from all N trials; the fitted effective dimension c
(most common values), tail fraction, share of near-zero noise fits and of ``fits_well``; analyze
failures (by exception class) and the median time per call. Then, at n = 64, the ratio of
tailstop's error to the better baseline and the issue's target (<= half of either baseline's
error on every dataset).

``--noise-seeds M`` passes a known seed noise (``analyze(..., noise=)``): the noise fitted to
*all* trials of the search (these searches have no repeated seeds to measure it on), as if
measured from M seeds of one configuration: ``sigma_all * sqrt(chi2_(M-1) / (M-1))``, a fresh
draw per subsample; ``M = 0`` passes ``sigma_all`` itself.

``--tail-share F`` replaces the automatic threshold by a tail of ``max(10, round(F n))`` trials
(a diagnostic: does a shallower or deeper tail forecast better?).

Run from the repository root (about 20 minutes at the defaults on a shared 2-core machine)::

    PYTHONPATH=src python examples/benchmarks/bench_forecast.py --reps 100
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import time
import warnings
from pathlib import Path

import numpy as np

from tailstop import forecast
from tailstop.errors import TailstopError
from tailstop.estimate import analyze
from tailstop.nonparametric import EmpiricalDistribution

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
PREDICTORS = ("ts-gain", "ts-own", "ts-law", "best", "nonpar")
TARGET_N = 64
ZERO_NOISE = 1e-6  # a fitted seed-noise std below this (in score units) counts as noiseless


def load_scores(path: Path) -> np.ndarray:
    """The ``score`` column of a CSV file as floats (csv module; no pandas)."""
    with path.open(newline="") as fh:
        return np.array([float(row["score"]) for row in csv.DictReader(fh)])


def expected_best(values: np.ndarray, k: float) -> float:
    """Expected best of ``k`` draws with replacement from the empirical law of ``values``.

    ``sum_i y_(i) [(i/N)^k - ((i-1)/N)^k]`` (the average tuning curve of Dodge et al. 2019).
    """
    return float(EmpiricalDistribution(values).average_tuning_curve(k))


def conditional_expected_best(values: np.ndarray, best: float, k: float) -> float:
    """``E[max(best, T_k)]``, T_k the best of ``k`` draws from the empirical law of ``values``.

    ``max(best, max_j Y_j) = max_j max(best, Y_j)``, so this is the average tuning curve of the
    values floored at ``best``; ``best`` itself when ``k = 0``.
    """
    if k == 0:
        return float(best)
    return expected_best(np.maximum(values, best), k)


def most_common(values, top: int = 3) -> str:
    """``"value:count"`` for the ``top`` most frequent values, most frequent first."""
    counts = collections.Counter(values).most_common(top)
    return " ".join(f"{value}:{count}" for value, count in counts)


def error_summary(predictions: dict[str, list[float]], truth: float) -> dict[str, tuple]:
    """Per predictor: (mean absolute error, median absolute error, mean signed error)."""
    summary = {}
    for name, values in predictions.items():
        errors = np.asarray(values, dtype=float) - truth
        if errors.size == 0:
            summary[name] = (np.nan, np.nan, np.nan)
        else:
            abs_errors = np.abs(errors)
            summary[name] = (abs_errors.mean(), np.median(abs_errors), errors.mean())
    return summary


def meets_target(errors: dict[str, float], factor: float = 0.5) -> bool:
    """Issue 3's target: tailstop's error at most ``factor`` x each baseline's error."""
    return bool(errors["ts"] <= factor * min(errors["best"], errors["nonpar"]))


def measured_noise(sigma: float | None, seeds: int | None, rng) -> float | None:
    """``sigma`` as measured from ``seeds`` seeds (``0``: exactly; None: not given)."""
    if sigma is None or seeds is None:
        return None
    if seeds == 0:
        return sigma
    return float(sigma * np.sqrt(rng.chisquare(seeds - 1) / (seeds - 1)))


def run_case(scores, n, k, reps, seed, max_dimension, dataset_index, sigma=None, seeds=None):
    """All subsamples of one dataset at one n: one record per subsample (``sigma``,
    ``seeds``: the known noise to pass, see :func:`measured_noise`)."""
    records = []
    for rep in range(reps):
        rng = np.random.default_rng([seed, dataset_index, n, rep])
        sub = rng.choice(scores, size=n, replace=False)
        noise = measured_noise(sigma, seeds, rng)
        best = float(sub.max())
        record = {
            "rep": rep,
            "best": best,
            "nonpar": expected_best(sub, k),
            "conditional": conditional_expected_best(scores, best, k - n),
        }
        start = time.perf_counter()
        try:
            est = analyze(sub, "maximize", bounds=(0.0, 1.0), max_dimension=max_dimension,
                          noise=noise)
            gain = est.expected_gain(k - n)
            law = float(est.distribution.average_tuning_curve(k))
            own = float(forecast.expected_gain(est._fits[0], float(est._clean.values.max()),
                                               k - n, ceiling=est._ceiling))
        except TailstopError as exc:
            record["error"] = type(exc).__name__
            records.append(record)
            continue
        record.update(
            seconds=time.perf_counter() - start,
            ts_gain=best + float(gain.estimate),
            ts_own=best + own,
            ts_law=law,
            gain_low=float(gain.low),
            gain_high=float(gain.high),
            c=est.effective_dimension.estimate,
            noise=est.noise,
            tail_fraction=est.tail_fraction,
            best_possible=float(est.best_possible.estimate),
            fits_well=est.fits_well,
        )
        records.append(record)
    return records


def summarize(records, truth):
    """The table rows' numbers for one dataset and n."""
    ok = [r for r in records if "error" not in r]
    predictions = {
        "ts-gain": [r["ts_gain"] for r in ok],
        "ts-own": [r["ts_own"] for r in ok],
        "ts-law": [r["ts_law"] for r in ok],
        "best": [r["best"] for r in ok],
        "nonpar": [r["nonpar"] for r in ok],
    }
    covered = [r["gain_low"] <= truth - r["best"] <= r["gain_high"] for r in ok]
    covered_conditional = [
        r["gain_low"] <= r["conditional"] - r["best"] <= r["gain_high"] for r in ok
    ]
    return {
        "errors": error_summary(predictions, truth),
        "coverage": np.mean(covered) if ok else np.nan,
        "coverage_conditional": np.mean(covered_conditional) if ok else np.nan,
        "c": most_common([r["c"] for r in ok]),
        "tail": np.quantile([r["tail_fraction"] for r in ok], [0.1, 0.5, 0.9]) if ok else [],
        "zero_noise": np.mean([r["noise"] < ZERO_NOISE for r in ok]) if ok else np.nan,
        "fits_well": np.mean([r["fits_well"] for r in ok]) if ok else np.nan,
        "failures": collections.Counter(r["error"] for r in records if "error" in r),
        "ms": 1e3 * np.median([r["seconds"] for r in ok]) if ok else np.nan,
        "mae_by_c": {
            c: np.mean([abs(r["ts_gain"] - truth) for r in ok if r["c"] == c])
            for c in sorted({r["c"] for r in ok})
        },
    }


def force_tail_share(share: float) -> None:
    """Make analyze() fit a tail of ``max(MIN_TAIL, round(share n))`` trials: the threshold
    search is given that one candidate (the diagnostic behind ``--tail-share``)."""
    from tailstop import regime

    def one_candidate(n: int, *args, **kwargs) -> np.ndarray:
        return np.array([min(n, max(regime.MIN_TAIL, round(share * n)))])

    regime.candidate_tail_sizes = one_candidate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--ns", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--max-dimension", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None, help="write every record as JSON")
    parser.add_argument(
        "--tail-share", type=float, default=None,
        help="fit a tail of this share of the trials instead of choosing the threshold",
    )
    parser.add_argument(
        "--noise-seeds", type=int, default=None, metavar="M",
        help="pass a known seed noise: the full search's fitted noise as measured from M "
        "seeds (0: exactly)",
    )
    args = parser.parse_args()
    if args.noise_seeds is not None and (args.noise_seeds == 1 or args.noise_seeds < 0):
        parser.error("--noise-seeds must be 0 or at least 2")
    if args.tail_share is not None:
        force_tail_share(args.tail_share)
    warnings.simplefilter("ignore")
    paths = sorted(args.data.glob("*.csv"))
    if not paths:
        raise SystemExit(f"no CSV files in {args.data}")

    known = "exactly" if args.noise_seeds == 0 else f"from {args.noise_seeds} seeds"
    print(
        f"Forecast of the expected best after k = {args.k} trials from n-trial subsamples, "
        f"{args.reps} subsamples each, max_dimension={args.max_dimension}"
        + ("" if args.tail_share is None else f", tail share forced to {args.tail_share:g}")
        + ("" if args.noise_seeds is None else f", noise known ({known})")
    )
    print(
        "errors in units of 1e-3 (score units); MAE / median AE over the subsamples where "
        "analyze succeeded"
    )
    header = (
        f"{'dataset':<16} {'n':>4} {'truth':>7} "
        + " ".join(f"{p:>8}" for p in PREDICTORS)
        + " | "
        + " ".join(f"{p:>7}" for p in PREDICTORS)
        + f" | {'bias ts':>7}"
    )
    print(f"{'':<29} {'mean absolute error':^35} | {'median absolute error':^31} |")
    print(header)
    results, all_records = {}, {}
    for index, path in enumerate(paths):
        scores = load_scores(path)
        truth = expected_best(scores, args.k)
        sigma = None
        if args.noise_seeds is not None:
            sigma = analyze(scores, "maximize", bounds=(0.0, 1.0),
                            max_dimension=args.max_dimension).noise
        for n in args.ns:
            records = run_case(scores, n, args.k, args.reps, args.seed, args.max_dimension, index,
                               sigma, args.noise_seeds)
            summary = summarize(records, truth)
            results[path.stem, n] = summary
            all_records[f"{path.stem}/{n}"] = {"truth": truth, "records": records}
            errors = summary["errors"]
            print(
                f"{path.stem:<16} {n:>4} {truth:>7.4f} "
                + " ".join(f"{1e3 * errors[p][0]:>8.3f}" for p in PREDICTORS)
                + " | "
                + " ".join(f"{1e3 * errors[p][1]:>7.3f}" for p in PREDICTORS)
                + f" | {1e3 * errors['ts-gain'][2]:>+7.3f}",
                flush=True,
            )

    print(
        "\nDiagnostics: coverage of expected_gain(k - n) against truth - best and against "
        "E[max(best, T_(k-n))] - best;\nfitted c (value:count), tail fraction (10/50/90%), "
        f"share with noise < {ZERO_NOISE:g}, share fits_well, failures, ms per analyze call"
    )
    print(
        f"{'dataset':<16} {'n':>4} {'cov':>5} {'cov|y*':>6} {'c (most common)':<18} "
        f"{'tail 10/50/90%':<15} {'o~0':>5} {'well':>5} {'fail':>5} {'ms':>6}  MAE ts-gain by c"
    )
    for (name, n), s in results.items():
        tail = "/".join(f"{100 * q:.0f}" for q in s["tail"])
        by_c = " ".join(f"{c}:{1e3 * v:.2f}" for c, v in s["mae_by_c"].items())
        failures = sum(s["failures"].values())
        print(
            f"{name:<16} {n:>4} {s['coverage']:>5.2f} {s['coverage_conditional']:>6.2f} "
            f"{s['c']:<18} {tail:<15} {s['zero_noise']:>5.2f} {s['fits_well']:>5.2f} "
            f"{failures:>5d} {s['ms']:>6.0f}  {by_c}"
        )
        if failures:
            print(f"{'':<22}failures: {dict(s['failures'])}")

    if TARGET_N in args.ns:
        print(f"\nTarget at n = {TARGET_N}: tailstop MAE <= 0.5 x min(best, nonpar) MAE")
        print(
            f"{'dataset':<16} {'ts-gain/min':>12} {'ts-law/min':>11} {'gain ok':>8} {'law ok':>7}"
        )
        passes = {"ts-gain": [], "ts-law": []}
        for (name, n), s in results.items():
            if n != TARGET_N:
                continue
            mae = {p: s["errors"][p][0] for p in PREDICTORS}
            baseline = min(mae["best"], mae["nonpar"])
            ok = {p: meets_target({"ts": mae[p], **mae}) for p in passes}
            for p in passes:
                passes[p].append(ok[p])
            verdict = {p: "pass" if ok[p] else "FAIL" for p in passes}
            print(
                f"{name:<16} {mae['ts-gain'] / baseline:>12.2f} "
                f"{mae['ts-law'] / baseline:>11.2f} "
                f"{verdict['ts-gain']:>8} {verdict['ts-law']:>7}"
            )
        for p, flags in passes.items():
            print(
                f"{p}: target {'MET' if all(flags) else 'NOT MET'} "
                f"({sum(flags)}/{len(flags)} datasets)"
            )
    if args.save is not None:
        args.save.write_text(json.dumps(all_records, default=float))


if __name__ == "__main__":
    main()

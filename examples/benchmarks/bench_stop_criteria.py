"""Benchmark: stopping criteria evaluated on the same estimates of replayed searches.

``bench_replay.py`` runs one Monitor per rule and order. This runs one Monitor per order
(budget known, the replay's orders: seed 0, so its first orders are ``bench_replay.py``'s)
with a rule that only records, at every refit, what the candidate criteria read, and then
says when each criterion would have stopped (epsilon = 0.005):

* ``UCB gain < eps``: the upper end of the expected gain's interval over the trials left
  (``GainBelow(0.005)``);
* ``... & max chance < p``: and the largest chance over the plausible fits of gaining more than
  epsilon (``GainBelow(0.005, probability=p)``);
* ``point chance < p``: the chance under the point fit alone;
* ``3-point chance < p``: a Gaussian posterior over the best possible score, on three
  points: the fit (weight ``1 - 2w``) and the fits at the interval's two ends (``w`` each,
  ``w = 1 / (2 chi2_1(confidence))`` so that the variance matches);

with their mean trials and success rate (final best within epsilon of the best of all N).
The recording stops once the most conservative criterion has stopped. ``--tail-share F``
forces the tail to that share of the trials (with a stability partner of half its size).

Run from the repository root (about 5 minutes per search for 20 orders)::

    PYTHONPATH=src python examples/benchmarks/bench_stop_criteria.py --files deberta-base
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from bench_forecast import load_scores
from scipy import stats

from tailstop import forecast, regime
from tailstop.monitor import Monitor
from tailstop.replay import _draw_orders
from tailstop.rules import Decision, Rule, gain_interval

DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "scores"
EPSILON = 0.005
LEVEL = 0.1


class Recorder(Rule):
    """Never stops before the most conservative criterion would; records what they read."""

    def __init__(self):
        self.rows: list[dict] = []

    def describe(self) -> str:
        return "recorder"

    def decide(self, estimate, state) -> Decision:
        horizon = int(state.remaining)
        if horizon <= 0:
            return Decision(True, "budget spent", "recorder", 0.0, EPSILON)
        best = float(np.max(estimate._clean.values))
        high = gain_interval(estimate, horizon)[2]
        chances = [
            float(forecast.prob_improvement(d, best, EPSILON, horizon)) for d in estimate._fits
        ]
        ends = [float(d.b) for d in estimate._fits]
        self.rows.append({"n": state.n_trials, "high": high, "chances": chances, "ends": ends,
                          "confidence": estimate.confidence})
        stop = high < EPSILON and max(chances) < LEVEL / 2
        return Decision(stop, "recorded", "recorder", high, EPSILON)


def three_point(row: dict) -> float:
    """Posterior-weighted chance: the fit and the fits at the best-possible interval's ends."""
    chances, ends = np.array(row["chances"]), np.array(row["ends"])
    w = 1.0 / (2.0 * stats.chi2.ppf(row["confidence"], 1))
    return float((1 - 2 * w) * chances[0] + w * chances[np.argmax(ends)]
                 + w * chances[np.argmin(ends)])


CRITERIA = {
    "UCB gain < eps (default)": lambda r: r["high"] < EPSILON,
    f"... & max chance < {LEVEL:g}": lambda r: r["high"] < EPSILON and max(r["chances"]) < LEVEL,
    f"point chance < {LEVEL:g}": lambda r: r["chances"][0] < LEVEL,
    f"3-point chance < {LEVEL:g}": lambda r: three_point(r) < LEVEL,
}


def force_tail_share(share: float) -> None:
    """The threshold search keeps a tail of ``share`` of the trials, and half of it as its
    stability partner."""

    def sizes(n, *args, **kwargs):
        big = min(n, max(2 * regime.MIN_TAIL, round(share * n)))
        return np.array([big, big // 2])

    regime.candidate_tail_sizes = sizes
    regime.forward_stop = lambda p_values, alpha: 0


def trace(scores: np.ndarray, orders: int, seed: int) -> list[dict]:
    traces = []
    for permutation in _draw_orders(scores.size, orders, seed):
        recorder = Recorder()
        monitor = Monitor("maximize", recorder, budget=scores.size)
        ordered = scores[permutation]
        for score in ordered:
            monitor.observe(score)
            if monitor.should_stop:
                break
        traces.append({"running": np.maximum.accumulate(ordered), "rows": recorder.rows})
    return traces


def evaluate(traces: list[dict], top: float, size: int) -> dict:
    out = {}
    for name, criterion in CRITERIA.items():
        used, success = [], []
        for t in traces:
            n = next((r["n"] for r in t["rows"] if criterion(r)), size)
            used.append(n)
            success.append(top - t["running"][n - 1] <= EPSILON)
        out[name] = (float(np.mean(used)), float(np.mean(success)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--files", nargs="+", default=None, help="file stems (default: all)")
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tail-share", type=float, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.tail_share is not None:
        force_tail_share(args.tail_share)
    paths = sorted(args.data.glob("*.csv"))
    if args.files:
        paths = [p for p in paths if p.stem in args.files]
    if not paths:
        raise SystemExit(f"no matching CSV files in {args.data}")
    share = "" if args.tail_share is None else f", tail forced to {args.tail_share:g}"
    print(f"{args.orders} orders (seed {args.seed}), budget N, epsilon {EPSILON}{share}; "
          "mean trials / success")
    for path in paths:
        scores = load_scores(path)
        traces = trace(scores, args.orders, args.seed)
        oracle = np.mean([int(np.argmax(scores.max() - t["running"] <= EPSILON)) + 1
                          for t in traces])
        print(f"{path.stem} (N = {scores.size}, oracle {oracle:.1f})")
        for name, (trials, success) in evaluate(traces, scores.max(), scores.size).items():
            print(f"   {name:<28} {trials:7.1f} / {success:.2f}", flush=True)


if __name__ == "__main__":
    main()

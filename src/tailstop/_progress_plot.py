"""The course of a live search: :func:`tailstop.plot.progress` (documented there).

One point per refit of a :class:`~tailstop.Monitor`: the current best and the best possible
score with its interval above, the expected gain over each refit's horizon with its interval
below (log scale), against the trials run. Needs matplotlib, imported when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tailstop.errors import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["progress"]


def progress(history, axes=None) -> tuple[Axes, Axes]:
    """Plot how a live search's estimate moved: one point per refit of a ``Monitor``.

    Top: the current best (steps) and the best possible score with its interval (a band,
    hatched where the law did not fit the tail yet). Bottom: the expected gain over each
    refit's horizon (the remaining budget, or as many trials as have run) with its interval,
    on a log scale: ``GainBelow`` stops when the interval's upper end falls below its
    epsilon. The stop is marked on both; given a monitor (not a bare history), a stop
    decided between refits is drawn too, at its own trial and horizon. When the first refits'
    intervals are far wider than the later ones (a few dozen trials can leave most of the
    metric's range open), the score axis shows the later ones and the wide bands run off it.

    Parameters
    ----------
    history : Monitor, OptunaCallback, RayTuneStopper or sequence of dict
        A :class:`~tailstop.Monitor`, a callback (its ``monitor``), or a monitor's
        :attr:`~tailstop.Monitor.history`; failed refits (records with ``error``) are
        skipped.
    axes : (Axes, Axes), optional
        Where to draw the scores and the gains; a new figure's two axes by default.

    Returns
    -------
    (Axes, Axes)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tailstop import GainBelow, Monitor
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> monitor = Monitor("maximize", GainBelow(0.02), budget=200, min_trials=40, refit_step=25)
    >>> for score in problem.run_search(200, generator=6):
    ...     monitor.observe(score)
    ...     if monitor.should_stop:
    ...         break
    >>> monitor.should_stop, monitor.history[0]["n_trials"], monitor.n_trials < 200
    (True, 40, True)
    >>> top, bottom = progress(monitor)
    >>> top.get_legend_handles_labels()[1]
    ['current best', 'best possible', '90% interval']
    >>> bottom.get_legend_handles_labels()[1]
    ['expected gain', 'interval', 'upper end (the rule bound)', 'epsilon 0.02']
    """
    from tailstop.plot import COLORS, _pyplot

    source = getattr(history, "monitor", history)  # a callback: its monitor
    if source is None and history is not None:  # a callback before its first trial
        raise InvalidParameterError("the history holds no successful refit to draw yet")
    records = getattr(source, "history", source)
    if not isinstance(records, (list, tuple)):
        raise InvalidParameterError(
            f"history must be a Monitor or its history (a list of records), got "
            f"{type(history).__name__}"
        )
    fitted = [r for r in records if isinstance(r, dict) and "best_possible" in r]
    if not fitted:
        raise InvalidParameterError("the history holds no successful refit to draw yet")
    if axes is None:
        fig = _pyplot().figure(figsize=(8.0, 6.0))
        axes = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1.0]})
    top, bottom = axes
    fitted = fitted + _stop_between_refits(source, fitted)
    n = np.array([r["n_trials"] for r in fitted], dtype=float)
    best = np.array([r["current_best"] for r in fitted], dtype=float)
    bp = np.array([r["best_possible"] for r in fitted], dtype=float)
    gain = np.array([r["expected_gain"] for r in fitted], dtype=float)
    fits = np.array([bool(r.get("fits_well", True)) for r in fitted])
    stops = np.array([bool(r.get("should_stop", False)) for r in fitted])
    top.step(n, best, where="post", color=COLORS["observed"], label="current best")
    top.plot(n, bp[:, 0], color=COLORS["best"], label="best possible")
    level = getattr(source, "confidence", None)
    band = f"{level:.0%} interval" if level is not None else "interval"
    _band(top, n, bp[:, 1], bp[:, 2], fits, COLORS["best"], band)
    bottom.plot(n, gain[:, 0], color=COLORS["fitted"], label="expected gain")
    # (where the law does not fit, the gain's low end is 0: nothing bounds it from below)
    _band(bottom, n, np.maximum(gain[:, 1], 1e-300), gain[:, 2], fits, COLORS["fitted"],
          "interval")
    bottom.plot(n, gain[:, 2], color=COLORS["fitted"], linewidth=0.8, linestyle="--",
                label="upper end (the rule bound)")
    bottom.set_yscale("log")
    # GainBelow's epsilon at each refit (from the fitted noise by default: it moves)
    epsilons = np.array([np.nan if r.get("epsilon") is None else r["epsilon"] for r in fitted])
    if np.isfinite(epsilons).any():
        fixed = np.unique(epsilons[np.isfinite(epsilons)])
        label = f"epsilon {fixed[0]:g}" if fixed.size == 1 else "epsilon (from each fit)"
        bottom.step(n, epsilons, where="post", color=COLORS["threshold"], linestyle="-.",
                    linewidth=1.0, label=label)
    positive = np.append(gain[gain > 0], epsilons[np.isfinite(epsilons)])
    if positive.size:  # (a gain of 0, with nothing left to gain, has no place on a log scale)
        bottom.set_ylim(max(positive.min(), positive.max() * 1e-6) / 2, positive.max() * 2)
    limits = _score_limits(best, bp)
    if limits is not None:
        top.set_ylim(*limits)
    if stops.any():
        first = np.argmax(stops)
        for ax in (top, bottom):
            ax.axvline(n[first], color=COLORS["threshold"], linestyle=":", linewidth=1.0)
        top.annotate("stop", (n[first], best[first]), textcoords="offset points",
                     xytext=(4, -12), fontsize="small")
    top.set_ylabel("score")
    refits = sum(1 for r in fitted if r.get("refit", True))
    top.set_title(f"Progress: {int(n[-1])} trials, {refits} refits")
    top.legend(loc="best", fontsize="small")
    bottom.set_xlabel("trials")
    bottom.set_ylabel("expected gain over the horizon")
    bottom.legend(loc="best", fontsize="small")
    return top, bottom


def _band(ax, n, low, high, fits, color, label: str) -> None:
    """An interval's band, hatched over the refits where the law did not fit the tail."""
    ax.fill_between(n, low, high, color=color, alpha=0.2, label=label)
    if not fits.all():
        ax.fill_between(n, low, high, where=~fits, facecolor="none", edgecolor=color,
                        hatch="//", linewidth=0.0, label="(the law does not fit yet)")


def _stop_between_refits(source, fitted: list[dict]) -> list[dict]:
    """The stop as one more point when a monitor's rule said stop between refits.

    The rule is asked again at every trial, with the last refit's estimate and the horizon
    that trial leaves (``Monitor``), so a search usually stops a few trials after its last
    refit, and its history, one record per refit, ends before the stop.  The point is that
    estimate at the stop: its best possible, and the gain over the stop's horizon from the
    monitor's report (``[]`` for a bare history, or when the stop came with a refit).
    """
    report = getattr(source, "report", None)
    if not callable(report) or fitted[-1].get("should_stop"):
        return []
    summary = report()
    stopped_at = summary.get("stopped_at")
    gain = summary.get("expected_gain")
    if not summary.get("should_stop") or stopped_at is None or not isinstance(gain, dict):
        return []
    if stopped_at <= fitted[-1]["n_trials"]:
        return []
    last = fitted[-1]
    best = summary.get("best_at_stop")
    return [
        {
            **last,
            "n_trials": stopped_at,
            "current_best": last["current_best"] if best is None else best,
            "horizon": gain["horizon"],
            "expected_gain": [gain["estimate"], gain["low"], gain["high"]],
            "should_stop": True,
            "reason": summary["reason"],
            "epsilon": summary.get("epsilon"),
            "refit": False,
        }
    ]


def _score_limits(best: np.ndarray, best_possible: np.ndarray) -> tuple[float, float] | None:
    """Score-axis limits for :func:`progress` that the first refits' intervals do not swamp.

    The intervals of the first refits can span most of the metric's range (e.g. [0, 84] for
    scores near 54) and would flatten everything after them into a line. When the full
    extent is more than three times the robust one (the current best, the middle 90% of the
    point estimates, the 10% quantile of the lower ends and the 90% of the upper ends), the
    axis shows the robust extent with a margin, and wider intervals run off its edges.
    Returns None to keep matplotlib's own limits.
    """
    ends = best_possible[:, 1:][np.isfinite(best_possible[:, 1:])]
    everything = np.concatenate([best, best_possible[:, 0], ends])
    everything = everything[np.isfinite(everything)]
    if everything.size == 0:
        return None
    finite = np.isfinite(best_possible)
    parts = [best[np.isfinite(best)]]
    for column, quantiles in ((0, (0.05, 0.95)), (1, (0.1,)), (2, (0.9,))):
        values = best_possible[finite[:, column], column]
        if values.size:
            parts.append(np.quantile(values, quantiles))
    robust = np.concatenate(parts)
    low, high = robust.min(), robust.max()
    if not everything.max() - everything.min() > 3.0 * (high - low) > 0.0:
        return None
    margin = 0.1 * (high - low)
    return float(low - margin), float(high + margin)

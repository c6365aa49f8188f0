"""Pictures of a :class:`~tailstop.estimate.TailEstimate`: the tuning curve and the tail fit.

Needs matplotlib (``pip install 'tailstop[plot]'``), imported only when a function is called.

* :func:`tuning_curve` - the best score against the number of trials (log scale): the observed
  best so far, the empirical median tuning curve with its simultaneous confidence band
  (Lourie, Cho & He, NAACL 2024), the fitted noisy quadratic's median tuning curve with its
  band, extrapolated beyond the data, the best possible score with its interval, and the start
  of the asymptotic regime (the threshold above which the law was fitted).
* :func:`tail_fit` - the empirical CDF of the tail (the scores beyond the threshold) with its
  simultaneous band, against the fitted CDF conditional on exceeding the threshold.
* :func:`figure` - both side by side; :func:`save_to_optuna_study` stores a figure in an Optuna
  study as an artifact, which optuna-dashboard shows.
* :func:`progress` - a live search's course from the records of a :class:`~tailstop.Monitor`:
  the current best and the best possible score with its interval at each refit, and the
  expected gain's upper bound that the default rule compares with its epsilon.

Example
-------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from tailstop.estimate import analyze
>>> from tailstop.synthetic import make_problem
>>> scores = make_problem(2, noise_ratio=0.01, generator=0).run_search(100, generator=1)
>>> fig = figure(analyze(scores, "maximize"))
>>> [ax.get_xscale() for ax in fig.axes]
['log', 'linear']
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tailstop._data import real_array, real_number
from tailstop._io import require
from tailstop.errors import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tailstop.estimate import TailEstimate

__all__ = ["figure", "progress", "save_to_optuna_study", "tail_fit", "tuning_curve"]

EXTRAPOLATION = 4.0  # the fitted curve runs to this many times the trials so far
COLORS = {
    "observed": "black",
    "empirical": "#4c72b0",
    "fitted": "#dd8452",
    "best": "#55a868",
    "threshold": "0.45",
}


def _pyplot() -> Any:
    return require("matplotlib.pyplot", "plot")


def _check_estimate(estimate: object) -> TailEstimate:
    """``estimate`` if it is a :class:`~tailstop.TailEstimate`; a specific error if not (a
    Monitor's ``estimate`` is None until its first successful refit)."""
    from tailstop.estimate import TailEstimate

    if isinstance(estimate, TailEstimate):
        return estimate
    hint = (
        ": a Monitor (or callback) has no estimate until min_trials trials have finished "
        "and a refit succeeded"
        if estimate is None
        else ""
    )
    raise InvalidParameterError(
        "estimate must be a TailEstimate (from tailstop.analyze or Monitor.estimate), got "
        f"{type(estimate).__name__}{hint}"
    )


def _trial_scores(estimate: TailEstimate) -> np.ndarray:
    """The finite scores in trial order, in the user's orientation.

    Failed trials are not kept by the estimate, so the trial index skips them.
    """
    clean = estimate._clean
    return np.asarray(clean.to_user(clean.values), dtype=float)


def _maximising_sample(estimate: TailEstimate) -> tuple[np.ndarray, float]:
    """Every trial in the maximise orientation (failed trials at ``-inf``) and the upper bound."""
    clean = estimate._clean
    ys = np.concatenate([clean.values, np.full(clean.n_failed, -np.inf)])
    upper = clean.bounds[1] if clean.bounds is not None else np.inf
    return ys, float(upper)


def _to_user(estimate: TailEstimate, low, high) -> tuple[np.ndarray, np.ndarray]:
    """A band ``(low, high)`` from the maximise orientation to the user's (low <= high)."""
    to_user = estimate._clean.to_user
    low, high = (np.asarray(to_user(np.asarray(v, dtype=float)), dtype=float) for v in (low, high))
    return (high, low) if estimate.direction == "minimize" else (low, high)


def _finite(values) -> np.ndarray:
    values = np.array(values, dtype=float)
    values[~np.isfinite(values)] = np.nan
    return values


def _regime_start(estimate: TailEstimate) -> float:
    """Trials after which the median best score passes the threshold: ``log(1/2) / log(1 - t)``.

    ``t`` is the fraction of trials beyond the threshold; the fitted law describes only the
    tail, so the fitted median tuning curve means something from there on.
    """
    fraction = float(estimate.tail_fraction)
    if fraction >= 1:
        return 1.0
    if fraction <= 0:
        return math.inf
    return max(1.0, math.log(0.5) / math.log1p(-fraction))


def _y_limits(estimate: TailEstimate) -> tuple[float, float] | None:
    """Show the tail and the best possible, not the worst trials (in the user's orientation)."""
    sign = 1.0 if estimate.direction == "maximize" else -1.0
    best, threshold = sign * estimate.current_best, sign * estimate.threshold
    span = best - threshold
    if not (math.isfinite(span) and span > 0):
        return None
    high = sign * np.array(estimate.best_possible[1:], dtype=float)
    top = min(np.nanmax(np.append(high, best)), best + 2.0 * span)
    low, top = threshold - 0.6 * span, top + 0.15 * span
    return (low, top) if sign > 0 else (-top, -low)


def tuning_curve(
    estimate: TailEstimate,
    ax: Axes | None = None,
    *,
    ns=None,
    show_empirical: bool = True,
    extrapolate: float = EXTRAPOLATION,
) -> Axes:
    """Plot the tuning curve of a search: best score against the number of trials (log x).

    Draws, in the user's orientation (a minimised loss goes down):

    * the observed best so far, trial by trial (failed trials are skipped);
    * the empirical median tuning curve ``Q_n(1/2^(1/k))`` of the scores with its
      simultaneous band at ``estimate.confidence`` (``show_empirical``), up to ``k = n``;
    * the fitted median tuning curve ``estimate.tuning_curve(k)`` with its band, from the
      start of the asymptotic regime to ``extrapolate`` times the trials so far, dashed
      beyond the data;
    * the best possible score (a horizontal line) with its interval (a shaded band);
    * the threshold, the start of the asymptotic regime (a dashed horizontal line).

    Parameters
    ----------
    estimate : TailEstimate
        The result of :func:`tailstop.estimate.analyze`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.
    ns : array of float, optional
        Trial counts at which to draw the fitted curve; default a log grid from the start of
        the asymptotic regime to ``extrapolate * n``.
    show_empirical : bool
        Draw the empirical tuning curve and its band.
    extrapolate : float
        How far beyond the data the fitted curve goes, as a multiple of the trials so far.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from tailstop.estimate import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> ax = tuning_curve(estimate)
    >>> ax.get_xscale(), [float(x) for x in ax.get_xlim()]  # the fitted curve: to 4 x 200
    ('log', [1.0, 800.0])
    >>> ax.get_legend_handles_labels()[1]
    ['90% band (simultaneous)', 'empirical median curve', 'fitted median curve', 'best so far',
     'best possible ... [..., ...] (90%)', 'asymptotic regime from ...']
    >>> plt.close(ax.figure)
    """
    estimate = _check_estimate(estimate)
    extrapolate = real_number(extrapolate, "extrapolate")
    if not (math.isfinite(extrapolate) and extrapolate >= 1):
        raise InvalidParameterError(f"extrapolate must be >= 1, got {extrapolate!r}")
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(7, 4.5))
    scores = _trial_scores(estimate)
    n = estimate.n_trials
    sign = 1.0 if estimate.direction == "maximize" else -1.0

    if show_empirical and scores.size:
        _draw_empirical(estimate, ax, n)

    if ns is None:
        start = min(_regime_start(estimate), float(n))
        ns = np.geomspace(start, extrapolate * max(n, 1), 200)
    ns = real_array(ns, "ns")
    curve = estimate.tuning_curve(ns)
    fitted, low, high = (_finite(v) for v in curve)
    ax.fill_between(ns, low, high, color=COLORS["fitted"], alpha=0.25, linewidth=0)
    inside = ns <= n
    ax.plot(ns[inside], fitted[inside], color=COLORS["fitted"], lw=2, label="fitted median curve")
    beyond = ns >= n
    if beyond.any():
        label = None if inside.any() else "fitted median curve"
        ax.plot(ns[beyond], fitted[beyond], color=COLORS["fitted"], lw=2, ls="--", label=label)

    if scores.size:
        best_so_far = sign * np.maximum.accumulate(sign * scores)
        trials = np.arange(1, scores.size + 1)
        ax.plot(
            trials,
            best_so_far,
            color=COLORS["observed"],
            lw=1.3,
            drawstyle="steps-post",
            label="best so far",
        )

    best, best_low, best_high = (float(v) for v in estimate.best_possible)
    level = f"{estimate.confidence:.0%}"
    ax.axhspan(best_low, best_high, color=COLORS["best"], alpha=0.15, linewidth=0)
    ax.axhline(
        best,
        color=COLORS["best"],
        lw=1.5,
        label=f"best possible {best:.4g} [{best_low:.4g}, {best_high:.4g}] ({level})",
    )
    if math.isfinite(estimate.threshold):
        ax.axhline(
            estimate.threshold,
            color=COLORS["threshold"],
            lw=1,
            ls="--",
            label=f"asymptotic regime from {estimate.threshold:.4g}",
        )
    ax.axvline(n, color="0.7", lw=0.8, ls=":")

    ax.set_xscale("log")
    ax.set_xlim(1, max(float(ns.max()), n))
    limits = _y_limits(estimate)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("trials of random search (log scale)")
    ax.set_ylabel("best score" + (" (lower is better)" if sign < 0 else ""))
    ax.set_title(f"Tuning curve: {n} trials, {estimate.direction}")
    ax.legend(loc="best", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)
    return ax


def _draw_empirical(estimate: TailEstimate, ax: Axes, n: int) -> None:
    """The empirical median tuning curve and its simultaneous band, ``k = 1 .. n``."""
    from tailstop.nonparametric import confidence_bands

    ys, upper_bound = _maximising_sample(estimate)
    lower_cdf, point, upper_cdf = confidence_bands(
        ys, estimate.confidence, -np.inf, max(upper_bound, float(ys.max()))
    )
    ks = np.unique(np.concatenate([np.geomspace(1, n, 300), np.arange(1, min(n, 30) + 1)]))
    median = point.quantile_tuning_curve(ks)
    band_low = upper_cdf.quantile_tuning_curve(ks)
    band_high = lower_cdf.quantile_tuning_curve(ks)
    band_low, band_high = _to_user(estimate, band_low, band_high)
    median = np.asarray(estimate._clean.to_user(median), dtype=float)
    ax.fill_between(
        ks,
        _finite(band_low),
        _finite(band_high),
        step="post",
        color=COLORS["empirical"],
        alpha=0.18,
        linewidth=0,
        label=f"{estimate.confidence:.0%} band (simultaneous)",
    )
    ax.plot(
        ks,
        _finite(median),
        color=COLORS["empirical"],
        lw=1.5,
        drawstyle="steps-post",
        label="empirical median curve",
    )


def _tail(estimate: TailEstimate) -> np.ndarray:
    """The scores beyond the threshold, sorted ascending, in the user's orientation."""
    clean = estimate._clean
    threshold = float(clean.from_user(estimate.threshold))
    tail = clean.values[clean.values > threshold]
    return np.sort(np.asarray(clean.to_user(tail), dtype=float))


def _conditional_cdf(estimate: TailEstimate, ys: np.ndarray) -> np.ndarray:
    """The fitted CDF given the score is beyond the threshold (user's orientation)."""
    dist, threshold = estimate.distribution, estimate.threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        if estimate.direction == "maximize":
            mass = dist.sf(threshold)
            return np.clip(1.0 - dist.sf(ys) / mass, 0.0, 1.0)
        mass = dist.cdf(threshold)
        return np.clip(dist.cdf(ys) / mass, 0.0, 1.0)


def tail_fit(estimate: TailEstimate, ax: Axes | None = None) -> Axes:
    """Plot the empirical CDF of the tail against the fitted one.

    The tail is the scores beyond ``estimate.threshold`` (above when maximising, below when
    minimising). The empirical CDF comes with its simultaneous confidence band at
    ``estimate.confidence`` (Learned-Miller & DeStefano); the fitted curve is
    ``(F(y) - F(t)) / (1 - F(t))`` (maximise) or ``F(y) / F(t)`` (minimise) for the fitted law
    ``F`` in the user's orientation and threshold ``t``. If the fitted curve leaves the band
    the law does not describe the tail.

    Parameters
    ----------
    estimate : TailEstimate
        The result of :func:`tailstop.estimate.analyze`.
    ax : matplotlib Axes, optional
        Where to draw; a new figure's axes by default.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from tailstop.estimate import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> ax = tail_fit(estimate)
    >>> ax.get_title()  # the scores above the threshold, against the fitted law
    'Tail fit: ... trials, the law fits'
    >>> ax.get_legend_handles_labels()[1]
    ['90% band (simultaneous)', 'empirical', 'fitted', 'threshold', 'best possible']
    >>> plt.close(ax.figure)
    """
    from tailstop.nonparametric import confidence_bands

    estimate = _check_estimate(estimate)
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 4.5))
    tail = _tail(estimate)
    verdict = "fits" if estimate.fits_well else "does not fit"
    ax.set_title(f"Tail fit: {tail.size} trials, the law {verdict}")
    ax.set_xlabel("score")
    ax.set_ylabel("CDF given the score is in the tail")
    ax.set_ylim(-0.02, 1.02)
    if tail.size == 0:
        ax.text(0.5, 0.5, "no trials beyond the threshold", ha="center", transform=ax.transAxes)
        return ax

    best, best_low, best_high = (float(v) for v in estimate.best_possible)
    threshold = float(estimate.threshold)
    ends = [v for v in (threshold, tail[0], tail[-1], best) if math.isfinite(v)]
    left, right = min(ends), max(ends)
    pad = 0.05 * (right - left) if right > left else 1.0
    grid = np.linspace(left - pad, right + pad, 400)
    grid = np.unique(np.concatenate([grid, tail]))

    lower_cdf, _, upper_cdf = confidence_bands(tail, estimate.confidence)
    ax.fill_between(
        grid,
        lower_cdf.cdf(grid),
        upper_cdf.cdf(grid),
        step="post",
        color=COLORS["empirical"],
        alpha=0.18,
        linewidth=0,
        label=f"{estimate.confidence:.0%} band (simultaneous)",
    )
    steps = np.concatenate([[grid[0]], tail, [grid[-1]]])
    heights = np.concatenate([[0.0], np.arange(1, tail.size + 1) / tail.size, [1.0]])
    ax.plot(steps, heights, color=COLORS["empirical"], drawstyle="steps-post", label="empirical")
    ax.plot(grid, _conditional_cdf(estimate, grid), color=COLORS["fitted"], lw=2, label="fitted")
    if math.isfinite(threshold):
        ax.axvline(threshold, color=COLORS["threshold"], ls="--", lw=1, label="threshold")
    ax.axvspan(best_low, best_high, color=COLORS["best"], alpha=0.12, linewidth=0)
    ax.axvline(best, color=COLORS["best"], lw=1.2, label="best possible")
    ax.set_xlim(grid[0], grid[-1])
    ax.legend(
        loc="lower right" if estimate.direction == "maximize" else "upper left", fontsize="small"
    )
    ax.grid(True, alpha=0.3)
    return ax


def figure(
    estimate: TailEstimate,
    *,
    figsize: tuple[float, float] = (12.0, 4.8),
    pyplot: bool = True,
) -> Figure:
    """The tuning curve and the tail fit side by side, with a one-line summary on top.

    Parameters
    ----------
    estimate : TailEstimate
        The result of :func:`tailstop.estimate.analyze`.
    figsize : (float, float)
        Width and height of the figure, in inches.
    pyplot : bool
        Create the figure through ``matplotlib.pyplot`` (shown by notebooks and ``plt.show``;
        close it with ``plt.close(fig)`` when drawing many), or as a bare
        ``matplotlib.figure.Figure`` that only ``savefig`` uses and no GUI backend touches.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> import io
    >>> from tailstop.estimate import analyze
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> estimate = analyze(problem.run_search(200, generator=6), "maximize")
    >>> fig = figure(estimate, pyplot=False)  # no pyplot, no GUI: for files and servers
    >>> [ax.get_title() for ax in fig.axes]
    ['Tuning curve: 200 trials, maximize', 'Tail fit: ... trials, the law fits']
    >>> fig.get_suptitle()
    'current best 0.81501 · best possible ... [..., ...] · expected gain in 10 more trials ...'
    >>> png = io.BytesIO()
    >>> fig.savefig(png, format="png")
    >>> png.getvalue()[1:4]
    b'PNG'
    """
    estimate = _check_estimate(estimate)
    if pyplot:
        fig = _pyplot().figure(figsize=figsize)
    else:
        fig = require("matplotlib.figure", "plot").Figure(figsize=figsize)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1.0]})
    tuning_curve(estimate, left)
    tail_fit(estimate, right)
    best = estimate.best_possible
    gain = estimate.expected_gain(10)
    fig.suptitle(
        f"current best {estimate.current_best:.5g} · best possible {best.estimate:.5g} "
        f"[{best.low:.5g}, {best.high:.5g}] · expected gain in 10 more trials "
        f"{float(gain.estimate):.3g}",
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


def save_to_optuna_study(
    fig: Figure,
    study: Any,
    artifact_store: Any,
    *,
    filename: str = "tailstop-tuning-curve.png",
    dpi: int = 120,
) -> str:
    """Store ``fig`` as a PNG artifact of an Optuna study; returns the artifact id.

    optuna-dashboard lists a study's artifacts (and shows images) when it is started with
    the same artifact store, e.g. ``optuna-dashboard sqlite:///search.db --artifact-dir
    artifacts`` for ``optuna.artifacts.FileSystemArtifactStore("artifacts")``. Uses
    ``optuna.artifacts.upload_artifact`` (Optuna >= 3.3); optuna-dashboard itself is not
    needed to store the figure.

    Parameters
    ----------
    fig : matplotlib Figure
        The figure to store, e.g. from :func:`figure`.
    study : optuna.Study
        The study the artifact belongs to.
    artifact_store : optuna artifact store
        Where the PNG goes (``FileSystemArtifactStore``, ``Boto3ArtifactStore``, ...).
    filename : str
        Name the dashboard shows; must end in ``.png``.
    dpi : int
        Resolution of the PNG, in dots per inch.

    Returns
    -------
    str
        The artifact id (``optuna.artifacts.download_artifact`` fetches it back).

    Examples
    --------
    >>> import tempfile
    >>> import optuna
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2, 2))
    >>> _ = fig.subplots().plot([1, 2, 3], [0.5, 0.7, 0.75])
    >>> study = optuna.create_study(direction="maximize")
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     store = optuna.artifacts.FileSystemArtifactStore(directory)
    ...     artifact_id = save_to_optuna_study(fig, study, store)
    >>> [(meta.artifact_id == artifact_id, meta.filename, meta.mimetype)
    ...  for meta in optuna.artifacts.get_all_artifact_meta(study)]
    [(True, 'tailstop-tuning-curve.png', 'image/png')]
    """
    artifacts = require("optuna.artifacts", "optuna")
    if not filename.lower().endswith(".png"):
        raise InvalidParameterError(f"filename must end in .png, got {filename!r}")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / filename
        fig.savefig(path, dpi=dpi)
        return artifacts.upload_artifact(
            artifact_store=artifact_store,
            file_path=str(path),
            study_or_trial=study,
            mimetype="image/png",
        )


# The progress plot lives in its own module; re-exported here, where users look for it.
from tailstop._progress_plot import progress  # noqa: E402

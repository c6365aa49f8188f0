"""tailstop.plot: the figures carry the artists they promise, in both directions."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tailstop import NoisyQuadraticDistribution, plot  # noqa: E402
from tailstop.errors import InvalidParameterError, TailstopError  # noqa: E402
from tailstop.estimate import analyze  # noqa: E402
from tailstop.synthetic import make_problem  # noqa: E402


@pytest.fixture(scope="module")
def maximized():
    scores = NoisyQuadraticDistribution(0.0, 1.0, 2, 0.02).sample(100, generator=0)
    scores[[5, 17]] = np.nan  # two failed trials
    return analyze(scores, "maximize"), scores


@pytest.fixture(scope="module")
def minimized():
    problem = make_problem(2, noise_ratio=0.02, direction="minimize", generator=2)
    scores = problem.run_search(100, generator=1)
    return analyze(scores, "minimize"), scores


@pytest.fixture(scope="module")
def minimized_far_from_zero():
    # a loss about 1e7 that varies in its thousandths: centred inside analyze, drawn in the
    # user's units
    problem = make_problem(2, noise_ratio=0.02, direction="minimize", generator=2)
    scores = 1e7 + 1e-3 * problem.run_search(100, generator=1)
    return analyze(scores, "minimize"), scores


@pytest.fixture(params=["maximize", "minimize", "minimize far from zero"])
def case(request, maximized, minimized, minimized_far_from_zero):
    return {"maximize": maximized, "minimize": minimized}.get(
        request.param, minimized_far_from_zero
    )


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_tuning_curve_artists(case):
    estimate, scores = case
    ax = plot.tuning_curve(estimate)
    lines = _lines(ax)
    assert ax.get_xscale() == "log"
    assert {"best so far", "empirical median curve", "fitted median curve"} <= set(lines)

    finite = scores[np.isfinite(scores)]
    observed = lines["best so far"].get_ydata()
    sign = 1 if estimate.direction == "maximize" else -1
    np.testing.assert_allclose(observed, sign * np.maximum.accumulate(sign * finite))

    best = next(v for k, v in lines.items() if k.startswith("best possible"))
    np.testing.assert_allclose(best.get_ydata(), estimate.best_possible.estimate)
    threshold = next(v for k, v in lines.items() if k.startswith("asymptotic regime"))
    np.testing.assert_allclose(threshold.get_ydata(), estimate.threshold)

    # the fitted curve goes beyond the data, dashed, to 4 n
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    extrapolated = [line for line in dashed if np.max(line.get_xdata()) > estimate.n_trials]
    assert extrapolated
    assert np.max(extrapolated[0].get_xdata()) == pytest.approx(4 * estimate.n_trials)
    fitted = np.concatenate([lines["fitted median curve"].get_ydata(), extrapolated[0].get_ydata()])
    assert np.all(sign * np.diff(fitted[np.isfinite(fitted)]) >= -1e-9)  # improves with n

    # bands: empirical and fitted fills, the best-possible span
    assert len(ax.collections) >= 2
    assert ax.patches


def test_tuning_curve_options(maximized):
    estimate, _ = maximized
    _fig, ax = plt.subplots()
    returned = plot.tuning_curve(estimate, ax, ns=[5, 10, 20, 50], show_empirical=False)
    assert returned is ax
    assert "empirical median curve" not in _lines(ax)
    fitted = _lines(ax)["fitted median curve"]
    np.testing.assert_allclose(fitted.get_xdata(), [5, 10, 20, 50])
    np.testing.assert_allclose(fitted.get_ydata(), estimate.tuning_curve([5, 10, 20, 50])[0])
    with pytest.raises(InvalidParameterError):
        plot.tuning_curve(estimate, ax, extrapolate=0.5)
    with pytest.raises(InvalidParameterError, match="extrapolate"):
        plot.tuning_curve(estimate, ax, extrapolate="4")
    with pytest.raises(InvalidParameterError, match="ns"):
        plot.tuning_curve(estimate, ax, ns=["5", "10"])
    plt.close(_fig)


@pytest.mark.parametrize("draw", [plot.tuning_curve, plot.tail_fit, plot.figure])
def test_a_missing_estimate_is_named(draw):
    """``figure(monitor.estimate)`` before the first refit: the Monitor's estimate is None,
    which raised AttributeError ("'NoneType' object has no attribute '_clean'")."""
    with pytest.raises(InvalidParameterError, match="no estimate until min_trials"):
        draw(None)
    with pytest.raises(InvalidParameterError, match="got list"):
        draw([0.5, 0.6])


def test_tail_fit_artists(case):
    estimate, _scores = case
    ax = plot.tail_fit(estimate)
    lines = _lines(ax)
    assert {"empirical", "fitted", "threshold", "best possible"} <= set(lines)
    empirical = lines["empirical"].get_ydata()
    n_tail = estimate.n_trials - estimate.n_censored
    assert empirical[-1] == 1.0
    assert len(empirical) == n_tail + 2
    xs, fitted = lines["fitted"].get_xdata(), lines["fitted"].get_ydata()
    assert np.all((fitted >= 0) & (fitted <= 1))
    assert np.all(np.diff(fitted) >= -1e-12)  # a CDF
    # conditional on the tail: 0 at the threshold when maximising, 1 when minimising
    at_threshold = np.interp(estimate.threshold, xs, fitted)
    expected = 0.0 if estimate.direction == "maximize" else 1.0
    assert at_threshold == pytest.approx(expected, abs=0.02)
    assert ax.collections  # the simultaneous band


def test_figure_saves_png(maximized, tmp_path):
    estimate, _ = maximized
    fig = plot.figure(estimate)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_xscale() == "log"
    path = tmp_path / "curve.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figure_without_pyplot(minimized, tmp_path):
    estimate, _ = minimized
    before = plt.get_fignums()
    fig = plot.figure(estimate, pyplot=False)
    assert plt.get_fignums() == before  # not registered with pyplot
    fig.savefig(tmp_path / "curve.svg")
    assert (tmp_path / "curve.svg").stat().st_size > 1000


def test_small_and_degenerate_searches(tmp_path):
    small = NoisyQuadraticDistribution(0.0, 1.0, 1, 0.0).sample(12, generator=3)
    flat = np.full(15, 0.5)
    for scores in (small, flat):
        fig = plot.figure(analyze(scores, "maximize"), pyplot=False)
        fig.savefig(tmp_path / "small.png", dpi=40)
    assert "no trials beyond the threshold" in [t.get_text() for t in fig.axes[1].texts]


def test_missing_matplotlib_is_a_clear_error(maximized, monkeypatch):
    estimate, _ = maximized
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(TailstopError, match=r"tailstop\[plot\]") as info:
        plot.tuning_curve(estimate)
    assert isinstance(info.value, ImportError)


def test_save_to_optuna_study(maximized, tmp_path):
    optuna = pytest.importorskip("optuna")
    from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta

    estimate, _ = maximized
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    (tmp_path / "artifacts").mkdir()
    store = FileSystemArtifactStore(str(tmp_path / "artifacts"))
    fig = plot.figure(estimate, pyplot=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning
        artifact_id = plot.save_to_optuna_study(fig, study, store, filename="curve.png")
        metas = get_all_artifact_meta(study)
    assert [m.artifact_id for m in metas] == [artifact_id]
    assert metas[0].filename == "curve.png"
    assert (tmp_path / "artifacts" / artifact_id).read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InvalidParameterError):
        plot.save_to_optuna_study(fig, study, store, filename="curve.pdf")


def _record(n, best, gain_high, *, fits=True, stop=False, epsilon=0.01):
    return {
        "n_trials": n, "current_best": best, "best_possible": [best + 0.1, best, best + 0.3],
        "horizon": 100, "expected_gain": [gain_high / 4, 0.0, gain_high], "fits_well": fits,
        "should_stop": stop, "reason": "", "epsilon": epsilon, "seconds": 0.1,
    }


def test_progress_draws_every_successful_refit_and_the_stop():
    from types import SimpleNamespace

    from tailstop import GainBelow, Monitor

    history = [
        _record(20, 0.5, 0.2, fits=False),
        {"n_trials": 21, "current_best": 0.5, "error": "FitError: ...", "should_stop": False,
         "reason": "", "seconds": 0.1},  # a failed refit: skipped
        _record(30, 0.6, 0.05),
        _record(40, 0.62, 0.004, stop=True),
    ]
    top, bottom = plot.progress(history)
    best_line = _lines(top)["current best"]
    assert list(best_line.get_xdata()) == [20, 30, 40]
    assert top.get_title() == "Progress: 40 trials, 3 refits"
    assert [line.get_xdata()[0] for line in top.get_lines() if line.get_linestyle() == ":"] == [40]
    assert "(the law does not fit yet)" in top.get_legend_handles_labels()[1]
    assert bottom.get_yscale() == "log"
    assert "epsilon 0.01" in bottom.get_legend_handles_labels()[1]
    # a monitor, or a callback holding one, gives the same records
    monitor = Monitor("maximize", GainBelow(0.01))
    monitor._history = history
    for source in (monitor, SimpleNamespace(monitor=monitor)):
        _, gains = plot.progress(source)
        assert gains.get_legend_handles_labels()[1] == bottom.get_legend_handles_labels()[1]
    # the default epsilon, from the fitted noise, moves from refit to refit
    moving = [_record(20, 0.5, 0.2, epsilon=0.02), _record(30, 0.6, 0.05, epsilon=0.015)]
    _, gains = plot.progress(moving)
    assert "epsilon (from each fit)" in gains.get_legend_handles_labels()[1]
    # other rules record no epsilon, and none is drawn
    _, gains = plot.progress([_record(20, 0.5, 0.2, epsilon=None)])
    assert not any("epsilon" in label for label in gains.get_legend_handles_labels()[1])
    # nothing left to gain (gains of 0) draws without a log-scale warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot.progress([_record(20, 1.0, 0.0), _record(30, 1.0, 0.0, stop=True)])


def test_progress_draws_a_stop_decided_between_refits():
    """The rule is asked at every trial; the stop usually comes a few trials after the last
    refit, which the history (one record per refit) does not hold."""
    from tailstop import GainBelow, Monitor
    from tailstop.synthetic import make_problem

    problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    monitor = Monitor("maximize", GainBelow(0.01), budget=200, min_trials=40, refit_step=40)
    for score in problem.run_search(200, generator=6):
        monitor.observe(score)
        if monitor.should_stop:
            break
    last = monitor.history[-1]
    assert monitor.stopped_at > last["n_trials"] and not last["should_stop"]
    top, bottom = plot.progress(monitor)
    assert top.get_title() == f"Progress: {monitor.stopped_at} trials, {monitor.refits} refits"
    stops = [line.get_xdata()[0] for line in top.get_lines() if line.get_linestyle() == ":"]
    assert stops == [monitor.stopped_at]
    gain_line = _lines(bottom)["expected gain"]
    assert gain_line.get_xdata()[-1] == monitor.stopped_at
    assert gain_line.get_ydata()[-1] == monitor.report()["expected_gain"]["estimate"]
    # trials that finish after the stop (a callback's other workers) do not move its point
    stop_best = top.get_lines()[0].get_ydata()[-1]
    monitor.observe(stop_best + 1.0)
    top, _ = plot.progress(monitor)
    assert top.get_lines()[0].get_ydata()[-1] == stop_best
    assert top.get_lines()[0].get_xdata()[-1] == monitor.stopped_at
    # a bare history cannot know: it ends at the last refit
    top, _ = plot.progress(monitor.history)
    assert top.get_title() == f"Progress: {last['n_trials']} trials, {monitor.refits} refits"


def test_progress_keeps_the_first_wide_intervals_from_flattening_the_rest():
    # the first refit of a search allows most of the metric's range; the later ones a hair
    wide = {**_record(20, 54.0, 1.0), "best_possible": [55.0, 0.0, 84.0]}
    later = [{**_record(n, 54.0 - n / 1e4, 0.1), "best_possible": [53.9, 53.5, 54.5]}
             for n in range(30, 200, 10)]
    top, _ = plot.progress([wide, *later])
    low, high = top.get_ylim()
    assert 53.0 < low < 53.5 and 54.5 < high < 55.0
    # intervals of one scale keep matplotlib's own limits, which hold every band
    top, _ = plot.progress(later)
    low, high = top.get_ylim()
    assert low <= 53.5 and high >= 54.5
    # an open end (an interval reaching an infinite bound) is no limit
    top, _ = plot.progress([{**wide, "best_possible": [55.0, -np.inf, np.inf]}, *later])
    assert np.isfinite(top.get_ylim()).all()


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "no successful refit"),
        ([{"n_trials": 20, "error": "FitError", "should_stop": False}], "no successful refit"),
        ("records", "a Monitor or its history"),
        (None, "a Monitor or its history"),
        (__import__("types").SimpleNamespace(monitor=None), "no successful refit"),
    ],
)
def test_progress_refuses_what_it_cannot_draw(history, message):
    with pytest.raises(InvalidParameterError, match=message):
        plot.progress(history)


def test_submodules_are_reachable_from_the_package():
    import tailstop

    assert tailstop.plot.progress is plot.progress  # (help(tailstop.plot.figure) in the README)
    assert tailstop.synthetic.make_problem is make_problem
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        tailstop.nope  # noqa: B018

"""``RayTuneStopper``: end a Ray Tune experiment when more trials would not pay.

One object is both a ``tune.Stopper`` (it decides: ``stop_all()`` ends the experiment) and a
``tune.Callback`` (it observes: errored trials, trials that complete without passing through
the stopper, those of a resumed experiment, a summary at the end).
Pass it in both places (passed only as ``stop=``, it logs a warning at the first result)::

    stopper = RayTuneStopper("accuracy", "max", budget=200)
    tune.Tuner(..., run_config=tune.RunConfig(stop=stopper, callbacks=[stopper]))

It does no statistics of its own: it feeds a :class:`tailstop.Monitor`, from a background
thread by default, so that Ray's driver, which calls the stopper, never waits for a refit.

What counts as a trial's score
    Ray hands the stopper every reported result, and the final one twice (once as reported,
    once again with ``done=True``).  A trial is recorded once, from its first result with
    ``done=True``, or, when ``max_iterations`` is given, from its first result with
    ``training_iteration >= max_iterations`` (a trial ended by an iteration limit shows the
    stopper no ``done=True``).  Counted as failed: trials that error (seen only by the callback
    side), final results without a finite metric and, when ``max_iterations`` is given, trials
    that end before it (a scheduler such as ASHA cut them short: like Optuna's pruned trials,
    they did not reach the end).  Without ``max_iterations`` a trial that a scheduler stops
    counts with its last score: pass it when a scheduler stops trials early.  Trials cut off
    by ``stop_all`` itself are not recorded.

Resumed experiments
    ``Tuner.restore`` brings the stopper back twice: the run config's copy (the callbacks),
    pickled when the run began, and the experiment checkpoint's (the stopper), pickled as it
    went on. The copies of one stopper unpickled in a process share one state, the richer
    one, so the copy that decides also sees the errored trials. Tune does not show either the
    trials that had already finished; the callback side records those it lacks at the run's
    first step (or at its end, when nothing is left to run). Errored trials that Tune runs
    again (``restart_errored``) count as new trials.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from ray import tune

from tailstop._clock import check_time_budget
from tailstop._io import nested_value
from tailstop.edges import MIN_INTEGER_VALUES, crowded_edges, sampled_ranges
from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.estimate import _check_noise
from tailstop.monitor import Monitor, build_monitor, check_score

if TYPE_CHECKING:  # pragma: no cover
    from tailstop.estimate import TailEstimate

__all__ = ["RayTuneStopper"]

logger = logging.getLogger("tailstop")

_MODES = {"max": "maximize", "min": "minimize"}
_FLUSH_SECONDS = 60  # the longest the experiment's end (or a pickling) waits for a refit
# the copies of each stopper unpickled in this process, by the stopper's id (_join_copies)
_COPIES: dict[str, weakref.WeakSet] = {}
_COPIES_LOCK = threading.Lock()


class RayTuneStopper(tune.Stopper, tune.Callback):
    """A Ray Tune stopper (and callback) driven by a :class:`tailstop.Monitor`.

    Parameters
    ----------
    metric : str
        The result key holding the score (Ray passes neither metric nor mode to stoppers);
        Tune's ``"val/acc"`` names a nested one (``tune.report({"val": {"acc": ...}})``).
    mode : {"max", "min"}
    rule : stopping rule, optional
        From :mod:`tailstop.rules`; default: the monitor's default.
    budget : int, optional
        Total trials planned (e.g. ``num_samples``).
    min_trials : int
        No fit and no stop before this many recorded trials (passed to
        :class:`tailstop.Monitor`).
    confidence : float
        Level of the estimate's intervals, in [0.5, 1).
    bounds : (low, high), optional
        Known range of the metric (``None`` for an open side); no forecast goes beyond it,
        and a best that reaches it stops the run. A score outside it counts as a failed
        trial.
    max_dimension : int, optional
        Cap on the effective dimension (e.g. the number of hyperparameters searched).
    max_iterations : int, optional
        Treat a result with ``training_iteration >= max_iterations`` as the trial's final one.
    search_space : dict, optional
        The run's ``param_space`` (Tune's ``tune.uniform``, ``tune.loguniform``,
        ``tune.randint``, ... nested dicts allowed): the numeric ranges, for the report's
        ``range_edges`` (:func:`tailstop.edges.crowded_edges`: a hyperparameter whose best
        trials crowd one end of its range, logged as a warning at the experiment's end).
        Tune does not show a stopper the search space; without it the ranges are read off
        the trials' configs (:func:`tailstop.edges.sampled_ranges`: the fields whose values
        look sampled over their span).
    background : bool
        Refit in a background thread (default), so that Ray's driver, which calls the
        stopper between scheduling trials, never waits for a refit: ``stop_all`` answers
        from the latest decision, which lags the recorded trials by at most the refit under
        way (the budget is applied at once).  ``False`` refits in the calling thread
        (deterministic: for trials fed by hand).  :meth:`flush` waits for the refits due.
    **monitor_options
        Further :class:`tailstop.Monitor` options (e.g. ``noise``, a known seed noise;
        ``resolution``, the step of a metric that counts something; ``time_budget``, the
        seconds the run may take, counted from the stopper's creation, which turns the time
        left into the trials left; without it, the run's ``TuneConfig(time_budget_s=...)``,
        which Tune passes to :meth:`setup`; a restored run carries the seconds already used,
        as Tune's own time budget does; ``refit_growth``, ``refit_step``;
        ``detect_deterministic``). The stopper gives the monitor each
        trial's config, so that a search over integers and categories, which repeats
        configurations, shows whether the objective is deterministic (see
        :mod:`tailstop.repeats`).

    The monitor logs one INFO line per refit under the ``tailstop`` logger; the stopper adds
    one when it ends the experiment and one summary at the end (callback side).

    The stopper never stops a single trial (``__call__`` returns False) and never raises into
    Ray: its own failures are logged at WARNING, with the traceback, under ``tailstop``.

    Examples
    --------
    Tune starts its callbacks (``setup``), then calls the stopper with every result and asks
    ``stop_all()`` after each; here the results are fed by hand, without starting Ray:

    >>> from tailstop.rules import GainBelow
    >>> from tailstop.synthetic import make_problem
    >>> stopper = RayTuneStopper("accuracy", "max", GainBelow(0.01), budget=100,
    ...                          min_trials=30, refit_step=10, background=False)
    >>> stopper.setup(num_samples=100, total_num_samples=100)
    >>> stopper("trial_0", {"accuracy": 0.4, "training_iteration": 1})  # not final: ignored
    False
    >>> problem = make_problem(1, noise_ratio=0.01, regime_mass=0.3, generator=3)
    >>> for i, score in enumerate(problem.run_search(100, generator=8)):
    ...     _ = stopper(f"trial_{i}", {"accuracy": float(score), "done": True,
    ...                                "time_total_s": 12.0})
    ...     if stopper.stop_all():
    ...         break
    >>> stopper.stop_all(), len(stopper.scores) < 100
    (True, True)
    >>> stopper.monitor.reason
    'the upper end of the 90% interval of the expected gain over ... < 0.01 (epsilon); stop'
    >>> stopper.report()["ray"] == {"metric": "accuracy", "mode": "max",
    ...                             "recorded_trials": len(stopper.scores)}
    True
    """

    def __init__(
        self,
        metric: str,
        mode: str,
        rule: Any = None,
        *,
        budget: int | None = None,
        min_trials: int = 20,
        confidence: float = 0.9,
        bounds: tuple[float, float] | None = None,
        max_dimension: int | None = None,
        max_iterations: int | None = None,
        search_space: dict | None = None,
        background: bool = True,
        **monitor_options: Any,
    ) -> None:
        if not isinstance(metric, str) or not metric:
            raise InvalidParameterError(f"metric must be a non-empty str, got {metric!r}")
        if mode not in _MODES:
            raise InvalidParameterError(f"mode must be 'max' or 'min', got {mode!r}")
        if max_iterations is not None and (
            isinstance(max_iterations, bool)
            or not isinstance(max_iterations, int)
            or max_iterations < 1
        ):
            raise InvalidParameterError(
                f"max_iterations must be None or an int >= 1, got {max_iterations!r}"
            )
        if search_space is not None and not isinstance(search_space, dict):
            raise InvalidParameterError(
                f"search_space must be a dict (Tune's param_space), got "
                f"{type(search_space).__name__}"
            )
        self.metric = metric
        self.mode = mode
        self._ranges = None if search_space is None else _space_ranges(search_space)
        self.max_iterations = max_iterations
        if not isinstance(background, bool):
            raise InvalidParameterError(f"background must be True or False, got {background!r}")
        self.background = background
        self._rule = rule
        self._options = {
            "budget": budget,
            "min_trials": min_trials,
            "confidence": confidence,
            "bounds": bounds,
            "max_dimension": max_dimension,
            **monitor_options,
        }
        self._monitor = build_monitor(_MODES[mode], rule, self._options, "RayTuneStopper")
        self._recorded: dict[str, float | None] = {}  # trial id -> score (None: failed)
        self._scores: list[float | None] = []
        self._durations: list[float | None] = []
        self._configs: list[Any] = []  # each recorded trial's config (None: unknown)
        self._stop_logged = False
        self._missing_metric_warned = False
        self._errors = 0
        self._caught_up = False  # the trials finished before this run are recorded
        self._uid = uuid.uuid4().hex  # shared by its copies (pickling)
        self._set_up = False  # Tune called setup: the stopper is among the callbacks too
        self._start_threading(fed=0)

    def _start_threading(self, fed: int) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # scores recorded or fed
        self._fed = fed  # scores the monitor has been given
        self._feeding = False  # the background thread is refitting
        self._worker: threading.Thread | None = None

    # -- tune.Stopper ---------------------------------------------------------------------
    def __call__(self, trial_id: str, result: dict) -> bool:
        """Record the trial's score if ``result`` is its final result; never stops a trial."""
        try:
            if not self._set_up:
                self._set_up = True  # (warned once)
                logger.warning(
                    "tailstop: the RayTuneStopper is not among the run's callbacks, so it does "
                    "not see errored trials or the trials of a resumed experiment; pass it "
                    "twice: RunConfig(stop=stopper, callbacks=[stopper])"
                )
            final, score = self._final(result)
            if final:
                self._record(str(trial_id), score, result.get("time_total_s"),
                             result.get("config"))
        except Exception:
            self._log_failure(f"result of trial {trial_id}")
        return False

    def stop_all(self) -> bool:
        """True once the monitor decides the search should stop (or the budget is used)."""
        try:
            stop, reason = bool(self._monitor.should_stop), self._monitor.reason
            budget = self._monitor.budget
            if not stop and budget is not None and len(self._scores) >= budget:
                stop, reason = True, f"budget of {budget} trials used"  # before it is fed
        except Exception:
            self._log_failure("stop_all")
            return False
        if stop and not self._stop_logged:
            self._stop_logged = True
            decided = self._monitor.stopped_at or len(self._scores)  # (fed in the background)
            logger.info("tailstop: stopping the experiment (decided after %d trials): %s",
                        decided, reason)
        return stop

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the monitor has been given every recorded trial and has refitted;
        False if ``timeout`` (seconds) ran out first."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._fed == len(self._scores) and not self._feeding, timeout
            )

    # -- tune.Callback --------------------------------------------------------------------
    def setup(self, stop: Any = None, num_samples: Any = None,
              total_num_samples: Any = None, time_budget_s: Any = None, **info: Any) -> None:
        """Tune starts its callbacks: the stopper is among them (see the warning in
        ``__call__``). The run's ``time_budget_s`` becomes the monitor's ``time_budget``
        unless one was given. The number of samples is not taken as the budget: after a
        restore with ``restart_errored``, a budget spent by the errored trials would stop the
        run before Tune re-runs them."""
        self._set_up = True
        try:
            if time_budget_s and self._options.get("time_budget") is None:
                seconds = check_time_budget(time_budget_s, "time_budget_s")
                with self._lock:
                    self._options["time_budget"] = seconds
                    self._monitor.time_budget = seconds
                logger.info("tailstop: the run's time_budget_s (%g s) is the stopper's "
                            "time budget", seconds)
        except Exception:
            self._log_failure("the run's time_budget_s")

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        """At the first step of a run, record the trials that had already finished."""
        self._catch_up(trials)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        try:
            result = trial.last_result or {}
            final, score = self._final(result)
            if not final:  # complete without a final-looking result: take what it reported
                score = self._score_of(result)
            self._record_trial(trial, score, result)
        except Exception:
            self._log_failure(f"completion of trial {getattr(trial, 'trial_id', '?')}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        try:
            self._record_trial(trial, None)
        except Exception:
            self._log_failure(f"error of trial {getattr(trial, 'trial_id', '?')}")

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._catch_up(trials)  # a resumed experiment with nothing left to run has no step
        try:
            if not self.flush(timeout=_FLUSH_SECONDS):
                logger.warning("tailstop: the last refit did not finish within %d s; the "
                               "summary below is from an earlier one", _FLUSH_SECONDS)
            estimate = self.estimate
            logger.info(
                "tailstop: experiment ended with %d recorded trials (%d failed)%s",
                len(self._scores),
                sum(score is None for score in self._scores),
                "" if estimate is None else f"; {_one_line(estimate)}",
            )
            for edge in self._range_edges() or ():
                logger.warning("tailstop: %s", edge)
        except Exception:
            self._log_failure("experiment's end")

    # -- results --------------------------------------------------------------------------
    @property
    def monitor(self) -> Monitor:
        """The :class:`tailstop.Monitor` this stopper feeds."""
        return self._monitor

    @property
    def estimate(self) -> TailEstimate | None:
        """The latest estimate (``None`` until enough trials completed)."""
        return self._monitor.estimate

    @property
    def scores(self) -> dict[str, float | None]:
        """Recorded trials, by trial id, in the order they finished (``None``: failed)."""
        with self._lock:
            return dict(self._recorded)

    @property
    def n_errors(self) -> int:
        """How many of the stopper's own calls failed (each was logged)."""
        return self._errors

    def set_noise(self, noise: float | None) -> TailEstimate | None:
        """Give a known seed noise mid-experiment (``None`` withdraws it); refits at once.

        See :meth:`tailstop.Monitor.set_noise`. Raises ``InvalidParameterError`` for an
        invalid value, changing nothing.
        """
        value = _check_noise(noise)
        self._options["noise"] = value  # for a copy of the stopper (pickling)
        return self._monitor.set_noise(value)

    def report(self) -> dict:
        """The monitor's plain-JSON report, with the number of recorded trials."""
        report = dict(self._monitor.report())
        report["ray"] = {"metric": self.metric, "mode": self.mode,
                         "recorded_trials": len(self._scores)}
        edges = self._range_edges()
        if edges is not None:
            report["ray"]["range_edges"] = [edge.to_dict() for edge in edges]
        return report

    def _range_edges(self) -> list | None:
        """:func:`tailstop.edges.crowded_edges` of the recorded trials (nested configs read
        by slash paths), in the search space's ranges or else in those the configs show they
        were sampled from (:func:`tailstop.edges.sampled_ranges`); None when neither gives
        any."""
        configs = list(self._configs)  # (copies: the background feed may append meanwhile)
        scores = list(self._scores)[: len(configs)]
        configs = configs[: len(scores)]
        ranges = self._ranges if self._ranges is not None else sampled_ranges(configs, scores)
        if self._ranges is None and not ranges:
            return None
        return crowded_edges(scores, configs, ranges, _MODES[self.mode])

    # -- internals ------------------------------------------------------------------------
    def _catch_up(self, trials: list) -> None:
        """Once per run: record the trials that finished before it, those of an experiment
        resumed with ``Tuner.restore``, which Ray passes through neither the stopper nor the
        callbacks again (in the order Tune created them, the index ending the trial id; a
        trial already recorded is skipped by its id)."""
        if self._caught_up:
            return
        self._caught_up = True
        try:
            for trial in sorted(trials, key=_creation_index):
                status = getattr(trial, "status", None)
                if status == "ERROR":
                    self._record_trial(trial, None)
                elif status == "TERMINATED":
                    result = trial.last_result or {}
                    final, score = self._final(result)
                    if final:  # not one cut off when the experiment was stopped
                        self._record_trial(trial, score, result)
        except Exception:
            self._log_failure("trials finished before the run")

    def _record_trial(self, trial: Any, score: float | None, result: dict | None = None) -> None:
        """Record a trial Tune hands the callback side (its last result, if any)."""
        self._record(str(trial.trial_id), score, (result or {}).get("time_total_s"),
                     getattr(trial, "config", None))

    def _final(self, result: dict) -> tuple[bool, float | None]:
        """Whether ``result`` ends its trial, and the trial's score (None: failed)."""
        iteration = result.get("training_iteration")
        if self.max_iterations is not None and iteration is not None:
            if iteration >= self.max_iterations:
                return True, self._score_of(result)
            if result.get("done"):
                return True, None  # stopped before max_iterations (e.g. by a scheduler)
            return False, None
        if result.get("done"):
            return True, self._score_of(result)
        return False, None

    def _score_of(self, result: dict) -> float | None:
        value: Any = nested_value(result, self.metric)  # anything: checked below
        try:
            score = float(value)
        except (TypeError, ValueError, OverflowError):
            score = math.nan
        if math.isfinite(score):
            return score
        if value is None and not self._missing_metric_warned:
            self._missing_metric_warned = True
            logger.warning(
                "tailstop: a final result has no %r (keys: %s); such trials count as failed",
                self.metric, ", ".join(sorted(map(str, result))[:12]),
            )
        return None

    def _record(self, trial_id: str, score: float | None, duration: Any,
                config: Any = None) -> None:
        seconds = _seconds(duration)
        with self._changed:
            if trial_id in self._recorded:
                return
            if score is not None:
                try:
                    check_score(score, bounds=self._monitor.bounds)
                except InvalidDataError as exc:  # e.g. a score outside the declared bounds
                    logger.warning("tailstop: trial %s counts as failed: %s", trial_id, exc)
                    score = None
            self._recorded[trial_id] = score
            self._scores.append(score)
            self._durations.append(seconds)
            self._configs.append(config)
            if self.background:
                if self._worker is None or not self._worker.is_alive():
                    worker = threading.Thread(
                        target=self._feed_forever, name="tailstop-ray-refits", daemon=True
                    )
                    try:
                        worker.start()
                    except RuntimeError:  # the process can start no more threads
                        self._errors += 1
                        logger.warning("tailstop: no thread for the background refits "
                                       "(failure %d); this result refits in the call",
                                       self._errors, exc_info=True)
                        self._feed_unfed()
                        return
                    self._worker = worker
                self._changed.notify_all()
                return
            self._fed += 1
            self._monitor.observe(score, duration=seconds, config=config)

    def _feed_unfed(self) -> None:
        """Give the monitor, in this thread (``_changed`` held), every recorded trial it
        lacks: the latest alone to ``observe``, several to ``update`` with the whole record."""
        if len(self._scores) - self._fed == 1:
            self._monitor.observe(self._scores[-1], duration=self._durations[-1],
                                  config=self._configs[-1])
        else:
            self._monitor.update(list(self._scores), durations=list(self._durations),
                                 configs=list(self._configs))
        self._fed = len(self._scores)

    def _feed_forever(self) -> None:
        """The background thread: give the monitor the trials recorded since it was last
        fed, all at once (one refit for all of them), for as long as the process lives.

        One new trial goes to ``Monitor.observe``; several, or any after a failure, to
        ``Monitor.update`` with the whole record (which checks every score again: 25 ms at
        10,000 trials, against a refit's 10-300 ms)."""
        resync = False
        while True:
            with self._changed:
                self._feeding = False
                self._changed.notify_all()
                self._changed.wait_for(lambda: self._fed < len(self._scores))
                self._feeding = True
                new = len(self._scores) - self._fed
                scores, durations = list(self._scores), list(self._durations)
                configs = list(self._configs)
            try:
                if new == 1 and not resync:
                    self._monitor.observe(scores[-1], duration=durations[-1], config=configs[-1])
                else:
                    self._monitor.update(scores, durations=durations, configs=configs)
                resync = False
            except Exception:
                resync = True  # the monitor may lack trials: the next feed gives them all
                self._log_failure("refit")
            with self._changed:
                self._fed = len(scores)

    def _log_failure(self, what: str) -> None:
        self._errors += 1
        logger.warning("tailstop: the Ray stopper failed on the %s (failure %d); "
                       "the experiment goes on", what, self._errors, exc_info=True)

    # -- pickling (Ray saves the run config, stoppers and callbacks included) --------------
    def __getstate__(self) -> dict:
        self.flush(timeout=_FLUSH_SECONDS)
        state = self.__dict__.copy()
        for name in ("_lock", "_changed", "_worker", "_monitor", "_fed", "_feeding"):
            del state[name]
        # a time budget's seconds used so far (as Tune's own time budget, the time between
        # the pickle and the restore does not count)
        state["_time_spent"] = self._monitor.elapsed
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._caught_up = False  # a copy may resume an experiment: look again
        self._set_up = False
        self._join_copies()

    def _join_copies(self) -> None:
        """Make the copies of this stopper unpickled in this process one stopper, on the state
        of the copy that recorded the most trials (an earlier copy on a tie). Resuming an
        experiment, Tune unpickles two: the run config's (its callbacks, saved when the run
        began) and its checkpoint's (the stopper, saved as the run went on); apart, the one
        that decides would never see the errored trials and the one that sees them would
        never decide. Only the state kept gets a monitor (and its refit)."""
        uid = self.__dict__.setdefault("_uid", uuid.uuid4().hex)  # (older pickles had none)
        with _COPIES_LOCK:
            for gone in [key for key, copies in _COPIES.items() if not copies]:
                del _COPIES[gone]
            copies = _COPIES.setdefault(uid, weakref.WeakSet())
            members = [*copies, self]
            richest = max(members, key=lambda member: len(member._scores))
            if richest is self:
                self._start_threading(fed=len(self._scores))
                self._monitor = Monitor(_MODES[self.mode], self._rule, **self._options)
                self._monitor.restart_clock(self.__dict__.pop("_time_spent", 0.0))
                if self._scores:
                    self._monitor.update(list(self._scores), durations=list(self._durations),
                                         configs=list(self._configs))
            for member in members:
                member.__dict__ = richest.__dict__
            copies.add(self)


def _space_ranges(space: dict, prefix: str = "") -> dict[str, tuple]:
    """The numeric ranges ``{path: (low, high, log)}`` of a Tune search space: its
    ``Float`` and ``Integer`` domains (``tune.uniform``, ``tune.loguniform``, ``tune.randint``,
    ``tune.qrandint``, ...; read by their ``lower``, ``upper`` and sampler), nested dicts by
    slash paths; an integer range of fewer than 10 values, and anything else, left out."""
    ranges: dict[str, tuple] = {}
    for key, value in space.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            ranges.update(_space_ranges(value, f"{path}/"))
            continue
        low, high = getattr(value, "lower", None), getattr(value, "upper", None)
        if not (isinstance(low, (int, float)) and isinstance(high, (int, float))):
            continue
        try:
            sampler = value.get_sampler()
        except Exception:  # (not a Tune domain after all)
            continue
        sampler = getattr(sampler, "sampler", sampler)  # (a quantized one wraps another)
        if type(value).__name__ == "Integer" and high - low < MIN_INTEGER_VALUES:
            continue  # (tune.randint's upper end is excluded)
        ranges[path] = (low, high, "log" in type(sampler).__name__.lower())
    return ranges


def _creation_index(trial: Any) -> int:
    """Tune's index of a trial, the number ending its id (``"2f92f_00006"``: 6); -1 if none."""
    tail = str(getattr(trial, "trial_id", "")).rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _seconds(duration: Any) -> float | None:
    try:
        seconds = float(duration)
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _one_line(estimate: TailEstimate) -> str:
    bp = estimate.best_possible
    return (f"best {estimate.current_best:.6g}, best possible {bp.estimate:.6g} "
            f"[{bp.low:.6g}, {bp.high:.6g}]")

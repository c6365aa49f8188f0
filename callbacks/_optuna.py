"""``OptunaCallback``: watch an Optuna study, report what more trials can gain, stop it.

The callback translates a study into :class:`tailstop.Monitor` calls; it does no statistics
of its own.  At each call it reads the trials finished since the last call *from storage*
(so on an RDB or journal storage, or through a gRPC storage proxy, it sees every worker's
trials), hands the new ones to the monitor, writes a compact JSON report to a study user
attribute when the estimate changed, and, once the rule says stop, broadcasts the decision
through a second study user attribute that every worker's callback polls, then calls
``study.stop()``.

Trial states
    COMPLETE trials contribute their value.  FAIL and PRUNED trials count as *failed*: they
    used a trial of the budget but did not reach the end, so they can never be the best
    score of the search.  A pruned trial's last intermediate value is deliberately ignored:
    it scores a shorter training run, not a draw from the distribution of final scores.
    RUNNING and WAITING trials are picked up once they finish.
"""

from __future__ import annotations

import atexit
import bisect
import logging
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tailstop._io_study import objective_index, ranges_of
from tailstop.edges import crowded_edges
from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.estimate import _check_noise
from tailstop.monitor import Monitor, build_monitor

if TYPE_CHECKING:  # pragma: no cover
    from tailstop.estimate import TailEstimate

__all__ = ["OptunaCallback", "SamplerWarning"]

logger = logging.getLogger("tailstop")

_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
_STATE_NAMES = {TrialState.COMPLETE: "complete", TrialState.FAIL: "fail",
                TrialState.PRUNED: "pruned"}
_RANDOM_SAMPLERS = (optuna.samplers.RandomSampler, optuna.samplers.QMCSampler)
# how far behind the trials the decision may fall before a call waits (background refits,
# or another worker's refit with n_jobs > 1)
_LAG_TRIALS, _LAG_SHARE = 10, 0.05  # max(10 trials, 5% of the trials so far)
_LAG_WAIT_SECONDS = 120  # the longest a call waits for the worker to catch up
_EXIT_FLUSH_SECONDS = 60  # the longest the interpreter's exit waits for the last refit


def _random_search(sampler: Any) -> bool:
    """Whether ``sampler`` draws the hyperparameters it sets at random: a random or
    quasi-random sampler, or ``PartialFixedSampler`` (the rest fixed) over one."""
    if isinstance(sampler, optuna.samplers.PartialFixedSampler):
        sampler = getattr(sampler, "_base_sampler", None)  # (Optuna keeps it private)
    return isinstance(sampler, _RANDOM_SAMPLERS)


class SamplerWarning(UserWarning):
    """The study's sampler is not random search: tailstop's law describes random search.

    Under TPE, CMA-ES or a GP sampler the trials are not independent draws, so the fitted
    best possible score and the forecast gains describe "random search from here", not the
    sampler actually running (see the README).
    """


class _Refused(InvalidParameterError):
    """The study cannot be monitored as configured (raised by ``update``, logged by calls)."""


class OptunaCallback:
    """Stop an Optuna study when more trials would not pay; report the estimate as it goes.

    Use as ``study.optimize(objective, callbacks=[OptunaCallback(budget=200)])``, or call
    :meth:`update` / :meth:`should_stop` after ``study.tell`` in an ask-and-tell loop (Optuna
    never runs callbacks there).  One instance watches one study.

    Parameters
    ----------
    rule : stopping rule, optional
        A rule from :mod:`tailstop.rules`; default: the monitor's default
        (``GainBelow`` with epsilon = the seed noise: the given one, or the low end of the
        fitted one's interval).
    budget : int, optional
        Total trials you are prepared to run (failed and pruned ones included); lets rules
        weigh the remaining budget.
    min_trials : int
        No fit and no stop before this many trials (passed to :class:`tailstop.Monitor`).
    confidence : float
        Level of the estimate's intervals, in [0.5, 1).
    bounds : (low, high), optional
        Known range of the objective (``None`` for an open side); no forecast goes beyond
        it, and a best that reaches it stops the study. A value outside it counts as a
        failed trial.
    max_dimension : int, optional
        Cap on the effective dimension (e.g. the number of hyperparameters searched).
    objective_index : int or str, optional
        Which objective of a multi-objective study to monitor: its index, or its metric name
        (``study.set_metric_names``).  Required for such a study; without it the callback
        refuses the study (see below).
    report_attr : str
        Study user attribute that receives the JSON report (``study.user_attrs[report_attr]``).
    stop_attr : str
        Study user attribute through which the decision to stop reaches every worker.
    warn_sampler : bool
        Warn (:class:`SamplerWarning`, once) when the sampler is not ``RandomSampler`` or
        ``QMCSampler`` (alone, or under ``PartialFixedSampler``: a random search of the
        hyperparameters left free).
    background : bool
        Refit in a background thread, so that ``optimize`` does not wait for refits (a cold
        one, when the monitor chooses the tail afresh, takes 0.1-1.5 s): a call notes that a
        trial finished and, once stopping is decided, calls ``study.stop()``.  The decision
        then lags the trials by the refit under way, never by more than max(10, 5%) of the
        trials finished since the callback was attached: a call that finds the worker
        further behind waits for it, for up to 2 minutes (then it logs a warning and the
        search goes on) (an objective that
        holds Python's interpreter lock, a pure-Python loop, starves the worker; one that
        waits on C code, a GPU or another process does not).  The report in storage may trail
        the last trials until :meth:`flush` returns (the interpreter's exit flushes too, for
        up to a minute).  Default ``False``: the refit runs in
        the call, so the decision and the report are current when ``optimize`` returns.
        Worth it when trials take about a second or less and a core is free.
    **monitor_options
        Further :class:`tailstop.Monitor` options (e.g. ``noise``, a known seed noise;
        ``resolution``, the step of a metric that counts something; ``time_budget``, the
        seconds the study may run, as ``optimize``'s ``timeout``, counted from the callback's
        creation, which turns the time left into the trials left; ``refit_growth``,
        ``refit_step``; ``detect_deterministic``). The callback gives the monitor each
        trial's parameters, so that a search over integers and categories, which repeats
        configurations, shows whether the objective is deterministic (the monitor then holds
        the seed noise at 0; see :mod:`tailstop.repeats`).

    Notes
    -----
    *Never raises into* ``optimize``: a failure of the callback itself (a refit that fails, a
    storage error) is logged at WARNING with its traceback under the ``tailstop`` logger and
    the search goes on; the next call retries from storage.  A study the callback cannot
    monitor (multi-objective without ``objective_index``, or a second study) is logged at
    ERROR and the callback disables itself; :meth:`update` raises the same error instead.

    Several processes on one storage: the worker whose rule fires first writes
    ``study.user_attrs[stop_attr]`` (a dict with the reason); every worker's callback reads it
    at its next call and stops its own ``optimize`` loop.  Trials already running finish.  To
    run a stopped study further, call :meth:`clear_stop` and use a new callback.

    With ``n_jobs > 1`` calls run in Optuna's worker threads and do not wait for each other: a
    call that finds another worker refitting returns at once, and that worker reads the new
    trials before it returns (one refit for all of them).  When trials finish faster than
    refits, the worker that refits keeps doing so while the others search, until the decision
    lags by more than max(10, 5%) of the trials the callback has seen: a call then waits for
    the refit under way (for up to 2 minutes) and reads the trials itself, so a stop is never
    overrun by more than that.  With ``background=True`` none of them refits, the callback's
    own thread does (with the same bound on the lag).

    Logging: the monitor logs one INFO line per refit under the ``tailstop`` logger; the
    callback adds one INFO line when it stops the study.  Storage writes: the report is
    written only when the monitor refitted, the decision changed or the best score improved,
    so its ``n_trials`` is that of the last such write (its ``current_best`` is current).  Each
    worker refits from the shared trials and writes the report.

    Examples
    --------
    A random search of at most 100 trials that stops once 0.01 more accuracy is out of
    reach of the remaining budget:

    >>> import optuna
    >>> from tailstop.rules import GainBelow
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(1, noise_ratio=0.01, regime_mass=0.3, generator=3)
    >>> def objective(trial):
    ...     x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(problem.dimension)]
    ...     return float(problem.objective(x, generator=trial.number))
    >>> study = optuna.create_study(direction="maximize",
    ...                             sampler=optuna.samplers.RandomSampler(seed=0))
    >>> callback = OptunaCallback(GainBelow(0.01), budget=100, min_trials=30, refit_step=10)
    >>> study.optimize(objective, n_trials=100, callbacks=[callback])
    >>> len(study.trials) < 100, callback.reason
    (True, 'the upper end of the 90% interval of the expected gain over ... < 0.01 (epsilon); stop')
    >>> report = study.user_attrs["tailstop:report"]  # what optuna-dashboard shows
    >>> report["should_stop"], report["optuna"]["trials"]["complete"] == len(study.trials)
    (True, True)
    >>> bp = callback.estimate.best_possible
    >>> bool(bp.low <= study.best_value <= bp.high)
    True
    """

    def __init__(
        self,
        rule: Any = None,
        *,
        budget: int | None = None,
        min_trials: int = 20,
        confidence: float = 0.9,
        bounds: tuple[float, float] | None = None,
        max_dimension: int | None = None,
        objective_index: int | str | None = None,
        report_attr: str = "tailstop:report",
        stop_attr: str = "tailstop:stop",
        warn_sampler: bool = True,
        background: bool = False,
        **monitor_options: Any,
    ) -> None:
        named = isinstance(objective_index, str) and bool(objective_index)
        indexed = (
            isinstance(objective_index, int)
            and not isinstance(objective_index, bool)
            and objective_index >= 0
        )
        if objective_index is not None and not (named or indexed):
            raise InvalidParameterError(
                "objective_index must be None, an int >= 0 or a metric name, got "
                f"{objective_index!r}"
            )
        for name, value in (("report_attr", report_attr), ("stop_attr", stop_attr)):
            if not isinstance(value, str) or not value:
                raise InvalidParameterError(f"{name} must be a non-empty str, got {value!r}")
        if report_attr == stop_attr:
            raise InvalidParameterError(
                f"report_attr and stop_attr must differ, both are {report_attr!r}"
            )
        self._monitor_options = {
            "budget": budget,
            "min_trials": min_trials,
            "confidence": confidence,
            "bounds": bounds,
            "max_dimension": max_dimension,
            **monitor_options,
        }
        self._rule = rule
        build_monitor("maximize", rule, self._monitor_options, "OptunaCallback")  # checks them
        self._created = time.monotonic()
        self.objective_index = objective_index
        self.report_attr = report_attr
        self.stop_attr = stop_attr
        self.warn_sampler = warn_sampler
        if not isinstance(background, bool):
            raise InvalidParameterError(f"background must be True or False, got {background!r}")
        self.background = background

        self._lock = threading.Lock()
        # background refits: the calls leave the study to refit in _wake's care
        self._wake = threading.Condition()
        self._queued: tuple[optuna.Study, int] | None = None  # (study, latest trial number)
        self._worker: threading.Thread | None = None  # alive while refits are queued
        self._announced = 0  # calls so far (trials finished)
        self._decided_through = 0  # calls read by the last step that finished
        self._exit_flush = False  # whether the interpreter's exit flushes this callback
        self._pending = False  # a worker found the lock taken: its trials await a step
        self._monitor: Monitor | None = None
        self._study_name: str | None = None
        self._disabled = False
        self._states = {"complete": 0, "fail": 0, "pruned": 0}
        # what the monitor was fed, in order (None: failed), for batch updates
        self._scores: list[float | None] = []
        self._durations: list[float | None] = []
        self._configs: list[dict] = []  # each recorded trial's parameters
        self._ranges: dict[str, tuple] = {}  # the numeric parameters' ranges seen
        self._edges_logged: set[tuple[str, str]] = set()
        self._watermark = 0  # every trial numbered below it is recorded
        self._recorded_above: set[int] = set()  # recorded trials numbered >= watermark
        self._written_key: tuple | None = None
        self._report: dict | None = None
        self._stop_reason: str | None = None
        self._stopped_elsewhere = False  # another worker's flag stopped this one
        self._flag_written = False
        self._stopped_at: int | None = None  # trials when this worker's monitor said stop
        self._errors = 0

    # -- public API -----------------------------------------------------------------------
    @property
    def monitor(self) -> Monitor | None:
        """The :class:`tailstop.Monitor` fed by this callback (``None`` before the first call)."""
        return self._monitor

    @property
    def estimate(self) -> TailEstimate | None:
        """The latest estimate (``None`` until enough trials finished)."""
        return None if self._monitor is None else self._monitor.estimate

    @property
    def reason(self) -> str | None:
        """Why the study is stopping, or ``None`` while it goes on."""
        return self._stop_reason

    @property
    def n_errors(self) -> int:
        """How many calls failed (each was logged and the search went on)."""
        return self._errors

    def report(self) -> dict | None:
        """The latest report, as written to ``study.user_attrs[report_attr]``."""
        return self._report

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        """The Optuna callback: never raises; calls ``study.stop()`` once stopping is decided."""
        if not (self.background and self._queue(study, trial.number)):
            # A worker does not wait for another's refit (n_jobs > 1): it leaves a note and
            # goes back to the search, and the worker holding the lock steps once more before
            # letting go, so every trial is still read.  The note is written before the lock
            # is tried and read after it is released, so no note goes unanswered.  Only when
            # the decision has fallen behind by more than the lag allowed (trials that finish
            # faster than a refit) does a call wait for the lock, and then step itself.
            with self._wake:
                self._announced += 1
            self._pending = True
            while self._pending and not self._disabled and self._take_lock(trial.number):
                try:
                    if self._pending:  # (after a wait, another step may have read it)
                        self._pending = False
                        with self._wake:
                            reading = self._announced
                        self._guarded_step(study, trial.number)
                        with self._wake:
                            self._decided_through = max(self._decided_through, reading)
                finally:
                    self._lock.release()
        if self._stop_reason is not None:  # decided, even if writing it down failed
            study.stop()

    def _take_lock(self, number: int) -> bool:
        """Take the lock if it is free; if it is not, wait for it only while the decision
        lags the calls by more than max(10, 5%) of them (for up to 2 minutes, then log a
        warning): True if taken."""
        if self._lock.acquire(blocking=False):
            return True
        if not self._lagging():
            return False
        if self._lock.acquire(timeout=_LAG_WAIT_SECONDS):
            return True
        logger.warning("tailstop: the refits are %d trials behind after waiting %d s (trial "
                       "%d); the search goes on", self._announced - self._decided_through,
                       _LAG_WAIT_SECONDS, number)
        return False

    def _lagging(self) -> bool:
        """Whether the calls so far outrun the last decision by more than the lag allowed."""
        with self._wake:
            behind = self._announced - self._decided_through
            return behind > max(_LAG_TRIALS, _LAG_SHARE * self._announced)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the background refits have read every trial the calls announced (and
        written the report); False if ``timeout`` (seconds) ran out first.  Returns at once
        without ``background``."""
        with self._wake:
            return self._wake.wait_for(lambda: self._worker is None, timeout)

    def update(self, study: optuna.Study, *, refit: bool = False) -> TailEstimate | None:
        """Read the trials finished since the last call, refit if due, write the report.

        For ask-and-tell loops; raises tailstop errors (e.g. for a multi-objective study
        without ``objective_index``).  Returns the latest estimate.  ``refit=True`` refits
        with every trial read whatever the schedule, e.g. for a final report after
        ``optimize`` without a budget (with one, the budget's last trial refits anyway).
        """
        self._step(study, refit=refit)
        return self.estimate

    def should_stop(self, study: optuna.Study) -> bool:
        """:meth:`update`, then whether the search should stop (here or in another worker)."""
        return self._step(study)

    def set_noise(self, noise: float | None) -> TailEstimate | None:
        """Give a known seed noise mid-search (``None`` withdraws it); refits at once.

        See :meth:`tailstop.Monitor.set_noise`. The study's report shows it from the next
        trial on (or the next :meth:`update`). Raises ``InvalidParameterError`` for an
        invalid value, changing nothing.
        """
        value = _check_noise(noise)
        with self._lock:
            self._monitor_options["noise"] = value
            monitor = self._monitor
        return None if monitor is None else monitor.set_noise(value)

    def clear_stop(self, study: optuna.Study) -> None:
        """Withdraw a broadcast stop so the study can be optimised further."""
        study.set_user_attr(self.stop_attr, None)

    # -- internals ------------------------------------------------------------------------
    def _guarded_step(self, study: optuna.Study, number: int, bind_only: bool = False) -> None:
        """:meth:`_step_locked` (or with ``bind_only`` :meth:`_bind` alone) for the callback:
        logs its failures instead of raising (``number``: the trial that called)."""
        try:
            if bind_only:
                self._bind(study)
            else:
                self._step_locked(study)
        except _Refused as exc:
            self._disabled = True
            logger.error(
                "tailstop: %s; the callback disables itself and the search goes on", exc
            )
        except Exception:
            self._errors += 1
            logger.warning(
                "tailstop: the callback failed after trial %d (failure %d); "
                "the search goes on",
                number,
                self._errors,
                exc_info=True,
            )

    def _queue(self, study: optuna.Study, number: int) -> bool:
        """A background call: bind to the study here (its refusals and the sampler warning
        belong to the caller), then leave the refit to the worker thread, starting one when
        none is running.  Waits only when the worker is too far behind (the lag bound), never
        for the lock.  False when no thread could be started
        (the call then steps itself)."""
        if self._monitor is None and not self._disabled and self._lock.acquire(blocking=False):
            try:
                self._guarded_step(study, number, bind_only=True)
            finally:
                self._lock.release()
        if self._disabled:
            return True
        with self._wake:
            if self._worker is None:
                if not self._exit_flush:  # a script that ends after optimize keeps its report
                    atexit.register(_flush_at_exit, weakref.ref(self))
                    self._exit_flush = True
                worker = threading.Thread(
                    target=self._refit_queued, name="tailstop-optuna-refits", daemon=True
                )
                try:  # (it waits for _wake, held here, before it looks at the queue)
                    worker.start()
                except RuntimeError:  # the process can start no more threads
                    self._errors += 1
                    logger.warning("tailstop: no thread for the background refits (failure "
                                   "%d); this call refits itself", self._errors, exc_info=True)
                    return False
                self._worker = worker
            self._queued = (study, number)
            self._announced += 1
            # The worker falls behind when trials are quick or hold the interpreter lock (a
            # pure-Python objective starves it): past the lag allowed, this call waits.
            allowed = max(_LAG_TRIALS, _LAG_SHARE * self._announced)
            if self._announced - self._decided_through > allowed and not self._wake.wait_for(
                lambda: self._announced - self._decided_through <= allowed
                or self._worker is None,
                _LAG_WAIT_SECONDS,
            ):
                logger.warning(
                    "tailstop: the background refits are %d trials behind after waiting "
                    "%d s; the search goes on", self._announced - self._decided_through,
                    _LAG_WAIT_SECONDS,
                )
        return True

    def _refit_queued(self) -> None:
        """The worker thread: step while calls have queued trials since its last step (one
        step reads all of them), then end; the next call starts a new one."""
        try:
            while True:
                with self._wake:
                    queued, self._queued = self._queued, None
                    if queued is None or self._disabled:
                        self._worker = None  # (with the check: a call now starts another)
                        return
                    reading = self._announced
                with self._lock:
                    self._guarded_step(*queued)
                with self._wake:
                    self._decided_through = reading
                    self._wake.notify_all()
        finally:  # (also if something escaped the step: no call waits for a dead worker)
            with self._wake:
                if self._worker is threading.current_thread():
                    self._worker = None
                self._wake.notify_all()

    def _step(self, study: optuna.Study, refit: bool = False) -> bool:
        with self._lock:
            return self._step_locked(study, refit)

    def _step_locked(self, study: optuna.Study, refit: bool = False) -> bool:
        self._bind(study)
        if self._stopped_elsewhere:
            return True
        if self._stop_reason is None:
            flag = study.user_attrs.get(self.stop_attr)
            if flag:
                self._stopped_elsewhere = True
                self._stop_reason = _flag_reason(flag)
                if self._bound_monitor.n_trials == 0:
                    # the flag was there before this callback saw a trial: most likely a
                    # stopped study resumed, where stopping again surprises
                    logger.warning(
                        "tailstop: study %r was already stopped by tailstop (%s); stopping "
                        "it again. To search further, call clear_stop(study) before "
                        "optimize.", study.study_name, self._stop_reason,
                    )
                else:
                    logger.info("tailstop: stopping, as decided by another worker: %s",
                                self._stop_reason)
                return True
        # trials still running when the stop came are observed too, for the report
        refits = self._bound_monitor.refits
        self._observe_new_trials(study)
        monitor = self._bound_monitor
        if refit and (monitor.estimate is None or monitor.estimate.n_trials < monitor.n_trials):
            monitor.refit()
        refitted = self._bound_monitor.refits != refits
        if self._stop_reason is None and self._bound_monitor.should_stop:
            self._stop_reason = str(self._bound_monitor.reason)
            # the trials when the monitor decided (with background refits, a few more may
            # have finished since)
            self._stopped_at = self._bound_monitor.stopped_at or self._bound_monitor.n_trials
            logger.info("tailstop: stopping the study after %d trials: %s",
                        self._stopped_at, self._stop_reason)
        if self._stop_reason is None and refitted and study.user_attrs.get(self.stop_attr):
            # another worker decided while this one refitted: its report stands
            self._stopped_elsewhere = True
            self._stop_reason = _flag_reason(study.user_attrs.get(self.stop_attr))
            return True
        self._write_report(study)
        if self._stop_reason is not None and not self._flag_written:
            study.set_user_attr(
                self.stop_attr,
                {"reason": self._stop_reason, "n_trials": self._stopped_at},
            )
            self._flag_written = True
        return self._stop_reason is not None

    @property
    def _bound_monitor(self) -> Monitor:
        """The monitor, which :meth:`_bind` makes before anything reads it."""
        monitor = self._monitor
        assert monitor is not None  # the steps bind to the study first
        return monitor

    def _bind(self, study: optuna.Study) -> None:
        if self._monitor is not None:
            if study.study_name != self._study_name:
                raise _Refused(
                    f"this OptunaCallback watches study {self._study_name!r}, not "
                    f"{study.study_name!r}: use one callback per study"
                )
            return
        directions = study.directions
        try:
            self._index = objective_index(study, self.objective_index, "objective_index")
        except InvalidDataError as exc:  # (the study's objectives do not match the option)
            raise _Refused(str(exc)) from None
        self._multi = len(directions) > 1
        direction = directions[self._index].name.lower()
        self._monitor = Monitor(direction, self._rule, **self._monitor_options)
        self._monitor.restart_clock(time.monotonic() - self._created)  # (a time budget's)
        self._study_name = study.study_name
        if self.warn_sampler and not _random_search(study.sampler):
            warnings.warn(
                f"study {study.study_name!r} uses {type(study.sampler).__name__}, not random "
                "search: tailstop's estimates describe random search from here on "
                "(RandomSampler or QMCSampler), not the sampler that is running",
                SamplerWarning,
                stacklevel=4,
            )

    def _observe_new_trials(self, study: optuna.Study) -> None:
        """Feed the monitor the trials finished since the last call, in trial-number order.

        Storage reads stay cheap on long studies: ``get_trials(deepcopy=False)`` is served
        from Optuna's cache (RDB storages fetch only new and unfinished trials), and only the
        trials from the first one not yet recorded onwards are looked at.  One new trial goes
        to ``Monitor.observe``; several (the first call on a running study, other workers'
        trials) go to ``Monitor.update`` at once, so they cost one refit, not one each.
        """
        trials = study.get_trials(deepcopy=False, states=_FINISHED)  # sorted by number
        start = bisect.bisect_left(trials, self._watermark, key=_number)
        new = [t for t in trials[start:] if t.number not in self._recorded_above]
        # recorded before the monitor sees them: a trial reaches the monitor at most once
        self._recorded_above.update(t.number for t in new)
        for trial in new:
            self._states[_STATE_NAMES[trial.state]] += 1
        ranges_of(new, self._ranges)
        while self._watermark in self._recorded_above:
            self._recorded_above.remove(self._watermark)
            self._watermark += 1
        if len(new) > 1:
            scores = [self._score(t) for t in new]
            durations = [_seconds(t) for t in new]
            configs = [t.params for t in new]
            try:
                self._bound_monitor.update(
                    self._scores + scores, durations=self._durations + durations,
                    configs=self._configs + configs,
                )
            except InvalidDataError:  # a bad score: let observe single it out
                pass
            else:
                self._scores += scores
                self._durations += durations
                self._configs += configs
                return
        for trial in new:
            self._observe(trial)

    def _observe(self, trial: FrozenTrial) -> None:
        score, duration, config = self._score(trial), _seconds(trial), trial.params
        try:
            self._bound_monitor.observe(score, duration=duration, config=config)
        except InvalidDataError as exc:  # e.g. a score outside the declared bounds
            logger.warning("tailstop: trial %d counts as failed: %s", trial.number, exc)
            score = None
            self._bound_monitor.observe(None, duration=duration, config=config)
        self._scores.append(score)
        self._durations.append(duration)
        self._configs.append(config)

    def _score(self, trial: FrozenTrial) -> float | None:
        if trial.state == TrialState.COMPLETE:
            values = trial.values
            return None if values is None else float(values[self._index])
        return None

    def _write_report(self, study: optuna.Study) -> None:
        monitor = self._bound_monitor
        # rewritten when the best score improves too: a report's current best is never stale
        key = (monitor.refits, bool(monitor.should_stop), monitor.state.current_best)
        if key == self._written_key:
            return
        report = _plain(monitor.report())
        try:
            edges = crowded_edges(self._scores, self._configs, self._ranges, monitor.direction)
        except Exception:  # (a check beside the report: never a reason to lose the report)
            logger.debug("tailstop: the range-edge check failed", exc_info=True)
            edges = []
        report["optuna"] = {
            "study": study.study_name,
            "objective_index": self._index if self._multi else None,
            "trials": dict(self._states),
            "range_edges": [edge.to_dict() for edge in edges],
        }
        for edge in edges:  # once per parameter and end
            if (edge.name, edge.end) not in self._edges_logged:
                self._edges_logged.add((edge.name, edge.end))
                logger.warning("tailstop: study %r: %s", study.study_name, edge)
        study.set_user_attr(self.report_attr, report)
        self._report = report
        self._written_key = key


def _flush_at_exit(callback_ref: weakref.ref) -> None:
    """At the interpreter's exit: wait (a while) for a background refit still under way, so
    the study's report and stop flag are written (a daemon thread is cut off at exit)."""
    callback = callback_ref()
    if callback is not None and not callback.flush(timeout=_EXIT_FLUSH_SECONDS):
        logger.warning("tailstop: the last background refit did not finish within %d s of "
                       "the interpreter's exit; the study's report may be stale",
                       _EXIT_FLUSH_SECONDS)


def _number(trial: FrozenTrial) -> int:
    return trial.number


def _seconds(trial: FrozenTrial) -> float | None:
    """The trial's duration in seconds; None when unknown or negative (Optuna stamps trials
    in naive local time: a clock change, or a trial added by hand, can end before it began)."""
    duration = trial.duration
    if duration is None:
        return None
    seconds = duration.total_seconds()
    return seconds if seconds >= 0 else None


def _flag_reason(flag: Any) -> str:
    if isinstance(flag, dict) and flag.get("reason"):
        return str(flag["reason"])
    return "another worker set the stop flag"


def _plain(value: Any) -> Any:
    """Plain JSON types only: RDB storages reject numpy scalars and arrays."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return _plain(value.tolist())
    if isinstance(value, float):
        return float(value)  # NaN and inf survive every Optuna storage
    return str(value)

"""``Monitor``: follow a live random search, refit its tail as trials finish, and say when to stop.

The monitor is framework-free: feed it one finished trial at a time with :meth:`Monitor.observe`
or the whole history with :meth:`Monitor.update`, and read :attr:`Monitor.should_stop`,
:attr:`Monitor.reason`, :attr:`Monitor.estimate` and :meth:`Monitor.report`. The Optuna and
Ray Tune adapters are thin layers over it.

Example
-------
>>> from tailstop.monitor import Monitor
>>> from tailstop.rules import GainBelow
>>> from tailstop.synthetic import make_problem
>>> monitor = Monitor("maximize", GainBelow(0.01), budget=40, refit_step=10)
>>> for score in make_problem(2, noise_ratio=0.01, generator=0).run_search(40, generator=1):
...     monitor.observe(float(score))
...     if monitor.should_stop:
...         break
>>> monitor.should_stop, monitor.n_trials <= 40, "expected_gain" in monitor.history[0]
(True, True, True)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, cast

import numpy as np

from tailstop._clock import SearchClock, check_time_budget
from tailstop._data import (
    check_bounds,
    check_direction,
    check_resolution,
    check_sequence,
    integer,
    real_number,
    unmasked,
)
from tailstop._gains import cached_gain
from tailstop._tracker import _check_duration, _failed_as_none, _Tracker, check_score
from tailstop.errors import InvalidDataError, InvalidParameterError
from tailstop.estimate import MAX_DIMENSION, MIN_TRIALS, TailEstimate, _check_noise, analyze
from tailstop.repeats import ConfigurationLog, Repeats, configuration_key, verdict_notice
from tailstop.rules import Decision, GainBelow, Rule, SearchState, gain_interval

__all__ = ["Monitor", "check_score"]

logger = logging.getLogger("tailstop")

# What a refit may raise without it being the user's fault: logged, never raised.
# Any exception: a bug inside the fit must not take a framework-free search down either.
_FIT_FAILURES = (Exception,)


class Monitor:
    """Watch a random search, refit the noisy quadratic to its tail, and decide when to stop.

    Parameters
    ----------
    direction : {"maximize", "minimize"}
        Whether a higher or a lower score is better.
    rule : Rule, optional
        The stopping rule (:mod:`tailstop.rules`). Default ``GainBelow()``: stop when the
        upper confidence bound of the expected gain over the remaining budget (or, without a
        budget, over as many trials as have run) is below the seed noise (the given one, or
        the low end of the fitted one's interval; see ``GainBelow``).
    budget : int, optional
        The most trials the search will run. Once ``budget`` trials have finished,
        ``should_stop`` is True whatever the rule says ("budget of N trials used").
    time_budget : float or datetime.timedelta, optional
        The wall-clock seconds the search may run, counted from the monitor's creation (or
        from :meth:`restart_clock`). The rules' horizon is then also the trials that will
        finish in the time left: the rate at which trials have finished (all workers together,
        measured from the first trials the monitor is given, once 3 more have finished) times
        the seconds left, the smaller of that and the trial budget's. Once the time is used,
        ``should_stop`` is True at the next trial ("time budget of T s used").
    min_trials : int
        No fit, and no stop by the rule, before this many trials (failed ones included). The
        first fit also needs ``tailstop.estimate.MIN_TRIALS`` finite scores.
    confidence : float
        Level of the estimate's intervals, in [0.5, 1).
    bounds : (low, high), optional
        Known range of the score (``None`` for an open side, e.g. ``(0, None)`` for a loss);
        no forecast goes beyond it, and once the best reaches it every estimate-based rule
        stops. A finite score outside it is an ``InvalidDataError``.
    max_dimension : int, optional
        Cap on the effective dimension (passed to ``analyze``).
    noise : float, optional
        The seed noise's standard deviation when known (several good configurations re-run
        with a few seeds, pooled by :func:`tailstop.seed_noise`; 0 for a deterministic
        objective): the estimate's point values come from fits that hold it fixed (passed to
        ``analyze``, which documents it), and the default rule's epsilon is then this noise
        (floored at 1% of the tail's width, and at ``resolution``). :meth:`set_noise` gives it
        mid-search.
    resolution : float, optional
        The step of a metric that counts something (``1 / m`` for accuracy on ``m``
        validation examples), passed to ``analyze``: without it, fold averages that differ by
        a few 1e-5 look to the law like lumps it cannot make (see ``analyze``).
    refit_growth : float in [0, 1]
    refit_step : int >= 1
        Throttling of the refits. After a refit at ``m`` trials, the next one happens once the
        search has grown by ``max(refit_step, ceil(refit_growth * m))`` trials. **Staleness
        bound**: the estimate misses fewer than ``max(refit_step, ceil(refit_growth * m))``
        of the finished trials; with the defaults (1 and 0.02) it includes every trial up to
        50, and is never more than ``max(1, ceil(0.02 n)) - 1`` trials old at ``n`` trials
        (19 at 1,000); a refit that fails leaves the previous estimate in place until the
        next scheduled one succeeds. The trial that completes the ``budget`` always refits,
        so a search that runs its budget ends with an estimate of every trial. The rule is
        consulted after every trial (with the latest estimate and the current counts), so
        budget and patience are always up to date. :meth:`refit` forces a refit.
    detect_deterministic : bool
        When trials come with their configuration (``observe(score, config=...)``; the Optuna
        and Ray Tune adapters pass each trial's parameters) and at least
        ``tailstop.repeats.MIN_CONFIGURATIONS`` (10) configurations ran more than once, every
        repeat scoring the same, the objective is deterministic: the refits hold the seed
        noise at 0 (as ``noise=0`` would), unless a noise was given. A repeat that scores
        differently withdraws it. Only searches over integers and categories repeat
        configurations; see :mod:`tailstop.repeats`. Turn it off when a seed is among the
        parameters (its repeats are exact by construction).

    Notes
    -----
    * A failed trial (``None``, NaN, +-inf) counts as a trial that can never be the best.
    * Thread-safe: one lock guards the state, and a refit runs under it, so concurrent
      :meth:`observe` calls wait for a refit in progress.
    * A refit that fails (with any exception) never raises: the previous
      estimate is kept, the error is logged as a warning under the ``tailstop`` logger, put
      in :attr:`history` and mentioned in :attr:`reason`, and the search goes on. Only invalid
      input raises (:class:`~tailstop.errors.InvalidDataError`, before any change of state).
    * The stop decision is latched: once ``should_stop`` is True it stays True (trials
      already running may still finish and be observed).
    * Every refit logs one INFO line under the ``tailstop`` logger.

    Examples
    --------
    Give the monitor the history so far (one refit), then one trial at a time; the rule asks
    whether 100 more trials could gain 0.001, and the budget ends the search first:

    >>> from tailstop.rules import GainBelow
    >>> from tailstop.synthetic import make_problem
    >>> problem = make_problem(2, noise_ratio=0.01, regime_mass=0.3, generator=5)
    >>> scores = problem.run_search(160, generator=6).tolist()
    >>> monitor = Monitor("maximize", GainBelow(0.001, horizon=100), budget=160, refit_step=20)
    >>> monitor.update(scores[:150])
    >>> monitor.should_stop, monitor.estimate.n_trials, len(monitor.history)
    (False, 150, 1)
    >>> monitor.reason
    'the upper end of the 90% interval of the expected gain over 100 trials is ... >= 0.001
    (epsilon); continue'
    >>> monitor.observe(None)  # a failed trial
    >>> for score in scores[151:]:
    ...     monitor.observe(score, duration=30.0)
    >>> monitor.should_stop, monitor.reason, monitor.n_failed
    (True, 'budget of 160 trials used', 1)
    >>> report = monitor.report()
    >>> report["n_trials"], report["estimate_n_trials"], report["stopped_at"], report["refits"]
    (160, 160, 160, 2)
    """

    def __init__(
        self,
        direction: str,
        rule: Rule | None = None,
        *,
        budget: int | None = None,
        min_trials: int = 20,
        confidence: float = 0.9,
        bounds: tuple[float, float] | None = None,
        max_dimension: int | None = None,
        noise: float | None = None,
        resolution: float | None = None,
        refit_growth: float = 0.02,
        refit_step: int = 1,
        detect_deterministic: bool = True,
        time_budget: float | timedelta | None = None,
    ):
        self.direction = check_direction(direction)
        if rule is None:
            rule = GainBelow()
        if not isinstance(rule, Rule):
            raise InvalidParameterError(f"rule must be a tailstop.rules.Rule, got {rule!r}")
        self.rule = rule
        self.budget = None if budget is None else integer(budget, "budget", 1)
        self.time_budget = check_time_budget(time_budget)
        self.min_trials = integer(min_trials, "min_trials", 1)
        self.confidence = real_number(confidence, "confidence")
        if not 0.5 <= self.confidence < 1:
            raise InvalidParameterError(f"confidence must be in [0.5, 1), got {confidence}")
        self.bounds = check_bounds(bounds)
        self.max_dimension = (
            None
            if max_dimension is None
            else integer(max_dimension, "max_dimension", 1, MAX_DIMENSION)
        )
        self._noise = _check_noise(noise)
        self.resolution = check_resolution(resolution)
        self.refit_growth = real_number(refit_growth, "refit_growth")
        if not 0 <= self.refit_growth <= 1:
            raise InvalidParameterError(f"refit_growth must be in [0, 1], got {refit_growth!r}")
        self.refit_step = integer(refit_step, "refit_step", 1)
        if not isinstance(detect_deterministic, bool):
            raise InvalidParameterError(
                f"detect_deterministic must be True or False, got {detect_deterministic!r}"
            )
        self.detect_deterministic = detect_deterministic
        self._configs = ConfigurationLog()

        self._lock = threading.RLock()
        self._tracker = _Tracker(self.direction)
        self._clock = SearchClock()
        self._estimate: TailEstimate | None = None
        self._attempted_at: int | None = None  # trials at the last refit attempt
        self._last_error: str | None = None
        self._history: list[dict] = []
        self._decision = Decision(False, self._waiting_reason(0), "Monitor")
        self._stopped_at: int | None = None
        self._best_at_stop: float | None = None  # the current best when the stop was said
        self._horizon_at_stop: int | None = None
        self._last_gain: dict[str, float] | None = None  # at the last successful refit

    # -- input ---------------------------------------------------------------------------------
    def observe(
        self, score: float | None, *, duration: float | None = None, config: Any = None
    ) -> None:
        """Record one finished trial (``None``/NaN/inf = failed), refit if due, and decide.

        ``config``: the trial's hyperparameters (e.g. a dict), which tell repeats of a
        configuration apart (see ``detect_deterministic``)."""
        value = check_score(score, bounds=self.bounds)
        seconds = _check_duration(duration)
        with self._lock:
            self._tracker.append(value, seconds)
            changed = self._add_repeats([config], [value])
            self._after_change(force=changed)

    def update(self, scores, *, durations=None, configs=None) -> None:
        """Set the whole history of finished trials, in order; idempotent.

        The same history again changes nothing (no refit). A history that extends the known
        one appends the new trials; any other history replaces it (a refit follows at once
        if trials were removed or changed, and by the throttling schedule if the known trials
        were only reordered and new ones added). ``configs``: each trial's hyperparameters,
        as in :meth:`observe` (without them, the trials the monitor knew keep theirs).
        """
        scores = unmasked(scores)
        check_sequence(scores)
        values = [check_score(s, i, self.bounds) for i, s in enumerate(scores)]
        if durations is not None:
            durations = _as_list(durations, "durations")
            if len(durations) != len(values):
                raise InvalidDataError(
                    f"durations has {len(durations)} entries for {len(values)} scores"
                )
            seconds = [_check_duration(d, i) for i, d in enumerate(durations)]
        if configs is not None:
            configs = _as_list(configs, "configs")
            if len(configs) != len(values):
                raise InvalidDataError(
                    f"configs has {len(configs)} entries for {len(values)} scores"
                )
        with self._lock:
            known = self._configs.configs[: len(values)]
            given = configs if configs is not None else known + [None] * (len(values) - len(known))
            tracker = self._tracker
            old = tracker.scores
            if durations is None:
                seconds = tracker.durations[: len(values)]
                seconds += [math.nan] * (len(values) - len(seconds))
            n_old = len(old)
            extends = len(values) >= n_old and np.array_equal(
                np.asarray(values[:n_old]), np.asarray(old), equal_nan=True
            )
            if extends and _same_configs(given[:n_old], known):
                if len(values) == n_old:
                    if not np.array_equal(seconds, tracker.durations, equal_nan=True):
                        tracker.set_durations(seconds)
                        self._decide()
                    return
                tracker.set_durations(seconds[:n_old])
                for value, second in zip(values[n_old:], seconds[n_old:], strict=True):
                    tracker.append(value, second)
                changed = self._add_repeats(given[n_old:], values[n_old:])
                self._after_change(force=changed)
                return
            grown = not (_failed_as_none(old) - _failed_as_none(values))
            tracker.reset()
            for value, second in zip(values, seconds, strict=True):
                tracker.append(value, second)
            noise = self._effective_noise()
            self._configs = ConfigurationLog()
            changed = self._add_repeats(given, values, before=noise)
            if not grown:  # the fit describes trials that are gone: start afresh
                self._attempted_at, self._estimate = None, None
            self._after_change(force=not grown or changed, cold=not grown)

    def restart_clock(self, spent: float = 0.0) -> None:
        """Count the time budget from now, with ``spent`` seconds of it already used (a search
        resumed after a pause, say); the rate of finished trials is measured afresh, from the
        next trials given. Changes nothing without a ``time_budget``."""
        seconds = real_number(spent, "spent")
        if not (math.isfinite(seconds) and seconds >= 0):
            raise InvalidParameterError(f"spent must be finite seconds >= 0, got {spent!r}")
        with self._lock:
            self._clock.restart(seconds)

    @property
    def elapsed(self) -> float:
        """Wall-clock seconds the time budget has used (see ``time_budget``)."""
        return self._clock.elapsed

    def set_noise(self, noise: float | None) -> TailEstimate | None:
        """Give a known seed noise mid-search (``None`` withdraws it) and refit at once.

        For a noise measured while the search runs (:func:`tailstop.seed_noise`): every later
        refit holds it, and the default rule's epsilon becomes it. Returns the latest
        estimate, as :meth:`refit` does; a refit that fails is logged and recorded as any
        other, and the noise stays set. An invalid value raises ``InvalidParameterError``
        and changes nothing.
        """
        value = _check_noise(noise)
        with self._lock:
            if value == self._noise:
                return self._estimate
            self._noise = value
            return self.refit()

    @property
    def noise(self) -> float | None:
        """The known seed noise every refit holds (``None``: fitted): the one given (see
        :meth:`set_noise`), else 0 once repeated configurations showed a deterministic
        objective (``detect_deterministic``)."""
        return self._effective_noise()

    @property
    def repeats(self) -> Repeats:
        """The configurations seen more than once (when trials came with ``config``)."""
        return self._configs.repeats

    def range_edges(self, ranges: Mapping[str, tuple] | None = None) -> list | None:
        """The hyperparameters whose best trials crowd one end of their range, so that the
        optimum may lie beyond it (:func:`tailstop.edges.crowded_edges`), from the configs
        the trials came with (``observe(score, config=...)``): in ``ranges`` (``{name: (low,
        high[, log])}``) or else in the ranges the configs show they were sampled from
        (:func:`tailstop.edges.sampled_ranges`). None when no trial came with a config, or
        no range is given and none can be read."""
        from tailstop.edges import crowded_edges, sampled_ranges

        with self._lock:
            if not self._configs.any_given:
                return None
            configs = list(self._configs.configs)
            scores = list(self._tracker.scores)  # (NaN: failed)
        if ranges is None:
            ranges = sampled_ranges(configs, scores)
            if not ranges:
                return None
        return crowded_edges(scores, configs, ranges, self.direction)

    def _effective_noise(self) -> float | None:
        if self._noise is not None:
            return self._noise
        if self.detect_deterministic and self._configs.repeats.deterministic:
            return 0.0
        return None

    def _add_repeats(self, configs: list, values: list, before: Any = ...) -> bool:
        """Record the trials' configurations; True when that changed the noise refits hold
        (then logged) from ``before`` (default: the noise they held until now)."""
        if before is ...:
            before = self._effective_noise()
        self._configs.extend(configs, values)
        after = self._effective_noise()
        if after == before:
            return False
        logger.info("%s", verdict_notice(after, self._configs.repeats.n_repeated))
        return True

    def refit(self) -> TailEstimate | None:
        """Refit now (if there are enough trials) and decide; returns the latest estimate."""
        with self._lock:
            if self._tracker.n_trials >= self.min_trials and self._tracker.n_finite >= MIN_TRIALS:
                self._refit()
            return self._estimate

    # -- output --------------------------------------------------------------------------------
    @property
    def estimate(self) -> TailEstimate | None:
        """The latest successful fit (``None`` before the first one)."""
        return self._estimate

    @property
    def history(self) -> list[dict]:
        """One compact plain-JSON record per refit (failed refits included, with ``error``)."""
        with self._lock:
            return [dict(record) for record in self._history]

    @property
    def refits(self) -> int:
        """How many refits the monitor has made: ``len(history)``, without copying it."""
        with self._lock:
            return len(self._history)

    @property
    def should_stop(self) -> bool:
        """True once the rule or the budget says the search should end (then stays True)."""
        return self._decision.stop

    @property
    def reason(self) -> str:
        """Why the monitor says stop or continue, with the numbers."""
        return self._decision.reason

    @property
    def stopped_at(self) -> int | None:
        """The number of trials at which the rule or the budget said stop (None before); trials
        that finish afterwards still count in ``n_trials``."""
        return self._stopped_at

    @property
    def decision(self) -> Decision:
        """The latest :class:`~tailstop.rules.Decision`."""
        return self._decision

    @property
    def n_trials(self) -> int:
        return self._tracker.n_trials

    @property
    def n_failed(self) -> int:
        return self._tracker.n_failed

    @property
    def state(self) -> SearchState:
        """The search's counts as the rules see them."""
        with self._lock:
            return self._state()

    def report(self) -> dict[str, Any]:
        """A compact summary in plain JSON types (for logs, study attributes, dashboards).

        The estimate's figures (best possible, noise) are those of the last successful
        refit, at ``estimate_n_trials`` trials; ``expected_gain`` is that estimate's forecast
        over its ``horizon``: the stop's once stopped (so that it agrees with ``reason``),
        before that the current one when a rule has already forecast it, else the last
        refit's (a report never runs a forecast of its own between refits); the counts,
        ``should_stop`` and ``reason`` are current; ``stopped_at`` and ``best_at_stop`` are
        the trials and the best score when the stop was said (None before).
        """
        with self._lock:
            state = self._state()
            est = self._estimate
            noise = self._effective_noise()
            gain = self._last_gain
            if est is not None:
                gain = self._reported_gain(est, state, gain)
            report: dict[str, Any] = {
                "direction": self.direction,
                "n_trials": state.n_trials,
                "n_failed": state.n_failed,
                "budget": self.budget,
                "time_budget": self.time_budget,
                # seconds left, and trials finished per second (None until measured)
                "time_left": state.time_left,
                "trial_rate": state.trial_rate,
                "current_best": state.current_best,
                "estimate_n_trials": None if est is None else est.n_trials,
                "best_possible": None,
                "effective_dimension": None,
                "noise": noise,  # the given one until a fit
                "noise_known": noise is not None,
                # "given", "repeats" (0: a deterministic objective) or None (fitted)
                "noise_source": (
                    "given" if self._noise is not None
                    else "repeats" if noise is not None else None
                ),
                "repeats": (
                    self._configs.repeats.to_dict() if self._configs.any_given else None
                ),
                "noise_interval": None,
                "resolution": self.resolution,
                "expected_gain": gain,
                "fits_well": None,
                "fit_reason": None,
                "should_stop": self.should_stop,
                "stopped_at": self._stopped_at,
                # the best score when the stop was said (trials can finish after it)
                "best_at_stop": self._best_at_stop,
                "reason": self.reason,
                # GainBelow's epsilon in the latest decision (None for other rules)
                "epsilon": _epsilon(self._decision),
                "rule": self.rule.describe(),
                "refits": len(self._history),
                "last_error": self._last_error,
            }
            if est is not None:
                bp = est.best_possible
                report.update(
                    best_possible={
                        "estimate": float(bp.estimate),
                        "low": float(bp.low),
                        "high": float(bp.high),
                    },
                    effective_dimension=int(est.effective_dimension.estimate),
                    noise=float(est.noise),
                    noise_interval={
                        name: float(value) if math.isfinite(value) else None
                        for name, value in est.noise_interval._asdict().items()
                    },
                    fits_well=bool(est.fits_well),
                    fit_reason=est.fit_reason,
                    confidence=float(est.confidence),
                )
            return report

    def __repr__(self) -> str:
        timed = "" if self.time_budget is None else f"time_budget={self.time_budget:g}, "
        return (
            f"Monitor({self.direction!r}, {self.rule.describe()}, budget={self.budget}, "
            f"{timed}n_trials={self.n_trials}, should_stop={self.should_stop})"
        )

    # -- internals (called with the lock held) --------------------------------------------------
    def _reported_gain(self, est: TailEstimate, state: SearchState, refit_gain):
        """The report's gain: over the stop's horizon once stopped (computed once: trials
        that finish later still count, and the stop's reason stands); before, over the
        current horizon when a rule has already forecast it, else the last refit's record
        (a forecast costs ~0.1 s, and the Optuna callback writes a report at every new best:
        the report never forecasts between refits). Its ``horizon`` says which."""
        if self._stopped_at is not None:
            try:
                horizon = self._horizon_at_stop
                return _gain_record(est, 0 if horizon is None else horizon)
            except _FIT_FAILURES as exc:  # pragma: no cover - the refit's record stands
                logger.debug("tailstop: the report's gain at the stop failed: %s", exc)
                return refit_gain
        horizon = self._horizon(state)
        known = cached_gain(est, horizon) if horizon > 0 else (0.0, 0.0, 0.0)
        if known is None:
            return refit_gain
        return {"horizon": int(horizon), "estimate": known[0], "low": known[1], "high": known[2]}

    def _state(self) -> SearchState:
        state = self._tracker.state(self.budget)
        if self.time_budget is None:
            return state
        return dataclasses.replace(
            state,
            time_left=self._clock.time_left(self.time_budget),
            trial_rate=self._clock.trial_rate,
        )

    def _horizon(self, state: SearchState) -> int:
        """The horizon the rules read: the rule's own, else the remaining budget (trials, or
        the trials the time left allows), else as many trials as have run."""
        fixed = getattr(self.rule, "horizon", None)
        if isinstance(fixed, int):
            return fixed
        remaining = state.remaining
        return state.n_trials if remaining is None else remaining

    def _waiting_reason(self, n: int) -> str:
        return f"{n} of min_trials={self.min_trials} trials finished; continue"

    def _refit_due(self) -> bool:
        tracker = self._tracker
        if tracker.n_trials < self.min_trials or tracker.n_finite < MIN_TRIALS:
            return False
        if self._attempted_at is None:
            return True
        if self.budget is not None and self._attempted_at < self.budget <= tracker.n_trials:
            return True  # the budget's last trial: the final estimate covers every trial
        step = max(self.refit_step, math.ceil(self.refit_growth * self._attempted_at))
        return tracker.n_trials - self._attempted_at >= step

    def _after_change(self, *, force: bool, cold: bool = False) -> None:
        self._clock.arrived(self._tracker.n_trials)
        if self._decision.stop:  # latched: no more refits once stopped (refit() still works)
            return
        tracker = self._tracker
        enough = tracker.n_trials >= self.min_trials and tracker.n_finite >= MIN_TRIALS
        if (force and enough) or self._refit_due():
            self._refit(cold=cold)
        else:
            self._decide()

    def _refit(self, *, cold: bool = False) -> None:
        tracker = self._tracker
        n = tracker.n_trials
        started = time.perf_counter()
        try:
            estimate = analyze(
                tracker.scores,
                self.direction,
                confidence=self.confidence,
                max_dimension=self.max_dimension,
                bounds=self.bounds,
                noise=self._effective_noise(),
                previous=None if cold else self._estimate,
                resolution=self.resolution,
            )
        except _FIT_FAILURES as exc:
            seconds = time.perf_counter() - started
            self._attempted_at = n
            kept = (
                "no estimate yet"
                if self._estimate is None
                else (f"keeping the estimate from {self._estimate.n_trials} trials")
            )
            self._last_error = f"refit at {n} trials failed ({type(exc).__name__}: {exc}); {kept}"
            logger.warning("tailstop: %s", self._last_error)
            decision = self._decide()
            self._history.append(
                {
                    "n_trials": n,
                    "current_best": tracker.state(None).current_best,
                    "error": self._last_error,
                    "should_stop": decision.stop,
                    "reason": decision.reason,
                    "seconds": round(seconds, 4),
                }
            )
            return
        seconds = time.perf_counter() - started
        self._estimate, self._attempted_at, self._last_error = estimate, n, None
        state = self._state()
        horizon = self._horizon(state)
        # first, so that GainBelow over the same horizon finds it computed (the same state:
        # with a time budget the clock would move the horizon between two readings)
        gain = self._last_gain = _gain_record(estimate, horizon)
        decision = self._decide(state)
        bp = estimate.best_possible
        self._history.append(
            {
                "n_trials": n,
                "current_best": state.current_best,
                "best_possible": [float(bp.estimate), float(bp.low), float(bp.high)],
                "horizon": horizon,
                "expected_gain": [gain["estimate"], gain["low"], gain["high"]],
                "fits_well": bool(estimate.fits_well),
                "should_stop": decision.stop,
                "reason": decision.reason,
                # the epsilon GainBelow compared the gain's upper end with (from the fitted
                # noise by default, so it moves from refit to refit), alone or in a combination
                "epsilon": _epsilon(decision),
                "seconds": round(seconds, 4),
            }
        )
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "tailstop: %d trials, best %.6g, best possible %.6g [%.6g, %.6g], "
                "expected gain over %d trials %.3g [%.3g, %.3g] -> %s: %s",
                n,
                state.current_best,
                bp.estimate,
                bp.low,
                bp.high,
                horizon,
                gain["estimate"],
                gain["low"],
                gain["high"],
                "stop" if decision.stop else "continue",
                decision.reason,
            )

    def _decide(self, state: SearchState | None = None) -> Decision:
        if self._decision.stop:
            return self._decision
        if state is None:
            state = self._state()
        if self.budget is not None and state.n_trials >= self.budget:
            decision = Decision(True, f"budget of {self.budget} trials used", "budget")
        elif state.time_left == 0.0:
            decision = Decision(True, f"time budget of {self.time_budget:g} s used", "budget")
        elif state.n_trials < self.min_trials:
            decision = Decision(False, self._waiting_reason(state.n_trials), "Monitor")
        else:
            try:
                decision = self.rule.decide(self._estimate, state)
            except _FIT_FAILURES as exc:
                message = f"the rule failed ({type(exc).__name__}: {exc}); continue"
                logger.warning("tailstop: %s", message)
                decision = Decision(False, message, "Monitor")
            if self._last_error is not None:
                decision = dataclasses.replace(
                    decision, reason=f"{decision.reason} [{self._last_error}]"
                )
        self._decision = decision
        if decision.stop:
            self._stopped_at = state.n_trials
            self._best_at_stop = state.current_best
            self._horizon_at_stop = self._horizon(state)
        return decision


def build_monitor(direction: str, rule, options: dict, owner: str) -> Monitor:
    """``Monitor(direction, rule, **options)`` for an adapter (``owner``: its class name), an
    option ``Monitor`` does not take named as the adapter's (not a bare ``TypeError`` about
    ``Monitor.__init__``)."""
    import inspect

    known = [name for name in inspect.signature(Monitor).parameters
             if name not in ("direction", "rule")]
    unknown = sorted(name for name in options if name not in known)
    if unknown:
        raise InvalidParameterError(
            f"{owner} got unknown option(s) {', '.join(map(repr, unknown))}; the Monitor "
            f"options it passes on are {', '.join(known)}"
        )
    return Monitor(direction, rule, **options)


def _as_list(values: object, name: str) -> list:
    """``list(values)`` of a sequence given beside the scores (not a string or a scalar)."""
    if isinstance(values, (str, bytes)) or not np.iterable(values):
        raise InvalidDataError(
            f"{name} must be a sequence with one entry per score, got {type(values).__name__}"
        )
    return list(cast("Iterable[Any]", values))


def _same_configs(given: list, known: list) -> bool:
    """Whether two lists of configurations agree: ``==`` (fast, and the same objects are
    equal at once), else by their keys (:func:`tailstop.repeats.configuration_key`) where
    ``==`` has no single answer (numpy arrays)."""
    try:
        return bool(given == known)
    except (ValueError, TypeError):
        return len(given) == len(known) and all(
            a is b or configuration_key(a) == configuration_key(b)
            for a, b in zip(given, known, strict=True)
        )


def _epsilon(decision: Decision) -> float | None:
    """The epsilon ``GainBelow`` compared the gain with in ``decision`` (or a part of it)."""
    found = decision.find("GainBelow")
    return None if found is None or found.threshold is None else float(found.threshold)


def _gain_record(estimate: TailEstimate, horizon: int) -> dict[str, float]:
    value, low, high = gain_interval(estimate, horizon)
    return {"horizon": int(max(horizon, 0)), "estimate": value, "low": low, "high": high}

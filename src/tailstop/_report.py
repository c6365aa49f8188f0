"""The readable report ``tailstop analyze`` prints (and ``tailstop demo``, ``tailstop watch``).

Scores get six significant digits on the largest of the current best, the best possible's
interval and the threshold, all printed to the same decimals so that they line up; gains get
four; trial counts are whole numbers with thousands separators ("never" for an infinite wait,
a bound for one beyond ``FARTHEST_WAIT`` times the trials so far).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tailstop import __version__
from tailstop.estimate import NO_LOWER_BOUND

if TYPE_CHECKING:  # pragma: no cover
    from tailstop.estimate import TailEstimate

__all__ = ["format_report", "gain_wait", "json_safe"]

SIGNIFICANT = 6


def _decimals(*values: float) -> int:
    """Decimals that give the largest finite value ``SIGNIFICANT`` significant digits."""
    finite = [abs(float(v)) for v in values if math.isfinite(v) and v != 0]
    if not finite:
        return 4
    return int(min(max(SIGNIFICANT - 1 - math.floor(math.log10(max(finite))), 0), 12))


def _fixed(x: float, decimals: int) -> str:
    return f"{float(x):.{decimals}f}" if math.isfinite(x) else str(float(x))


def _gain(x: float) -> str:
    return f"{float(x):.4g}"


# A wait beyond this many times the trials so far is reported as a bound: the chance there rests
# on the fitted laws far beyond the data, and where it levels off near the target (some plausible
# laws end below the gain) the count swings with the slightest change (on all 512 AlexNet trials,
# 37,268 with numpy 2.4 and 41,506 with numpy 1.24, from the same data).
FARTHEST_WAIT = 10


def _trials(x: float, observed: int | None = None) -> str:
    if not math.isfinite(x):
        return "never"
    if observed is not None and x > FARTHEST_WAIT * observed:
        return f"> {FARTHEST_WAIT * observed:,}"
    if x < 1e6:
        return f"{math.ceil(x):,}"
    return f"{x:.3g}"


def _table(rows: list[tuple[str, str, str]]) -> list[str]:
    """Rows ``(label, value, note)``: labels left-aligned, values right-aligned on a column."""
    label_width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    return [
        f"  {label:<{label_width}}  {value:>{value_width}}  {note}".rstrip()
        for label, value, note in rows
    ]


def _choose_delta(estimate: TailEstimate, delta: float | None) -> tuple[float | None, str]:
    if delta is not None:
        return delta, "given"
    if estimate.noise > 0:
        return float(estimate.noise), "the seed noise"
    remaining = float(estimate.remaining_gain.estimate)
    if remaining > 0:
        return remaining / 2, "half the remaining gain"
    return None, ""


_NOISE_SOURCES = {"repeats": "0: repeated configurations scored the same"}


MORE_TRIALS = (10, 100)  # the horizons of the report's expected gains, by default


def gain_wait(estimate: TailEstimate, delta: float | None,
              more: Sequence[int] = MORE_TRIALS) -> dict[str, Any] | None:
    """The report's waiting time for a gain of ``delta`` (None: the seed noise, else half the
    remaining gain; no entry when neither is positive): ``{"delta", "delta_source",
    "probability": 0.5, "trials"`` (:meth:`~tailstop.TailEstimate.trials_to_gain`; inf:
    never), ``"horizon"`` (the last of ``more``), ``"chance"`` (of the gain within it)``}``."""
    chosen, why = _choose_delta(estimate, delta)
    if chosen is None:
        return None
    horizon = max(more) if len(more) else MORE_TRIALS[-1]
    return {
        "delta": float(chosen),
        "delta_source": why,
        "probability": 0.5,
        "trials": float(estimate.trials_to_gain(chosen, 0.5)),
        "horizon": int(horizon),
        "chance": float(estimate.prob_improvement(chosen, horizon)),
    }


def format_report(
    estimate: TailEstimate, *, source: str | None = None, delta: float | None = None,
    noise_source: str | None = None, more: Sequence[int] = MORE_TRIALS,
) -> str:
    """The report table ``tailstop analyze`` prints.

    ``delta`` is the gain whose waiting time is reported (default: the seed noise, an
    improvement smaller than which is indistinguishable from luck). ``noise_source``: where
    a known seed noise came from, ``"given"`` (the default) or ``"repeats"`` (0, told by
    repeated configurations that scored the same). ``more``: the numbers of further trials
    whose expected gain is reported, and the last of them the horizon of the chance to gain
    ``delta``.
    """
    from tailstop.estimate import _span_text

    level = f"{estimate.confidence:.0%}"
    bp, remaining = estimate.best_possible, estimate.remaining_gain
    decimals = _decimals(estimate.current_best, *bp, estimate.threshold)

    def _score(x: float) -> str:
        return _fixed(x, decimals)

    dimension = estimate.effective_dimension
    beyond = "above" if estimate.direction == "maximize" else "below"
    n_tail = estimate.n_trials - estimate.n_censored
    rows = [
        ("trials", f"{estimate.n_trials:,}", f"({estimate.n_failed:,} failed)"),
        ("current best", _score(estimate.current_best), ""),
        ("best possible", _score(bp.estimate), f"[{_score(bp.low)}, {_score(bp.high)}]  {level}"),
        (
            "remaining gain",
            _gain(remaining.estimate),
            f"[{_gain(remaining.low)}, {_gain(remaining.high)}]"
            + _remaining_note(estimate, remaining.estimate),
        ),
        (
            "effective dimension",
            str(dimension.estimate),
            f"consistent with {_span_text(dimension.consistent)}",
        ),
        (
            "seed noise",
            _gain(estimate.noise),
            f"std of the score between seeds ({_NOISE_SOURCES.get(noise_source or '', 'given')})"
            if estimate.noise_known else
            "[{}, {}]  std of the score between seeds".format(
                *(_gain(v) for v in estimate.noise_interval[1:])
            ),
        ),
    ]
    more = tuple(sorted(set(more))) or MORE_TRIALS
    for k in more:
        gain = estimate.expected_gain(k)
        rows.append(
            (
                f"expected gain, {k:,} more",
                _gain(gain.estimate),
                f"[{_gain(gain.low)}, {_gain(gain.high)}]"
                + (f"  ({NO_LOWER_BOUND})"
                   if k == more[0] and not estimate.fits_well and gain.high > 0 else ""),
            )
        )
    wait = gain_wait(estimate, delta, more)
    if wait is not None:
        rows.append(
            (
                f"trials to gain {_gain(wait['delta'])}",
                _trials(wait["trials"], int(estimate.n_trials)),
                f"for a 50% chance (delta = {wait['delta_source']}); {wait['chance']:.0%} "
                f"chance in {wait['horizon']:,} more",
            )
        )
    rows += [
        (
            "asymptotic regime",
            f"{n_tail:,}",
            f"trials ({estimate.tail_fraction:.0%}) {beyond} {_score(estimate.threshold)}"
            if math.isfinite(estimate.threshold)
            else f"trials ({estimate.tail_fraction:.0%}): every finite score",
        ),
        ("law fits", "yes" if estimate.fits_well else "no", estimate.fit_reason),
    ]
    header = f"tailstop {__version__}: {source or 'scores'}, {estimate.direction}"
    return "\n".join([header, "", *_table(rows)])


def json_safe(value: Any) -> Any:
    """``value`` with its non-finite floats as ``None`` (``null``), so that its JSON is strict
    (``TailEstimate.to_dict`` returns its summary through it)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _remaining_note(estimate, remaining: float) -> str:
    """Why the remaining gain is negative, when it is."""
    if estimate._at_ceiling:
        return "  (the current best is the metric's best value)"
    return "  (the current best is ahead by luck)" if remaining < 0 else ""

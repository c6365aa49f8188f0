"""The confidence intervals of a fitted tail (private, for :func:`tailstop.analyze`): profile
ends of the best score and the noise, the effective dimensions consistent with the data, and
the fit inside the region where more trials gain least."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tailstop import regime
from tailstop._lockstep import profile_ends, run_searches
from tailstop._profile import Profile
from tailstop._reuse import _State, _tails
from tailstop.errors import TailstopError

logger = logging.getLogger("tailstop")

BETTER_FIT = 0.01  # deviance by which another c's fit must beat the fit found to replace it


@dataclass
class Region:
    """The confidence region of a fitted tail, as :func:`build_region` finds it."""

    dist: Any  # the estimate: the fit found, or another c's fit that beats it
    consistent: tuple  # the chosen tail's consistent effective dimensions
    deviances: dict  # c -> profile deviance on the chosen tail
    dimension_fits: dict  # c -> that c's fit
    ends: dict  # the profile ends (both tails': the partner's keys start with "deeper")
    end_fits: dict
    end_deviances: dict
    low: float  # the best possible score's interval: the chosen tail's region widened by the
    # gap to the partner's estimate, and the deeper tails' regions
    high: float
    plausible: list  # every fit the forecasts' ranges span besides the estimate
    union: tuple  # the deeper candidate tails' part: (low, high, fits) or (None, None, ())
    tails: tuple  # the tails' data, for the next update's reuse tests


def build_region(ys, dist, threshold: float, deeper, choice, union, *, c_max: int, b_range,
                 critical: float, previous: _State | None, noise: float | None = None) -> Region:
    """The confidence region of the fit ``dist`` of the tail above ``threshold``.

    The chosen tail's profile over ``c`` (its consistent effective dimensions; a ``c`` whose
    fit beats ``dist`` by more than ``BETTER_FIT`` becomes the estimate), the profile ends of
    both the chosen tail and its stability partner ``deeper`` (side by side in lock step),
    and, on a cold choice (``union`` None), the deeper candidate tails of many trials
    (:func:`union_region`). ``previous`` is the state of the estimate an update reuses (its
    ends, fits and deviances as guesses), None on a cold call. ``noise``: a known seed noise,
    which fixes ``o`` in every fit (and leaves no profile of ``o`` to search).
    """
    guesses = previous.ends if previous is not None else {}
    guess_fits = previous.end_fits if previous is not None else {}
    guess_deviances = previous.end_deviances if previous is not None else {}
    profile = new_profile(ys, dist, threshold, c_max, b_range, noise)
    tails = _tails(ys, threshold, deeper)
    # an update whose new trials all fell below the threshold keeps the ends that hold
    profile.reuse_ends = previous is not None and tails[:2] == previous.tail[:2]
    known = previous.dimension_deviances if previous is not None else {}
    known_fits = previous.dimension_fits if previous is not None else {}
    consistent, deviances, dimension_fits = consistent_dimensions(
        profile, dist, critical, c_max, known, known_fits
    )
    best_c = min(deviances, key=deviances.__getitem__)
    if deviances[best_c] < -BETTER_FIT:
        # another c fits better than the fit found (a local update, or a global search
        # that missed in a flat profile): it is the estimate, and the deviances move
        dist = dimension_fits[best_c]
        profile = new_profile(ys, dist, threshold, c_max, b_range, noise)
        profile.reuse_ends = False
        consistent, deviances, dimension_fits = consistent_dimensions(
            profile, dist, critical, c_max, {}, dimension_fits
        )
    profile.restrict_dimensions(deviances, critical)
    jobs = [(profile, guesses, guess_fits, guess_deviances, noise is None)]
    if deeper is not None:
        # The threshold is chosen from the data: the forecasts range over the regions of
        # both the chosen tail and its stability partner, which agree when the law holds on
        # both (their lower end over the partner's least-gain fit too); the partner's noise
        # ends would add time and, measured, no coverage.
        deep_profile = new_profile(ys, deeper[0], deeper[1], c_max, b_range, noise)
        deep_profile.reuse_ends = previous is not None and tails[2:] == previous.tail[2:]
        deep_guesses, deep_fits, deep_deviances = (
            {k[1:]: v for k, v in known.items() if k[0] == "deeper"}
            for known in (guesses, guess_fits, guess_deviances)
        )
        jobs.append((deep_profile, deep_guesses, deep_fits, deep_deviances, False))
    # the two tails' end searches side by side
    (ends, end_fits, end_deviances), *deep = profile_tails(jobs, critical, b_range)
    if union is None:  # a cold choice: the deeper candidate tails of many trials too
        partner = None if deeper is None else int(np.sum(ys > deeper[1]))
        union = union_region(ys, choice, partner, c_max, b_range, critical, noise)
    low, high = ends[("b", -1.0)], ends[("b", +1.0)]
    plausible = profile.plausible(critical)
    low = min([low, *(d.b for d in plausible)])  # a consistent c may reach further
    high = max([high, *(d.b for d in plausible)])
    if deep:
        (deep_ends, deep_fits, deep_deviances), = deep
        # The best possible's interval is the chosen tail's, widened on the partner's side
        # by the gap between the two estimates: the chosen tail's region measures the
        # sampling error, the gap what the threshold's choice may have biased. The union
        # with the partner's whole region counted the sampling error twice (coverage
        # 0.96-0.98 at 90%; docs/benchmarks.md). The forecasts still range over the
        # partner's region (``plausible``): their upper ends, which the stopping rules read,
        # stay on the side of continuing. A partner whose tail holds too few distinct
        # scores (a coarse metric) is fitted exactly by several laws: its estimate and its
        # region are arbitrary, so it measures no bias and joins neither the interval nor
        # the forecasts' ranges.
        identified = _identified(ys[ys > deeper[1]], noise)
        if identified:
            low, high = _shifted(low, high, deeper[0].b - dist.b, b_range)
        ends.update({("deeper", *k): v for k, v in deep_ends.items()})
        end_fits.update({("deeper", *k): v for k, v in deep_fits.items()})
        end_deviances.update({("deeper", *k): v for k, v in deep_deviances.items()})
        if identified:
            plausible += [deeper[0], *deep_profile.plausible(critical)]
    if union[0] is not None:
        low, high = min(low, union[0]), max(high, union[1])
        plausible += list(union[2])
    return Region(dist, consistent, deviances, dimension_fits, ends, end_fits, end_deviances,
                  low, high, plausible, union, tails)


def _identified(tail: np.ndarray, noise: float | None = None) -> bool:
    """Whether the fit of a tail is identified: the tail holds more distinct scores than the
    law has continuous parameters (a, b, o; a and b when the ``noise`` is given). With at
    most that many, its groups of ties and the censored cell below them have no more free
    shares than those parameters: each ``c`` matches them exactly, and the fits' estimates
    of ``b`` differ (with fewer, a continuum of laws does)."""
    return regime.distinct_scores(tail) > regime.IDENTIFIED_DISTINCT - (noise is not None)


def _shifted(low: float, high: float, shift: float, b_range) -> tuple[float, float]:
    """``[low, high]`` widened to span itself moved by ``shift``, within ``b_range``:
    ``[low + min(0, shift), high + max(0, shift)]``."""
    if not math.isfinite(shift):
        return low, high
    if shift < 0:
        return min(low, max(low + shift, b_range[0])), high
    return low, max(high, min(high + shift, b_range[1]))


def new_profile(ys, dist, threshold: float, c_max: int, b_range,
                noise: float | None = None) -> Profile:
    """The profiles of the fit ``dist`` of the tail above ``threshold``; ``b_range``: the
    metric's known range, which bounds ``b``; ``noise``: a known seed noise, which fixes
    ``o``."""
    from tailstop.fitting import spacing_loss

    loss_hat = spacing_loss(ys, (threshold, np.inf), dist.a, dist.b, dist.c, dist.o, False)
    return Profile(ys, threshold, dist, loss_hat, c_max, b_range, noise)


UNION_MIN_TAIL = 200  # deeper candidate tails with at least this many trials join the region


def _union_tails(ys, choice, partner_size: int | None, c_max: int, b_range,
                 noise: float | None = None) -> list:
    """``(distribution, threshold)`` of every candidate tail deeper than the stability partner
    (fitted already) that holds at least ``UNION_MIN_TAIL`` trials, from the full global
    search, in lock step.

    ForwardStop keeps the largest tail its tests cannot reject. In a large search that tail can
    reach where the law already bends (the score saturates), while the tails inside it agree
    with it and with one another to within their noise: its fit is then biased by more than its
    interval is wide (session 18: best-possible coverage 0.79 at 10,000 synthetic trials). The
    region is the union over the nested tails below the partner too, so that the bias of the
    chosen one shows as width. Tails of fewer trials add width and no information; at 1,000
    trials few searches have one (docs/benchmarks.md, large searches). Tails whose fit fails
    are left out.
    """
    if partner_size is None:
        return []
    sizes = [int(k) for k in choice.candidates if UNION_MIN_TAIL <= k < partner_size]
    if not sizes:
        return []
    found = regime.fit_tails(ys, sizes, c_max=c_max, b_range=b_range, quick=False, noise=noise)
    return [f for f in found if not isinstance(f, Exception)]


def union_region(ys, choice, partner: int | None, c_max: int, b_range, critical,
                 noise: float | None = None) -> tuple:
    """``(low, high, fits)``: the ends of ``b`` over the regions of the deeper tails of many
    trials (:func:`_union_tails`) and their plausible fits, or
    ``(None, None, ())`` when there are none. A failure here only leaves the region as it was
    (logged at debug level)."""
    try:
        extra = _union_tails(ys, choice, partner, c_max, b_range, noise)
        if not extra:
            return None, None, ()
        profiles = [new_profile(ys, d, t, c_max, b_range, noise) for d, t in extra]
        found = profile_tails([(p, {}, {}, {}, False) for p in profiles], critical, b_range)
    except (TailstopError, ValueError, RuntimeError, ArithmeticError) as exc:
        logger.debug("the deeper tails' regions were not found: %s", exc)
        return None, None, ()
    lows, highs, fits = [], [], []
    for (dist, _), profile, (ends, _, _) in zip(extra, profiles, found, strict=True):
        plausible = [dist, *profile.plausible(critical)]
        lows += [ends[("b", -1.0)], *(d.b for d in plausible)]
        highs += [ends[("b", +1.0)], *(d.b for d in plausible)]
        fits += plausible
    return min(lows), max(highs), tuple(fits)


def profile_tails(jobs: list, critical, b_range) -> list:
    """For each ``(profile, guesses, guess_fits, guess_deviances, noise_ends)`` of ``jobs``
    (the profiles of different tails of one search): the profile ends of ``b`` (and of ``o``
    with ``noise_ends``) of ``profile``'s fit, and the fit inside the region where more trials
    gain least, as ``(ends, fits at the ends, deviances there)``. ``guesses``, ``guess_fits``
    and ``guess_deviances``: the ends, their fits and the deviances there before the latest
    trials (an update). The end searches of every profile run side by side
    (:func:`tailstop._lockstep.profile_ends`)."""
    searches = []
    for profile, guesses, guess_fits, guess_deviances, noise_ends in jobs:
        dist = profile.best_fit
        threshold = profile.limits[0]
        spread = max(
            dist.o,
            1e-3 * (dist.b - threshold if np.isfinite(threshold) else dist.b - dist.a),
            1e-12 * abs(dist.b),
        )
        o_step = max(0.3 * dist.o, 0.1 * spread)
        wanted = [("b", +1.0, spread, b_range[1]), ("b", -1.0, spread, b_range[0])]
        if noise_ends:
            wanted.append(("o", +1.0, o_step, np.inf))
            if dist.o > 0:
                wanted.append(("o", -1.0, o_step, 0.0))
        # The least-gain search (when the fit has noise) runs beside the end searches: it
        # needs the ends only to learn whether the noise's lower end reaches 0, and then its
        # result is left unused (the noiseless end takes its place, below). An update whose
        # previous estimate took the noiseless end searches as that one did: after the ends.
        others = {}
        if dist.o > 0 and (not guesses or ("least gain",) in guesses):
            key = ("least gain",)
            others[key] = _least_gain_search(
                profile, critical, guesses.get(key), guess_fits.get(key),
                (guess_deviances or {}).get(key),
            )
        searches.append((profile, {
            (name, direction): (name, critical, direction, step, limit, 0.02 * step,
                                guesses.get((name, direction)),
                                guess_fits.get((name, direction)))
            for name, direction, step, limit in wanted
        }, others))
    # the searches are independent of one another: each round makes their fits in lock step
    out = []
    for (profile, guesses, guess_fits, guess_deviances, _), found in zip(
        jobs, profile_ends(searches), strict=True
    ):
        lagrangian = (found.pop(("least gain",)),) if ("least gain",) in found else None
        ends, fits, deviances = {}, {}, {}
        for key, (value, end) in found.items():
            ends[key], (fits[key], deviances[key]) = value, end
        try:
            key, value = _least_gain_end(profile, critical, b_range, ends, fits, deviances,
                                         guesses, guess_fits, guess_deviances or {}, lagrangian)
        except (TailstopError, ValueError, ArithmeticError) as exc:
            # an extra fit for the gain's lower end only: without it the range is narrower
            logger.debug("the least-gain end of the region was not found: %s", exc)
        else:
            if value is not None:
                ends[key], (fits[key], deviances[key]) = value, profile.kept[-1]
        out.append((ends, fits, deviances))
    return out


def _least_gain_end(profile: Profile, critical, b_range, ends, fits, deviances, guesses,
                    guess_fits, guess_deviances, lagrangian=None):
    """``(key, value)`` of the fit inside the region where more trials gain least (kept last
    in ``profile``; value None when there is none): the noiseless law ending closest above the
    best score when the noise cannot be told from zero, else the Lagrangian least-gain fit
    (``lagrangian``: ``(result,)`` of its search made beside the ends, or None to make it)."""
    dist = profile.best_fit
    start, start_deviance = None, math.inf
    if dist.o == 0:
        start, start_deviance = dist, 0.0
    elif ends.get(("o", -1.0)) == 0.0:
        start, start_deviance = fits[("o", -1.0)], deviances[("o", -1.0)]
    best = float(profile.ys.max())
    if start is not None and float(start.o) == 0.0:
        key: tuple = ("noiseless", "b", -1.0)
        floor = max(best, b_range[0])
        return key, profile.noiseless_end(
            critical, start, start_deviance, floor, guesses.get(key), guess_fits.get(key)
        )
    key = ("least gain",)
    # (a search stopped when the noise's lower end reached 0, with no noiseless fit there to
    # start from after all, is made again, one fit at a time)
    if lagrangian is not None and not (lagrangian[0] is None and profile.noise_floor):
        found = lagrangian[0]
        if found is None:
            return key, None
        weight, end = found
        profile.kept.append(end)
        return key, weight
    return key, profile.least_gain_end(
        critical, best, float(profile.ys.size), guesses.get(key), guess_fits.get(key),
        guess_deviances.get(key),
    )


def _least_gain_search(profile: Profile, critical: float, guess, guess_fit, guess_deviance):
    """:meth:`Profile.least_gain_steps` from the best score over as many more trials as have
    run, as a search of :func:`tailstop._lockstep.profile_ends` (yielding
    ``("penalised", request)``); a search that fails returns None (logged at debug level)."""
    answer = steps = None
    while True:
        try:
            if steps is None:
                steps = profile.least_gain_steps(
                    critical, float(profile.ys.max()), float(profile.ys.size), guess,
                    guess_fit, guess_deviance,
                )
            request = steps.send(answer)
        except StopIteration as done:
            return done.value
        except (TailstopError, ValueError, ArithmeticError) as exc:
            # an extra fit for the gain's lower end only: without it the range is narrower
            logger.debug("the least-gain end of the region was not found: %s", exc)
            return None
        if profile.noise_floor:  # the noiseless end will take its place: no more fits
            steps.close()
            return None
        answer = yield ("penalised", request)


def least_best_fits(ys, dist, threshold: float, c_max: int, b_range, critical: float,
                    noise: float | None = None):
    """The fits inside the region of ``dist`` (the fit of the tail above ``threshold``) whose
    expected best of ``n`` and of ``4 n`` trials (``n = ys.size``) is least: the least-gain
    search of :meth:`Profile.least_gain_end` with the gain measured from the threshold (from
    the lowest score when the whole search is the tail). A failed search leaves its fit out
    (logged at debug level)."""
    floor = threshold if np.isfinite(threshold) else float(np.min(ys))
    found = []
    try:
        profile = new_profile(ys, dist, threshold, c_max, b_range, noise)
        for horizon in (ys.size, 4 * ys.size):
            if profile.least_gain_end(critical, floor, float(horizon)) is not None:
                found.append(profile.kept[-1][0])
    except (TailstopError, ValueError, ArithmeticError) as exc:
        # extra fits for the tuning curve's lower end only: without them the band is narrower
        logger.debug("the least-best fits of the tuning curve were not found: %s", exc)
    return tuple(found)


# On an update a c whose deviance is below this is refitted even when its previous fit is
# still inside the region: the estimate's local update can drift by a few tenths of a unit
# in a flat profile over c (0.15-0.33 measured), where another c then fits better.
CLOSE_RIVAL = 1.0


def _far_outside(critical: float) -> float:
    """A deviance this large is far outside the region: ``2 critical + 4``."""
    return 2.0 * critical + 4.0


def consistent_dimensions(
    profile: Profile,
    dist,
    critical: float,
    c_max: int,
    known: dict | None = None,
    known_fits: dict | None = None,
):
    """Every ``c`` whose profile deviance is below the chi-square critical value, the
    deviances found and the fits at them (``{c: deviance}``, ``{c: fit}``, for the next
    update).

    ``known``, ``known_fits``: deviances and fits from the estimate this one updates. A ``c``
    that was far outside the region there (deviance above ``_far_outside(critical)``) is not
    refitted: a deviance grows about in proportion to the trials, and an update reuses the
    threshold only within 10% more of them, too few to bring it back inside. The others
    start from their own fit then (with the screening starts that look better than it).
    On an update whose new trials all fell below the threshold (``profile.reuse_ends``) a
    ``c`` whose previous fit, evaluated on the new data, is still inside the region is
    consistent without a refit (its deviance recorded is then that upper bound).
    """
    known, known_fits = known or {}, known_fits or {}
    consistent, deviances, fits = [int(dist.c)], {int(dist.c): 0.0}, {int(dist.c): dist}
    stale: set = set()
    # the searches down and up in c are independent: their fits made together in lock step
    chains = run_searches({
        step: (profile,
               _dimension_chain(profile, dist, critical, c_max, step, known, known_fits, stale))
        for step in (-1, 1)
    })
    for step in (-1, 1):
        for c, deviance, fit, inside in chains[step]:
            deviances[c] = deviance
            if fit is not None:
                fits[c] = fit
            if inside:
                profile.kept.append((fit, deviance))
                consistent.append(c)
    # A close rival of the estimate is refitted all the same: in a flat profile over c it
    # may fit better than the estimate (whose update is a local search), which then moves to
    # it. Stale fits exist only when the tail is unchanged (the new trials fell below the
    # threshold and only the censored count grew), which moves the optimum within its basin:
    # a descent from each stale fit, with no screening starts, all in lock step.
    rivals = {c: fits[c] for c in sorted(stale) if deviances[c] < CLOSE_RIVAL}
    for rival, (fit, deviance) in profile.descend_each(rivals).items():
        if deviance < deviances[rival]:
            fits[rival], deviances[rival] = fit, deviance
            profile.kept.append((fit, deviance))
    return tuple(sorted(consistent)), deviances, fits


def _dimension_chain(profile: Profile, dist, critical: float, c_max: int, step: int,
                     known: dict, known_fits: dict, stale: set):
    """The search of :func:`consistent_dimensions` from ``dist``'s ``c`` in one direction
    (``step`` -1 or +1), one ``c`` at a time until one lies outside the region: a generator
    of fit requests (see :func:`tailstop._lockstep.run_searches`) that returns
    ``[(c, deviance, fit or None, inside the region)]``; ``stale`` collects the ``c`` whose
    previous fit stands unfitted."""
    found = []
    c, warm = int(dist.c) + step, dist
    while 1 <= c <= c_max:
        if known.get(c, 0.0) > _far_outside(critical):
            found.append((c, known[c], known_fits.get(c), False))
            break
        before = known_fits.get(c)
        if before is not None and int(before.c) == c:
            deviance = profile.deviance_of(before) if profile.reuse_ends else math.inf
            if deviance <= critical:
                # its fit before the latest trials is still inside the region: c is
                # consistent (refitting only lowers the deviance), no refit needed
                profile.fits.append((before, deviance))
                warm = before
                stale.add(c)
            else:
                # with the tail unchanged the optimum moves within its basin: a descent
                screen = False if profile.reuse_ends else "guarded"
                warm, deviance = yield ("fit", {"c": c}, before, screen)
        else:
            warm, deviance = yield ("fit", {"c": c}, warm, True)
        found.append((c, deviance, warm, deviance <= critical))
        if deviance > critical:
            break
        c += step
    return found

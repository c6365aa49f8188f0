"""Censored maximum-product-of-spacings fits of the (noisy) quadratic distribution.

The estimator, the handling of ties and censoring and the search box are opda 0.8.0's
(``opda.parametric``, ``fit``): grouped buckets with the ``n + 1`` pseudo-observation,
Ekström's scaling (see :mod:`tailstop._spacing`), ``a`` and ``b`` within a data-adaptive box
a few data ranges wide, ``o`` up to a fraction of the range, integer ``c`` in 1..10 and
both values of ``convex`` unless constrained.  opda searches the box with differential
evolution (4-40 s per fit); tailstop finds the same optimum or a better one, deterministically,
in milliseconds:

1. **Screen** (no CDF kernel call): for every allowed ``(convex, c)``, noise ratios
   ``s = o / (b - a)`` from the noiseless limit to the moment-matched normal and, for each,
   the ``(a, b)`` that put the extreme retained order statistics (or the censoring limits) at
   plotting positions from the Beta laws of their ranks (opda's initialisation idea, with
   more spread).  They are scored on a 24-bucket coarsening of the objective with the
   standard CDF interpolated in a table built once per process
   (:class:`~tailstop._spacing.StandardCdfTable`).
2. **Refine** the best start of each noise class of each ``(convex, c)`` that is within
   ``_SCREEN_MARGIN`` of the best start, on a 48-bucket coarsening (the same for both
   forms, so that their losses compare), by a batched trust-region Newton method
   (:class:`~tailstop._spacing.BatchedNewton`: all starts step together, one kernel call
   per ``c`` per step) in the nearly decoupled coordinates (best score, log width, log
   noise); searches that can no longer end near the best are dropped.
3. **Polish** the best candidate of each ``(convex, c)`` within ``_POLISH_MARGIN`` of the
   best on the full objective and keep the best.  With at most 64 buckets the objective is
   used as it is from step 2 on.

The margins are empirical: on the benchmark's data sets the winner's start was never more
than 0.022 above the best start, and the loss reached was never worse than opda's (also on
random truths: c in {1, 2, 3, 5, 8}, noise ratios 0 to 2, n from 8 to 200, censoring of
either or both tails, free ``convex``).

A warm start (the previous fit of a live search) refines the previous solution together with
the best screening start of each neighbouring ``c`` and the screening starts of its own ``c``
that score better than it, and falls back to the global search when a screening start of
another ``c`` scores better than the previous solution, or when the best refined ``c`` is a
neighbour with further values of ``c`` beyond it.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from tailstop._fitproblem import (
    C_MAX,
    C_MIN,
    _coordinates,
    _Problem,
    _setup,
    _validate_data,
)
from tailstop._spacing import (
    BatchedNewton,
    SearchCoordinates,
    SpacingObjective,
    StandardCdfTable,
)
from tailstop.errors import ConstraintError, FitError

__all__ = ["FitResult", "fit_noisy_quadratic", "fit_parameters", "fit_quadratic", "spacing_loss"]


# Screening noise ratios s = o / (b - a) (besides the noiseless limit and the normal one),
# and the classes (index -1: noiseless, 0..7: _NOISY_GRID, 8: normal) whose best starts are
# refined: ratios of one class tend to lead to the same local optimum.
_NOISY_GRID = np.array([1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0])
_NORMAL = _NOISY_GRID.size
_NOISE_OF_INDEX = np.r_[_NOISY_GRID, np.inf, 0.0]  # by noise index (-1 -> last)
_CLASS_OF_INDEX = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 0])  # by noise index (-1 -> last)
_QUANTILE_GRID = 1.0 / (1.0 + np.exp(-np.linspace(-14, 14, 100)))  # probabilities tabulated
_SCREEN_MARGIN = 0.03  # starts screened this far above the best are not refined
_POLISH_MARGIN = 3e-3  # coarse candidates this close to the best are polished
_MAX_POLISH = 3
_INWARD_STEP = 1e-5  # the width's step inward (log scale) testing an edge point's optimality


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters and the spacing loss at them (lower is better)."""

    a: float
    b: float
    c: int
    o: float
    convex: bool
    loss: float


# ---------------------------------------------------------------------------------------
# Screening


@functools.lru_cache(maxsize=1)
def _table() -> StandardCdfTable:
    """The standard CDF of every c at the screening noise ratios (built on first use)."""
    return StandardCdfTable(range(C_MIN, C_MAX + 1), _NOISY_GRID, _QUANTILE_GRID)


def _start_candidates(problem: _Problem, convex: bool, central_only: bool = False):
    """(a, b, o, c, noise index) of the screening starts of every allowed c at once.

    For each c and noise ratio s: the (a, b) that put y_min and y_max at the plotting
    positions, i.e. the standard form's quantiles there map onto them; for the first c also
    the normal through them (the normal limit is the same for every c, unless a or b is
    fixed: then for every c).
    """
    p_lo, p_hi = problem.plotting_positions
    if central_only:
        p_lo, p_hi = p_lo[:1], p_hi[:1]
    P = p_lo.size
    R, y_min, y_max = problem.scale, problem.y_min, problem.y_max
    cs = np.array(problem.cs)
    probs = np.r_[p_lo, p_hi] if convex else np.r_[1 - p_lo, 1 - p_hi]
    q = (probs[None, :] ** (2.0 / cs[:, None]))[:, None, :]  # noiseless quantiles
    noise_index = np.array([-1])
    noisy = problem.o_bounds[1] > 0
    if noisy:
        table = _table()
        rows = table.index(cs[:, None], np.arange(_NOISY_GRID.size)[None, :]).ravel()
        log_p = np.broadcast_to(np.log(probs), (rows.size, probs.size))
        quantiles = table.quantile(rows, log_p).reshape(cs.size, _NOISY_GRID.size, 2 * P)
        q = np.concatenate([q, quantiles], axis=1)
        noise_index = np.r_[noise_index, np.arange(_NOISY_GRID.size)]
    lo, hi = q[..., :P], q[..., P:]
    with np.errstate(divide="ignore", invalid="ignore"):
        if convex:
            w = R / (hi - lo)
            a = y_min - lo * w
            b = a + w
        else:
            w = R / (lo - hi)
            b = y_max + hi * w
            a = b - w
    o = _NOISE_OF_INDEX[noise_index][None, :, None] * w
    # A start whose far end lies outside the box (a small c with a small tail needs a wide
    # support) is moved onto the box's edge: outside it the search coordinates charge a
    # penalty that would rank it last, while the optimum may sit on that edge.
    a, b = np.clip(a, *problem.a_bounds), np.clip(b, *problem.b_bounds)
    c = np.broadcast_to(cs[:, None, None], w.shape)
    k = np.broadcast_to(noise_index[None, :, None], w.shape)
    a, b, o, c, k = (x.ravel() for x in (a, b, o, c, k))
    if noisy:
        z_lo, z_hi = ndtri(p_lo), ndtri(p_hi)
        sd = R / (z_hi - z_lo)
        mean = y_min - z_lo * sd
        fixed_end = problem.a_bounds[0] == problem.a_bounds[1] or (
            problem.b_bounds[0] == problem.b_bounds[1]
        )
        w = sd / 100.0  # o >> b - a: the normal limit
        for c0 in problem.cs if fixed_end else problem.cs[:1]:
            a_n = mean - w * (c0 / (c0 + 2.0) if convex else 2.0 / (c0 + 2.0))
            a, b, o = np.r_[a, a_n], np.r_[b, a_n + w], np.r_[o, sd]
            c, k = np.r_[c, np.full(P, c0)], np.r_[k, np.full(P, _NORMAL)]
    keep = np.isfinite(a) & np.isfinite(b) & (b > a)
    return a[keep], b[keep], o[keep], c[keep], k[keep]


def _screen_losses(objective: SpacingObjective, coords: SearchCoordinates, c, X):
    """Approximate losses of the starts X (of per-row c), all in one pass, no kernel call.

    G is interpolated in the table at the nearest tabulated noise ratio; below and above
    the tabulated ratios the noiseless and the moment-matched normal limits stand in.
    """
    a, b, o, penalty = coords.to_params(X)
    convex = coords.convex
    c = np.asarray(c, dtype=float)
    width = b - a
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = o / width
        noiseless = ratio < _NOISY_GRID[0] / 3
        normal = ~noiseless & ~(ratio < 3 * _NOISY_GRID[-1])
        noisy = ~noiseless & ~normal
        z = objective.z_finite
        G = np.empty((a.size, z.size))
        if noiseless.any():
            u = objective.standardised(a[noiseless], b[noiseless], convex)
            G[noiseless] = np.clip(u, 0.0, 1.0) ** (0.5 * c[noiseless, None])
        if noisy.any():
            table = _table()
            nearest = np.abs(np.log(ratio[noisy, None] / _NOISY_GRID)).argmin(axis=1)
            u = objective.standardised(a[noisy], b[noisy], convex)
            G[noisy] = np.exp(table.log_cdf(table.index(c[noisy].astype(int), nearest), u))
        if normal.any():
            cn, wn = c[normal, None], width[normal, None]
            mean = a[normal, None] + wn * (cn / (cn + 2.0) if convex else 2.0 / (cn + 2.0))
            sd = np.sqrt(o[normal, None] ** 2 + wn**2 * 4.0 * cn / ((cn + 2.0) ** 2 * (cn + 4.0)))
            G[normal] = ndtr((z - mean) / sd if convex else (mean - z) / sd)
    return objective.loss_from_standard(G, convex) + penalty


def _screen(problem: _Problem, coords: dict) -> list:
    """Starts (convex, c, x, screened loss): the best of each noise class of each (convex, c),
    those within ``_SCREEN_MARGIN`` of the best of all."""
    starts = []
    for convex in problem.convexs:
        cd = coords[convex]
        if cd.dimension == 0:
            starts += [(convex, c, np.zeros(0), 0.0) for c in problem.cs]
            continue
        a, b, o, c, k = _start_candidates(problem, convex)
        X = cd.from_params(a, b, o)
        losses = _screen_losses(problem.screen[convex], cd, c, X)
        group = c * 16 + _CLASS_OF_INDEX[k]
        finite = np.flatnonzero(np.isfinite(losses))
        if not finite.size:
            continue
        order = finite[np.lexsort((losses[finite], group[finite]))]
        first = order[np.r_[True, group[order][1:] != group[order][:-1]]]
        starts += [(convex, int(c[i]), X[i], float(losses[i])) for i in first]
    if starts and all(coords[cv].dimension for cv in problem.convexs):
        floor = min(k[3] for k in starts)
        starts = [k for k in starts if k[3] <= floor + _SCREEN_MARGIN]
    return starts


# ---------------------------------------------------------------------------------------
# Local searches


class _Batch:
    """Local searches from many starts of any (convex, c), stepped in lock step: one
    :class:`BatchedNewton` for all, one loss (hence kernel) call per (convex, c) per step."""

    def __init__(
        self,
        coords: dict,
        objectives: dict,
        starts: list,
        final: bool,
        hessians=None,
        ftol: float | None = None,
        margin_scale: float = 1.0,
    ):
        self.coords, self.objectives, self.final = coords, objectives, final
        self.margin_scale = margin_scale
        self.convex = np.array([k[0] for k in starts], dtype=bool)
        self.c = np.array([k[1] for k in starts], dtype=int)
        self.key = self.convex * (C_MAX + 1) + self.c  # one integer per (convex, c)
        lower = np.stack([coords[cv].lower for cv in self.convex])
        upper = np.stack([coords[cv].upper for cv in self.convex])
        # Tight on the objective of the result: 1e-9 in a loss of O(0.01-1) is below the
        # 1e-6 relative precision anyone needs; loose on a coarse one.
        tolerances = (1e-5, 1e-8, 1e-9) if final else (1e-4, 1e-6, 1e-8)
        step, xtol, default_ftol = (1e-5, *tolerances[1:]) if hessians is not None else tolerances
        ftol = default_ftol if ftol is None else max(ftol, default_ftol)
        self.newton = BatchedNewton(
            np.stack([k[2] for k in starts]),
            lower,
            upper,
            step=step,
            xtol=xtol,
            ftol=ftol,
            hessian=hessians,
        )

    def step(self) -> None:
        rows, points = self.newton.points()
        if not rows.size:
            return
        S, d = points.shape[1], points.shape[2]
        values = np.empty((rows.size, S))
        keys = self.key[rows]
        for key in np.unique(keys):
            group = keys == key
            convex, c = divmod(int(key), C_MAX + 1)
            flat = points[group].reshape(int(group.sum()) * S, d)
            values[group] = (
                self.coords[bool(convex)]
                .loss(self.objectives[bool(convex)], c, flat)
                .reshape(-1, S)
            )
        self.newton.update(rows, values)

    def run(
        self,
        max_iter: int,
        prune: bool = False,
        margins=(0.05, 0.025, 0.015, 0.01),
        model_from: int = 2,
    ) -> None:
        """Step until every search stops.  ``prune``: stop those above the best loss by a
        margin shrinking with the iterations (``margins``: for steps 0, 1, ..., the last
        for all later ones) and,
        from step ``model_from`` on, those whose Newton model (its predicted decrease
        inflated tenfold) cannot take them to the best (or within the polish margin of it,
        on a coarse objective) or past the best search of their own (convex, c)."""
        nt = self.newton
        scale = self.margin_scale
        for iteration in range(max_iter):
            self.step()
            if prune:
                best = nt.f.min()
                hopeless = nt.f > best + scale * margins[min(iteration, len(margins) - 1)]
                if iteration >= model_from:
                    with np.errstate(invalid="ignore"):  # inf - inf: already hopeless
                        reach = nt.f - 10 * nt.predicted
                    hopeless |= reach > best + (0.0 if self.final else scale * _POLISH_MARGIN)
                    group_best = np.full(self.key.max() + 1, np.inf)
                    np.minimum.at(group_best, self.key, nt.f)
                    behind = nt.f > group_best[self.key]
                    hopeless |= behind & (reach > group_best[self.key])
                    # A search close to its group's best one is in the same basin.
                    order = np.lexsort((nt.f, self.key))
                    first = np.concatenate([[True], self.key[order][1:] != self.key[order][:-1]])
                    leader = np.empty_like(order)
                    leader[order] = order[
                        np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
                    ]
                    near = np.abs(nt.x - nt.x[leader]).max(axis=1, initial=0.0) < 0.02
                    hopeless |= near & (leader != np.arange(order.size))
                nt.deactivate(np.flatnonzero(hopeless))
            if not nt.active.any():
                break

    def results(self) -> list:
        """(loss, convex, c, x, hessian) of every search with a finite loss."""
        nt = self.newton
        return [
            (float(nt.f[r]), bool(self.convex[r]), int(self.c[r]), nt.x[r], nt.hess[r])
            for r in range(len(nt.f))
            if np.isfinite(nt.f[r])
        ]


def _search(problem: _Problem, coords: dict | None = None, starts=None) -> FitResult:
    """Global search: screen every (convex, c), refine, polish (``starts``: the screen's
    result when already computed, with its ``coords``)."""
    if starts is None:
        coords = _coordinates(problem)
        starts = _screen(problem, coords)
    if not starts:
        raise FitError("the fit found no parameters with a finite spacing loss.")
    batch = _Batch(
        coords,
        problem.coarse,
        [k[:3] for k in starts],
        problem.final,
        margin_scale=problem.margin_scale,
    )
    batch.run(max_iter=30, prune=True)
    return _finish(problem, coords, batch.results())


def _warm_search(
    problem: _Problem,
    warm,
    fallback: bool = True,
    ftol: float | None = None,
    screen: bool | str = True,
    guides: Mapping | None = None,
) -> FitResult:
    """Local search from a previous fit (the same search before its last trials).

    Refines the previous parameters with the best screening start of each neighbouring c
    and those of the previous c that screen better than the previous parameters (the new
    data moved the optimum to another basin); if a screening start of another (convex, c)
    scores better than the previous parameters, or the best refined c is a neighbour with
    more c beyond it, the new data moved
    the optimum elsewhere and the global search runs (unless ``fallback`` is False: then the
    result is the best near the previous fit). ``screen=False`` (only without the fallback):
    no screening starts, only the previous parameters at the previous c and its neighbours,
    for a warm start that is already next to the optimum (the same profile point before
    the latest trials). ``screen="guarded"`` (only without the fallback): ``warm`` is the
    same fit before the latest trials, and ``guides`` (``{c: fit}``) the same search's fits
    at other c then; each c of the neighbourhood with a previous fit starts from it, and a
    screening start of that c joins only when the screen scores it better than the previous
    fit (the latest trials moved the optimum to another basin); a neighbour without one takes
    its best screening start.
    """
    convex = bool(warm.convex)
    coords = _coordinates(problem)
    if convex not in problem.convexs or coords[convex].dimension == 0:
        return _search(problem)
    cd = coords[convex]
    c_prev = min(problem.cs, key=lambda c: abs(c - int(warm.c)))
    near = {c_prev - 1, c_prev, c_prev + 1}
    x0, settled = _edge_start(problem, cd, convex, c_prev, warm)
    local = [(convex, c_prev, x0)]
    if fallback:
        reference = float(_screen_losses(problem.screen[convex], cd, [c_prev], x0[None])[0])
    # without the fallback only the neighbouring c are refined: screen only those
    screened = problem if fallback else dataclasses.replace(
        problem, cs=[c for c in problem.cs if c in near]
    )
    guarded = screen == "guarded" and not fallback
    references: dict[int, float] = {}
    if guarded:
        guide_x = {c_prev: x0}
        for c in sorted(near - {c_prev}):
            guide = (guides or {}).get(c)
            if c in problem.cs and guide is not None and bool(guide.convex) == convex:
                guide_x[c] = cd.from_params(guide.a, guide.b, getattr(guide, "o", 0.0))[0]
                local.append((convex, c, guide_x[c]))
        cs = sorted(guide_x)
        losses = _screen_losses(problem.screen[convex], cd, cs, np.stack([guide_x[c] for c in cs]))
        references = dict(zip(cs, losses.tolist(), strict=True))
    seen = set()
    if not (screen or fallback):
        local += [(convex, c, x0) for c in sorted(near - {c_prev}) if c in problem.cs]
        screened = None
    starts = _screen(screened, coords) if screened is not None else []
    for k in sorted(starts, key=lambda k: k[3]):
        if k[0] == convex and k[1] in near:
            if guarded and k[1] in references:
                if k[3] < references[k[1]]:
                    local.append(k[:3])
            # Without the fallback (a step along a profile), the previous c keeps a start per
            # noise class (the optimum may change basin as the profiled value moves) and its
            # neighbours only their best start.
            elif fallback:
                # a warm refit: the neighbouring c their best screening start, the previous c
                # those that screen better than the previous fit (the new data moved the
                # optimum to another basin)
                if (k[3] < reference) if k[1] == c_prev else k[1] not in seen:
                    local.append(k[:3])
            elif k[1] == c_prev or k[1] not in seen:
                local.append(k[:3])
            seen.add(k[1])
        elif fallback and k[3] < reference:
            return _search(problem)
    if fallback:
        objectives, final = problem.coarse, problem.final
    else:  # a step along a profile starts next to its optimum: no coarse stage and polish
        objectives, final = {cv: problem.objective for cv in coords}, True
    batch = _Batch(
        coords, objectives, local, final, ftol=ftol, margin_scale=problem.margin_scale
    )
    if settled is not None and not fallback:  # the loss of the full objective
        batch.newton.settle([0], [settled])
    # The previous optimum sets the pace: prune sooner and tighter than the global search.
    batch.run(max_iter=30, prune=True, margins=(0.02, 0.02, 0.01, 0.005), model_from=1)
    if not fallback:
        return _best(problem, coords, batch.results())
    found = batch.results()
    if found:
        # the best c is at the edge of the neighbourhood searched and the optimum may lie
        # beyond it (the previous fit was of other data, e.g. another tail): search globally
        c_best = min(found, key=lambda k: k[0])[2]
        if c_best != c_prev and 2 * c_best - c_prev in problem.cs:
            return _search(problem)
    if not problem.final:
        # the previous optimum of the full objective is nearer the new one than the coarse
        # objective's optimum is: polish from it when the coarse search stayed in its basin
        found = [
            (loss, cv, c, x0, hessian)
            if cv == convex and c == c_prev and np.abs(x - x0).max(initial=0.0) < 0.1
            else (loss, cv, c, x, hessian)
            for loss, cv, c, x, hessian in found
        ]
    return _finish(problem, coords, found, margin=1e-3 * problem.margin_scale, ftol=ftol)


def _best(problem: _Problem, coords: dict, found: list, what: str = "fit") -> FitResult:
    """The search result with the least loss, as a :class:`FitResult`."""
    if not found:
        raise FitError(f"the {what} found no parameters with a finite spacing loss.")
    _, convex, c, x, _ = min(found, key=lambda k: k[0])
    return _result(problem, coords[convex], convex, c, x)


def _finish(
    problem: _Problem,
    coords: dict,
    found: list,
    margin: float | None = None,
    ftol: float | None = None,
):
    """Polish the best candidate of each (convex, c) within ``margin`` of the best; return
    the best as a :class:`FitResult`."""
    if not found:
        raise FitError("the fit found no parameters with a finite spacing loss.")
    if margin is None:
        margin = _POLISH_MARGIN * problem.margin_scale
    found = sorted(found, key=lambda k: k[0])
    chosen, seen = [], set()
    for k in found:
        if k[0] <= found[0][0] + margin and k[1:3] not in seen:
            seen.add(k[1:3])
            chosen.append(k)
    chosen = chosen[:_MAX_POLISH]
    if not problem.final and coords[chosen[0][1]].dimension > 0:
        polish = _Batch(
            coords,
            {cv: problem.objective for cv in coords},
            [k[1:4] for k in chosen],
            True,
            hessians=np.stack([k[4] for k in chosen]),
            ftol=ftol,
        )
        polish.run(max_iter=20)
        chosen = polish.results() or chosen
    _, convex, c, x, _ = min(chosen, key=lambda k: k[0])
    return _result(problem, coords[convex], convex, c, x)


def _in_box(problem: _Problem, coords: SearchCoordinates, x) -> tuple[float, float, float]:
    """``(a, b, o)`` of the search point ``x``, exactly within the box (the coordinates'
    round trip can cross a bound by an ulp)."""
    a, b, o, _ = coords.to_params(np.asarray(x, float)[None])
    return (
        float(np.clip(a[0], *problem.a_bounds)),
        float(np.clip(b[0], *problem.b_bounds)),
        float(np.clip(o[0], *problem.o_bounds)),
    )


def _start_point(problem: _Problem, coords: SearchCoordinates, warm) -> np.ndarray:
    """Search coordinates of a previous fit ``warm``, its parameters clipped into the box."""
    return coords.from_params(
        float(np.clip(warm.a, *problem.a_bounds)),
        float(np.clip(warm.b, *problem.b_bounds)),
        float(np.clip(getattr(warm, "o", 0.0), *problem.o_bounds)),
    )[0]


def _edge_start(problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, warm,
                clip: bool = False) -> tuple[np.ndarray, float | None]:
    """Search coordinates to start a local search at ``c`` from a previous fit ``warm``
    (``clip``: its parameters clipped into the box first), and the loss there when the
    start is already the optimum (else None). A previous fit with its mass end on the box's
    edge (see :func:`_on_edge`) first slides along the edge of this problem's box to the
    best point there: from the edge's kink in the loss the trust-region descent would
    otherwise overshoot and crawl back for 5-10 steps. When the loss also rises inward
    from that point (a one-sided difference across the kink: the first-order condition of
    the box's bound), the slide's point is the local optimum and needs no descent at all:
    the descent's central differences straddle the kink, and its steps fail until they
    fall below the stencil's spacing (7 failed steps measured)."""
    if clip:
        x0 = _start_point(problem, coords, warm)
        a, b, o = _in_box(problem, coords, x0)
    else:
        a, b, o = float(warm.a), float(warm.b), float(getattr(warm, "o", 0.0))
        x0 = coords.from_params(a, b, o)[0]
    if not b > a:
        return x0, None
    # within 1% of the width: the box moves a little with the data (its width bound depends
    # on n); the slide is kept only if it lowers the loss
    better = _on_edge(problem, coords, convex, c, a, b, o, None, reach=0.01)
    if better is None:
        return x0, None
    x = coords.from_params(*better[:3])[0]
    inward = x.copy()
    inward[coords.names.index("width")] -= _INWARD_STEP
    at, inside = coords.loss(problem.objective, c, np.stack([x, inward]))
    return x, (float(at) if np.isfinite(at) and inside >= at else None)


def _result(problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, x) -> FitResult:
    a, b, o = _in_box(problem, coords, x)
    loss = float(problem.objective.loss(a, b, c, o, convex)[0])
    if o > problem.o_bounds[0]:
        # In the noiseless limit the loss flattens like o^2 and the search crawls towards
        # the lower bound of o: take the bound when it is at least as good.
        at_bound = float(problem.objective.loss(a, b, c, problem.o_bounds[0], convex)[0])
        if at_bound <= loss:
            o, loss = problem.o_bounds[0], at_bound
    if not np.isfinite(loss):
        raise FitError(f"the fit ended at parameters with a non-finite loss: {(a, b, c, o)}.")
    better = _on_edge(problem, coords, convex, c, a, b, o, loss)
    if better is not None:
        a, b, o, loss = better
    better = _tiny_noise(problem, coords, convex, c, a, b, o, loss)
    if better is not None:
        a, b, o, loss = better
    return FitResult(a, b, c, o, convex, loss)


def _on_edge(problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, a, b, o, loss,
             reach: float = 1e-3):
    """A fit that ended with its far ("mass") end on the box's edge (a small ``c`` fitted to
    a small tail wants a wider support than the box allows) lies where the search
    coordinates clip that end and charge a penalty beyond it: a kink, along which the
    descent crawls. Descend again with that end fixed on the edge (a smooth search over the
    best end and the noise). ``loss``: the fit's, or None to evaluate it (only when the fit
    is within ``reach`` widths of the edge). Returns the better ``(a, b, o, loss)`` or None."""
    if coords.mass_fixed or coords.dimension == 0:
        return None
    mass, bounds = (b, problem.b_bounds) if convex else (a, problem.a_bounds)
    edge = bounds[1] if convex else bounds[0]
    if not abs(mass - edge) <= reach * (b - a):
        return None
    if loss is None:  # evaluated only next to the edge (a warm start's check is on a hot path)
        loss = float(problem.objective.loss(a, b, c, o, convex)[0])
        loss = loss if np.isfinite(loss) else np.inf
    a_bounds, b_bounds = ((a, b), (edge, edge)) if convex else ((edge, edge), (a, b))
    a_bounds, b_bounds = (problem.a_bounds, b_bounds) if convex else (a_bounds, problem.b_bounds)
    try:
        fixed = SearchCoordinates(
            convex, a_bounds, b_bounds, problem.o_bounds, coords.anchor, coords.scale
        )
    except ConstraintError:
        return None
    x0 = fixed.from_params(a, b, o)[0]
    batch = _Batch({convex: fixed}, {convex: problem.objective}, [(convex, c, x0)], True)
    batch.run(max_iter=30)
    found = batch.results()
    if not found:
        return None
    a2, b2, o2, _ = fixed.to_params(found[0][3][None])
    a2, b2, o2 = float(a2[0]), float(b2[0]), float(np.clip(o2[0], *problem.o_bounds))
    loss2 = float(problem.objective.loss(a2, b2, c, o2, convex)[0])
    return (a2, b2, o2, loss2) if loss2 < loss else None


_TINY_RATIOS = np.array([1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3])


def _tiny_noise(problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, a, b, o, loss):
    """A fit that ended noiseless (below 1e-6 of the width) may have passed a shallow minimum
    at a noise of 1e-6 to 1e-3 of the width, around the screen's smallest ratio (1e-4): the
    loss is nearly flat in log o there and a trust-region step can jump over it. Probe those
    noises at the same ``a, b``; from a better one, descend. Returns the better
    ``(a, b, o, loss)`` or None."""
    width = b - a
    if not (problem.o_bounds[1] > problem.o_bounds[0] and width > 0):
        return None
    if o > _TINY_RATIOS[0] * width or coords.dimension == 0:
        return None
    noises = np.clip(_TINY_RATIOS * width, *problem.o_bounds)
    losses = problem.objective.loss(a, b, c, noises, convex)
    best = int(np.argmin(losses))
    if not losses[best] < loss - 1e-12:
        return None
    x0 = coords.from_params(a, b, float(noises[best]))[0]
    batch = _Batch({convex: coords}, {convex: problem.objective}, [(convex, c, x0)], True)
    batch.run(max_iter=30)
    found = batch.results()
    if not found:
        return None
    a2, b2, o2 = _in_box(problem, coords, found[0][3])
    loss2 = float(problem.objective.loss(a2, b2, c, o2, convex)[0])
    return (a2, b2, o2, loss2) if loss2 < loss else None


def _fit(ys, limits, constraints, noisy: bool, warm_start=None, quick=False) -> FitResult:
    problem = _setup(ys, limits, constraints, noisy)
    if quick:
        problem = dataclasses.replace(problem, quick=True)
    result = _search(problem) if warm_start is None else _warm_search(problem, warm_start)
    if result.c == 2 and len(problem.convexs) > 1:
        warnings.warn(
            "the fit found c = 2, where the convex and concave forms coincide, so convex "
            "is unidentifiable; fix it with constraints (convex=False when maximising).",
            RuntimeWarning,
            stacklevel=4,
        )
    return result


# ---------------------------------------------------------------------------------------
# Public API


def fit_parameters(
    ys,
    limits=(-np.inf, np.inf),
    constraints: Mapping | None = None,
    *,
    noisy: bool = True,
    warm_start=None,
    quick: bool = False,
) -> FitResult:
    """The censored-MPS estimate as a :class:`FitResult` (parameters and the loss at them).

    Same arguments and errors as :func:`fit_noisy_quadratic` (``noisy=True``) or
    :func:`fit_quadratic` (``noisy=False``); ``warm_start`` may be a distribution or a
    :class:`FitResult`. ``quick``: prune the searches with margins scaled to the uncensored
    share of the data (``_Problem.margin_scale``), for a heavily censored fit among many
    whose result feeds a test statistic rather than an estimate: ~40% less time on the
    threshold candidates of ``analyze``, at the risk of missing an optimum that a search
    reaches only from far behind.
    """
    return _fit(ys, limits, constraints, noisy, warm_start, quick)


def fit_local(
    ys,
    limits,
    constraints: Mapping | None,
    warm,
    final: bool = True,
    ftol: float | None = None,
) -> FitResult:
    """Newton descent from ``warm`` at its own c and convexity only: no screening, no other
    starts. For steps along a profile, where the previous point is the natural start.

    ``ftol``: the loss decrease below which the descent stops, when coarser than the
    default (a profile deviance ``2 (n + 1) dL`` needs ``dL`` only to ~1e-3 / (n + 1)).
    """
    problem = _setup(ys, limits, constraints, True)
    convex, c = bool(warm.convex), int(warm.c)
    coords = _coordinates(problem)
    if convex not in problem.convexs or c not in problem.cs or coords[convex].dimension == 0:
        return _warm_search(problem, warm, fallback=False, ftol=ftol)
    x0, settled = _edge_start(problem, coords[convex], convex, c, warm, clip=True)
    batch = _Batch(
        coords, {cv: problem.objective for cv in coords}, [(convex, c, x0)], final, ftol=ftol
    )
    if settled is not None:
        batch.newton.settle([0], [settled])
    batch.run(max_iter=30)
    return _best(problem, coords, batch.results(), "local fit")


def fit_near(
    ys,
    limits,
    constraints: Mapping | None,
    warm,
    ftol: float | None = None,
    screen: bool | str = True,
    guides: Mapping | None = None,
) -> FitResult:
    """The best noisy-quadratic fit near ``warm`` (its c and the neighbouring ones), without
    the global search: a step along a profile, where the previous point is close by.
    ``ftol`` as in :func:`fit_local`; ``screen=False``: descend only from ``warm``'s
    parameters (at its c and the neighbouring ones), when ``warm`` is the same constrained
    fit before a few more trials; ``screen="guarded"``: ``warm`` is that fit, and the
    neighbouring c start from their fits in ``guides`` (``{c: fit}``) when there are any;
    screening starts join only where the screen scores them better than those previous fits
    (see :func:`_warm_search`)."""
    return _warm_search(
        _setup(ys, limits, constraints, True),
        warm,
        fallback=False,
        ftol=ftol,
        screen=screen,
        guides=guides,
    )


def descend_each(
    ys, limits, constraints: Mapping | None, warms: list, ftol: float | None = None
) -> list[FitResult | None]:
    """For each previous fit in ``warms``, the descent from it at its own ``c`` and form
    (what :func:`fit_near` with ``screen=False`` and ``c`` fixed gives), all in lock step:
    one trust-region step serves every descent, and none prunes another (each is the fit at
    its own ``c``). ``constraints`` must allow every ``c`` of ``warms``. An entry is None
    where the descent found no finite loss (the caller refits that one on its own)."""
    problem = _setup(ys, limits, constraints, True)
    coords = _coordinates(problem)
    starts, settled = [], []
    for warm in warms:
        convex, c = bool(warm.convex), int(warm.c)
        if convex not in problem.convexs or c not in problem.cs:
            raise ConstraintError(f"the constraints exclude the previous fit's c = {c}.")
        if coords[convex].dimension == 0:
            raise ConstraintError("no free parameter: nothing to descend over.")
        x0, loss = _edge_start(problem, coords[convex], convex, c, warm)
        starts.append((convex, c, x0))
        settled.append(loss)
    if not starts:
        return []
    batch = _Batch(coords, {cv: problem.objective for cv in coords}, starts, True, ftol=ftol)
    rows = [i for i, loss in enumerate(settled) if loss is not None]
    if rows:
        batch.newton.settle(rows, [settled[i] for i in rows])
    batch.run(max_iter=30)
    nt = batch.newton
    return [
        _result(problem, coords[convex], convex, c, nt.x[i]) if np.isfinite(nt.f[i]) else None
        for i, (convex, c, _) in enumerate(starts)
    ]


def fit_if_better(
    ys,
    limits,
    constraints: Mapping | None,
    than,
    cs=None,
    margin: float = _SCREEN_MARGIN,
) -> FitResult | None:
    """The global fit under ``constraints`` over the values ``cs`` of c (default: all
    allowed), or None when no screening start comes within ``margin`` of ``than``'s own
    screened loss: the test the global search applies before refining a start, so None
    means the global search would not have preferred any of them either. A cheap check of
    the values of ``c`` that a local search from ``than`` does not reach."""
    problem = _setup(ys, limits, constraints, True)
    if cs is not None:
        wanted = set(cs)
        problem = dataclasses.replace(problem, cs=[c for c in problem.cs if c in wanted])
        if not problem.cs:
            return None
    coords = _coordinates(problem)
    convex = bool(than.convex)
    if convex not in problem.convexs or coords[convex].dimension == 0:
        return _search(problem)
    cd = coords[convex]
    x = cd.from_params(than.a, than.b, getattr(than, "o", 0.0))
    reference = float(_screen_losses(problem.screen[convex], cd, [int(than.c)], x)[0])
    starts = _screen(problem, coords)
    if not starts or min(k[3] for k in starts) > reference + margin:
        return None
    return _search(problem, coords, starts)


def fit_noisy_quadratic(
    ys,
    limits=(-np.inf, np.inf),
    constraints: Mapping | None = None,
    *,
    generator: np.random.Generator | None = None,
    warm_start=None,
):
    """Fit a :class:`~tailstop.distributions.NoisyQuadraticDistribution` by censored MPS.

    Minimises the spacing loss of :func:`spacing_loss` over ``a, b, o`` (continuous, within
    opda's data-adaptive box and the constraints), ``c`` (integers) and ``convex``.

    Parameters
    ----------
    ys : 1-D array of floats
        The scores, at least 3.  NaN is rejected; +-inf only where ``limits`` censor it.
    limits : (lower, upper)
        The left-open interval ``(lower, upper]`` of uncensored observations: those
        ``<= lower`` or ``> upper`` count only as being beyond the limit.  Maximising, pass
        ``(threshold, inf)``; minimising, ``(-inf, threshold)``.
    constraints : mapping, optional
        Keys ``a``, ``b``, ``c``, ``o``: a number fixes the parameter, a pair ``(lo, hi)``
        bounds it (``c``: integers in 1..10); ``convex``: a bool or a list of bools (by
        default both are fitted and the better wins; fix it by the direction of the search).
    generator : numpy Generator, optional
        Accepted for opda compatibility; the search is deterministic and does not use it.
    warm_start : NoisyQuadraticDistribution or FitResult, optional
        A previous fit (e.g. before the last trials of a live search): the search starts
        from it and falls back to the global search when the data moved the optimum.

    Returns
    -------
    NoisyQuadraticDistribution

    Raises
    ------
    NotEnoughTrials
        Fewer than 3 observations.
    InvalidDataError
        NaN, uncensored +-inf, no uncensored observation, ``ys`` not 1-D, bad ``limits``.
    ConstraintError
        Unknown keys, malformed or infeasible constraints.
    FitError
        No parameters with a finite loss.
    """
    from tailstop.distributions import NoisyQuadraticDistribution

    r = _fit(ys, limits, constraints, True, warm_start)
    return NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=r.convex)


def fit_quadratic(
    ys,
    limits=(-np.inf, np.inf),
    constraints: Mapping | None = None,
    *,
    generator: np.random.Generator | None = None,
    warm_start=None,
):
    """Fit a :class:`~tailstop.distributions.QuadraticDistribution` (noiseless) by censored MPS.

    As :func:`fit_noisy_quadratic` with ``o = 0``: ``a`` stays at or below the least and
    ``b`` at or above the greatest retained observation (or censoring limit), and the outer
    break points are the lowest allowed ``a`` and the highest allowed ``b`` (as in opda).
    Constraint keys: ``a``, ``b``, ``c``, ``convex``.
    """
    from tailstop.distributions import QuadraticDistribution

    r = _fit(ys, limits, constraints, False, warm_start)
    return QuadraticDistribution(r.a, r.b, r.c, convex=r.convex)


def spacing_loss(
    ys,
    limits,
    a: float,
    b: float,
    c: int,
    o: float = 0.0,
    convex: bool = False,
    *,
    support=(-np.inf, np.inf),
) -> float:
    """The censored spacing loss of ``NQ(a, b, c, o, convex)`` on ``ys`` (lower is better).

    ``L = -(1/(n+1)) sum_l k_l log((F(z_l) - F(z_{l-1})) (n+1) / k_l)`` over opda's buckets
    (see :mod:`tailstop._spacing`); minus L is the objective the fit maximises.  It scores
    any parameters, e.g. opda's fit against tailstop's.  ``support``: the outer break points;
    opda uses the lowest allowed ``a`` and the highest allowed ``b`` when ``o`` is fixed to
    0, which changes nothing unless an observation equals one of them.
    """
    array, lower, upper = _validate_data(ys, limits)
    objective = SpacingObjective(array, (lower, upper), support)
    return float(objective.loss(a, b, int(c), o, bool(convex))[0])

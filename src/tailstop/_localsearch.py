"""Local searches from a previous fit (private): the update of a live search's fit, the
steps along a profile, and the descents of several ``c`` in lock step.

A warm start (the previous fit of a live search) refines the previous solution together with
the best screening start of each neighbouring ``c`` and the screening starts of its own ``c``
that score better than it, on the full objective (no coarse stage), and falls back to the
global search (:mod:`tailstop._globalsearch`) when a screening start of another ``c`` scores
better than the previous solution, or when the best refined ``c`` is a neighbour with further
values of ``c`` beyond it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np

from tailstop._fitproblem import _coordinates, _Problem, _setup
from tailstop._globalsearch import (
    _SCREEN_MARGIN,
    FitResult,
    _Batch,
    _best,
    _in_box,
    _on_edge,
    _result,
    _screen,
    _screen_losses,
    _screen_memo,
    _search,
)
from tailstop._spacing import SearchCoordinates
from tailstop.errors import ConstraintError

_INWARD_STEP = 1e-5  # the width's step inward (log scale) testing an edge point's optimality


def _warm_search(
    problem: _Problem,
    warm,
    fallback: bool = True,
    ftol: float | None = None,
    screen: bool | str = True,
    guides: Mapping | None = None,
) -> FitResult:
    """Local search from a previous fit (the same search before its last trials).

    Refines the previous parameters with the best screening start of each neighbouring c and
    those of the previous c that screen better than the previous parameters (the new data
    moved the optimum to another basin); if a screening start of another (convex, c) scores
    better than the previous parameters, or the best refined c is a neighbour with more c
    beyond it, the new data moved the optimum elsewhere and the global search runs (unless
    ``fallback`` is False: then the result is the best near the previous fit).
    ``screen=False`` (only without the fallback): no screening starts, only the previous
    parameters at the previous c and its neighbours, for a warm start that is already next
    to the optimum (the same profile point before the latest trials). ``screen="guarded"``
    (only without the fallback): ``warm`` is the same fit before the latest trials, and
    ``guides`` (``{c: fit}``) the same search's fits at other c then; each c of the
    neighbourhood with a previous fit starts from it, and a screening start of that c joins
    only when the screen scores it better than the previous fit (the latest trials moved the
    optimum to another basin); a neighbour without one takes its best screening start.
    """
    prepared = _warm_starts(problem, warm, fallback, screen, guides)
    if prepared is None:
        return _search(problem)
    coords, c_prev, local, settled, memo = prepared
    # The starts are next to their optima (the previous fit, a step along a profile) or
    # screened better than the previous fit: they descend on the full objective, with no
    # coarse stage and polish (a coarse stage would first move the previous optimum to the
    # coarse objective's, and the polish back).
    objectives = {cv: problem.objective for cv in coords}
    # (a warm refit's; the steps along profiles keep their descents those of descend_each)
    hessians, age = (
        _previous_curvature(warm, coords[local[0][0]].dimension, len(local))
        if fallback else (None, None)
    )
    batch = _Batch(coords, objectives, local, True, hessians=hessians, ftol=ftol,
                   margin_scale=problem.margin_scale)
    if settled is not None:
        batch.newton.settle([0], [settled])
    # The previous optimum sets the pace: prune sooner and tighter than the global search.
    batch.run(max_iter=30, prune=True, margins=(0.02, 0.02, 0.01, 0.005), model_from=1,
              after_step=functools.partial(_after_step, basin=fallback))
    found = batch.results()
    if fallback and batch.newton.correlation is None:  # the last Hessians measured in full
        age = 0
    if fallback and found:
        # the best c is at the edge of the neighbourhood searched and the optimum may lie
        # beyond it (the previous fit was of other data, e.g. another tail): search globally
        c_best = min(found, key=lambda k: k[0])[2]
        if c_best != c_prev and 2 * c_best - c_prev in problem.cs:
            return _search(problem)
    result = _best(problem, coords, found, age=age,
                   settled=local[0][2] if settled is not None else None)
    return dataclasses.replace(result, screen=memo) if memo is not None else result


_CURVATURE_AGE = 3  # searches a Hessian's mixed terms serve before they are measured again


def _previous_curvature(warm, dimension: int, starts: int):
    """``(hessians, age)`` for the warm refit's searches: the previous fit's Hessian for
    every start, whose correlations (the mixed terms) the Newton model keeps while the
    finite differences measure only the diagonal (a stencil of ``1 + 2d`` points instead of
    ``1 + 2d + d(d - 1)``); a few more observations barely move them. ``(None, 0)``, i.e.
    measure them, when the previous fit has none or they have served ``_CURVATURE_AGE``
    searches."""
    curvature = getattr(warm, "curvature", None) or getattr(warm, "_fit_curvature", None)
    if curvature is None or dimension < 2:
        return None, 0
    hessian, age = curvature
    hessian = np.asarray(hessian, dtype=float)
    usable = (
        age < _CURVATURE_AGE
        and hessian.shape == (dimension, dimension)
        and np.isfinite(hessian).all()
        and (np.diagonal(hessian) > 0.0).all()
    )
    if not usable:
        return None, 0
    return np.broadcast_to(hessian, (starts, dimension, dimension)).copy(), age + 1


_BASIN_PROBES = np.array([0.25, 0.5, 0.75, 1.0])


def _after_step(batch, iteration: int, basin: bool) -> None:
    """After a warm refit's first step, with ``basin``: stop the searches that run into the
    previous optimum's basin (:func:`_same_basin`). After its second: the previous
    Hessian's mixed terms served the steps from the previous optimum and at the first step's
    point, where most refits (one more observation) end; the later steps measure them (a
    model that is only nearly right costs steps near the new optimum when it is farther)."""
    if iteration == 0 and basin:
        _same_basin(batch)
    elif iteration == 1:
        batch.newton.measure_mixed()


def _same_basin(batch) -> None:
    """Stop the searches of a warm refit that run downhill into the previous optimum's basin.

    Row 0 starts at the previous optimum; the others are screening starts of the previous
    c that screened better than it. After their first Newton step, a start whose step's
    target ``x_k`` is joined to the previous optimum ``x_0`` by a straight path along which
    the loss falls all the way to ``x_0`` (at ``x_0 + t (x_k - x_0)``, t = 1, 3/4, 1/2, 1/4)
    would only descend into that basin again: it stops there. Any rise on the path (another
    basin, or a saddle between) leaves it searching.
    """
    nt = batch.newton
    key = batch.key
    rows = np.flatnonzero(nt.active & (key == key[0]) & (np.arange(key.size) > 0))
    if rows.size == 0 or not np.isfinite(nt.f[0]):
        return
    x0 = nt.x[0]
    points = x0 + _BASIN_PROBES[None, :, None] * (nt.trial[rows] - x0)[:, None, :]
    convex = bool(batch.convex[0])
    flat = points.reshape(-1, points.shape[-1])
    c = np.full(flat.shape[0], batch.c[0])
    values = batch.coords[convex].loss(batch.objectives[convex], c, flat).reshape(rows.size, -1)
    path = np.concatenate([np.full((rows.size, 1), nt.f[0]), values], axis=1)
    with np.errstate(invalid="ignore"):  # (inf - inf on a path through an infinite loss)
        downhill = np.isfinite(path).all(axis=1) & (np.diff(path, axis=1) >= 0.0).all(axis=1)
    nt.deactivate(rows[downhill])


def _warm_starts(problem: _Problem, warm, fallback: bool, screen: bool | str,
                 guides: Mapping | None):
    """The starts of :func:`_warm_search`: ``(coords, c, starts, settled loss of the first
    start or None, screen memo)``, or None when the global search must run instead."""
    convex = bool(warm.convex)
    coords = _coordinates(problem)
    if convex not in problem.convexs or coords[convex].dimension == 0:
        return None
    cd = coords[convex]
    c_prev = min(problem.cs, key=lambda c: abs(c - int(warm.c)))
    near = {c_prev - 1, c_prev, c_prev + 1}
    # a settled start's loss is that of the full objective: of use only without the fallback
    x0, settled = _edge_start(problem, cd, convex, c_prev, warm, settle=not fallback)
    local = [(convex, c_prev, x0)]
    # without the fallback only the neighbouring c are refined: screen only those
    screened: _Problem | None = problem if fallback else dataclasses.replace(
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
    memo = None
    if screened is None:
        starts = []
    elif fallback:
        # a warm refit: its previous fit's screen serves a few more observations, and the
        # previous fit's own screened loss is the reference its starts must beat
        memo = getattr(warm, "screen", None) or getattr(warm, "_fit_screen", None)
        starts, memo, reference = _screen_memo(
            screened, coords, memo, probe=(convex, c_prev, x0)
        )
    else:
        starts = _screen(screened, coords)
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
            return None  # (a new screen)
    return coords, c_prev, local, settled, memo


def _start_point(problem: _Problem, coords: SearchCoordinates, warm) -> np.ndarray:
    """Search coordinates of a previous fit ``warm``, its parameters clipped into the box."""
    return coords.from_params(
        float(np.clip(warm.a, *problem.a_bounds)),
        float(np.clip(warm.b, *problem.b_bounds)),
        float(np.clip(getattr(warm, "o", 0.0), *problem.o_bounds)),
    )[0]


def _edge_start(problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, warm,
                clip: bool = False, settle: bool = True) -> tuple[np.ndarray, float | None]:
    """Search coordinates to start a local search at ``c`` from a previous fit ``warm``
    (``clip``: its parameters clipped into the box first), and the loss there when the
    start is already the optimum (else None). A previous fit with its mass end on the box's
    edge (see :func:`_on_edge`) first slides along the edge of this problem's box to the
    best point there: from the edge's kink in the loss the trust-region descent would
    otherwise overshoot and crawl back for 5-10 steps. When the loss also rises inward
    from that point (a one-sided difference across the kink: the first-order condition of
    the box's bound), the slide's point is the local optimum and needs no descent at all:
    the descent's central differences straddle the kink, and its steps fail until they
    fall below the stencil's spacing (7 failed steps measured). ``settle=False``: the caller
    cannot use a settled start (its loss is the full objective's), so the check is skipped."""
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
    if not settle:
        return x, None
    inward = x.copy()
    inward[coords.names.index("width")] -= _INWARD_STEP
    at, inside = coords.loss(problem.objective, c, np.stack([x, inward]))
    return x, (float(at) if np.isfinite(at) and inside >= at else None)


def _with_tolerance(problem: _Problem, ftol: float | None) -> _Problem:
    """``problem`` whose searches, the checks of its results included (the box's edge, tiny
    noises), stop at the caller's ``ftol`` (None: their default)."""
    return problem if ftol is None else dataclasses.replace(problem, tolerance=ftol)


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
    problem = _with_tolerance(_setup(ys, limits, constraints, True), ftol)
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
    return _best(problem, coords, batch.results(), "local fit",
                 settled=x0 if settled is not None else None)


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
        _with_tolerance(_setup(ys, limits, constraints, True), ftol),
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
    problem = _with_tolerance(_setup(ys, limits, constraints, True), ftol)
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
        _result(problem, coords[convex], convex, c, nt.x[i],
                edge_settled=settled[i] is not None and np.array_equal(nt.x[i], x0))
        if np.isfinite(nt.f[i]) else None
        for i, (convex, c, x0) in enumerate(starts)
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

"""Several local fits of the same data in lock step (private): the first fits of a profile's
interval ends, which are independent of one another.

Each fit is what :func:`tailstop._localsearch.fit_near` (``screen=True``) or
:func:`tailstop._localsearch.fit_local` gives on its own: the same starts, the same trust-region
steps, each fit's searches pruned only against one another. They share one
:class:`~tailstop._newton.BatchedNewton` and one loss (hence kernel) call per form and step,
which on a small tail is most of a step's cost.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from tailstop._fitproblem import C_MAX, _coordinates, _setup
from tailstop._globalsearch import _Batch, _best
from tailstop._localsearch import _edge_start, _warm_starts, fit_local, fit_near
from tailstop._newton import BatchedNewton
from tailstop.errors import ConstraintError, FitError

# fit_near's pruning (see _warm_search): the previous optimum sets the pace
_NEAR_MARGINS = (0.02, 0.02, 0.01, 0.005)


class _GroupBatch(_Batch):
    """The searches of several fits of one objective, with coordinates of their own (each
    fit's box), stepped together; each fit's searches are pruned among themselves only, and
    those of a fit marked ``unpruned`` not at all."""

    def __init__(self, objective, members: list, ftol: float | None):
        # members: (coords by form, starts (convex, c, x), pruned) per fit
        self.objective, self.final, self.margin_scale = objective, True, 1.0
        self.coords = self.objectives = None
        rows = [(g, *start) for g, (_, starts, _) in enumerate(members) for start in starts]
        self.group = np.array([r[0] for r in rows], dtype=int)
        self.convex = np.array([r[1] for r in rows], dtype=bool)
        self.c = np.array([r[2] for r in rows], dtype=int)
        self.key = (self.group * 2 + self.convex) * (C_MAX + 1) + self.c
        self.unpruned = np.array([not members[g][2] for g in self.group], dtype=bool)
        self.row_coords = [members[g][0][bool(cv)] for g, cv in zip(self.group, self.convex,
                                                                      strict=True)]
        self.newton = BatchedNewton(
            np.stack([r[3] for r in rows]),
            np.stack([cd.lower for cd in self.row_coords]),
            np.stack([cd.upper for cd in self.row_coords]),
            step=1e-5,
            xtol=1e-8,
            ftol=1e-9 if ftol is None else max(ftol, 1e-9),
        )

    def step(self) -> None:
        rows, points = self.newton.points()
        if not rows.size:
            return
        S, d = points.shape[1], points.shape[2]
        values = np.empty((rows.size, S))
        for convex in (False, True):
            chosen = np.flatnonzero(self.convex[rows] == convex)
            if not chosen.size:
                continue
            # each fit's rows through its own coordinates, then one loss call for all
            order, params = [], []
            for g in np.unique(self.group[rows[chosen]]):
                mine = chosen[self.group[rows[chosen]] == g]
                coords = self.row_coords[rows[mine[0]]]
                order.append(mine)
                params.append(coords.to_params(points[mine].reshape(mine.size * S, d)))
            order = np.concatenate(order)
            a, b, o = (np.concatenate([p[k] for p in params]) for k in range(3))
            penalty = np.concatenate(
                [np.broadcast_to(p[3], p[0].shape) for p in params]
            )
            c = np.repeat(self.c[rows[order]], S)
            loss = self.objective.loss(a, b, c, o, convex) + penalty
            values[order] = loss.reshape(order.size, S)
        self.newton.update(rows, values)

    def results_of(self, g: int) -> list:
        """:meth:`results` of fit ``g``."""
        nt = self.newton
        return [
            (float(nt.f[r]), bool(self.convex[r]), int(self.c[r]), nt.x[r], nt.hess[r])
            for r in np.flatnonzero(self.group == g)
            if np.isfinite(nt.f[r])
        ]


def fit_each(ys, limits, requests: list, ftol: float | None = None) -> list:
    """For each request ``(constraints, warm, local)``: :func:`fit_local` (``local``) or
    :func:`fit_near` with ``screen=True`` of ``ys`` under ``constraints`` from ``warm``, with
    ``ftol``, all in lock step. Each entry is the :class:`FitResult`, or the
    :class:`ConstraintError` or :class:`FitError` that fit raises."""
    out: list = [None] * len(requests)
    prepared: dict[tuple, list] = {}
    for i, (constraints, warm, local) in enumerate(requests):
        try:
            member = _member(ys, limits, constraints, warm, local)
        except (ConstraintError, FitError) as exc:
            out[i] = exc
            continue
        if member is None:  # an edge case the lone fit handles (e.g. no free parameter)
            try:
                single = fit_local if local else fit_near
                out[i] = single(ys, limits, constraints, warm, ftol=ftol)
            except (ConstraintError, FitError) as exc:
                out[i] = exc
            continue
        objective = member[0].objective
        key = (member[2][0][2].size, id(objective))  # one batch per dimension and objective
        prepared.setdefault(key, [objective]).append((i, *member))
    for objective, *group in prepared.values():
        batch = _GroupBatch(objective, [(m[2], m[3], not m[5]) for m in group], ftol)
        first = 0
        for m in group:
            if m[4] is not None:
                batch.newton.settle([first], [m[4]])
            first += len(m[3])
        batch.run(max_iter=30, prune=True, margins=_NEAR_MARGINS, model_from=1)
        for g, (i, problem, coords, _, _, local) in enumerate(group):
            try:
                what = "local fit" if local else "fit"
                out[i] = _best(problem, coords, batch.results_of(g), what)
            except FitError as exc:
                out[i] = exc
    return out


def _member(ys, limits, constraints: Mapping, warm, local: bool):
    """``(problem, coords, starts, settled loss of the first start or None, local)`` of a
    request, as its own fit would start; None when that fit would not descend from them."""
    problem = _setup(ys, limits, constraints, True)
    coords = _coordinates(problem)
    convex = bool(warm.convex)
    if local:
        c = int(warm.c)
        if convex not in problem.convexs or c not in problem.cs or not coords[convex].dimension:
            return None
        x0, settled = _edge_start(problem, coords[convex], convex, c, warm, clip=True)
        return problem, coords, [(convex, c, x0)], settled, True
    prepared = _warm_starts(problem, warm, False, True, None)
    if prepared is None:
        return None
    coords, _, starts, settled, _ = prepared
    return problem, coords, starts, settled, False

"""Independent fits in lock step (private): the fits of a profile's interval-end searches,
which run side by side (:meth:`tailstop._profile.Profile.ends`, :func:`fit_each`), and the
global searches of the threshold's candidate tails (:func:`search_each`).

Each fit is what it would be on its own (:func:`tailstop._localsearch.fit_near` with
``screen`` True or False, :func:`tailstop._localsearch.fit_local`,
:func:`tailstop._globalsearch._search`): the same starts, the same trust-region steps, each
fit's searches pruned only against one another. They share one
:class:`~tailstop._newton.BatchedNewton` and one kernel call per form and step
(:func:`tailstop._spacing.losses`), which on a small tail is most of a step's cost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from tailstop._fitproblem import C_MAX, _coordinates, _setup
from tailstop._globalsearch import (
    _Batch,
    _best,
    _best_polished,
    _newton,
    _polish_choice,
    _screen_memo,
    _search,
)
from tailstop._localsearch import (
    _edge_start,
    _warm_starts,
    _with_tolerance,
    fit_local,
    fit_near,
)
from tailstop._spacing import losses
from tailstop.errors import ConstraintError, FitError

# fit_near's pruning (see _warm_search): the previous optimum sets the pace
_NEAR_MARGINS = (0.02, 0.02, 0.01, 0.005)


class _GroupBatch(_Batch):
    """The searches of several fits, each with coordinates (its box), an objective and a
    pruning scale of its own, stepped together; each fit's searches are pruned among
    themselves only, and those of a fit marked unpruned not at all. One loss call per form
    and objective per step (fits of the same data share it)."""

    def __init__(self, members: list, ftol: float | None, final: bool = True, hessians=None):
        # members: (coords by form, starts (convex, c, x), pruned, objective, margin scale)
        rows = [(g, *start) for g, member in enumerate(members) for start in member[1]]
        self.final, self.coords, self.objectives = final, None, None
        self.group = np.array([r[0] for r in rows], dtype=int)
        self.convex = np.array([r[1] for r in rows], dtype=bool)
        self.c = np.array([r[2] for r in rows], dtype=int)
        self.key = (self.group * 2 + self.convex) * (C_MAX + 1) + self.c
        self.unpruned = np.array([not members[g][2] for g in self.group], dtype=bool)
        self.margin_scale = np.array([members[g][4] for g in self.group], dtype=float)
        self.row_coords = [members[g][0][bool(cv)] for g, cv in zip(self.group, self.convex,
                                                                      strict=True)]
        self.row_objective = [members[g][3] for g in self.group]
        self.newton = _newton(
            np.stack([r[3] for r in rows]),
            np.stack([cd.lower for cd in self.row_coords]),
            np.stack([cd.upper for cd in self.row_coords]),
            final,
            ftol,
            hessians,
        )

    def _losses(self, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        S, d = points.shape[1], points.shape[2]
        values = np.empty((rows.size, S))
        for convex in (False, True):
            # each fit's rows through its own coordinates, then one kernel call for all
            sets, order = [], []
            for g in np.unique(self.group[rows]):
                part = np.flatnonzero((self.group[rows] == g) & (self.convex[rows] == convex))
                if not part.size:
                    continue
                first = rows[part[0]]
                a, b, o, penalty = self.row_coords[first].to_params(
                    points[part].reshape(part.size * S, d)
                )
                c = np.repeat(self.c[rows[part]], S)
                sets.append((self.row_objective[first], a, b, c, o))
                order.append((part, penalty))
            for (part, penalty), loss in zip(order, losses(sets, convex), strict=True):
                values[part] = (loss + penalty).reshape(part.size, S)
        return values

    def results_of(self, g: int) -> list:
        """:meth:`results` of fit ``g``."""
        nt = self.newton
        return [
            (float(nt.f[r]), bool(self.convex[r]), int(self.c[r]), nt.x[r], nt.hess[r])
            for r in np.flatnonzero(self.group == g)
            if np.isfinite(nt.f[r])
        ]


def fit_each(ys, limits, requests: list, ftol: float | None = None) -> list:
    """For each request ``(constraints, warm, local, screen)``: :func:`fit_local` (``local``)
    or :func:`fit_near` with ``screen`` (True or False) of ``ys`` under ``constraints`` from
    ``warm``, with ``ftol``, all in lock step. Each entry is the :class:`FitResult`, or the
    :class:`ConstraintError` or :class:`FitError` that fit raises."""
    return fit_all([(ys, limits, *request) for request in requests], ftol)


def fit_all(requests: list, ftol: float | None = None) -> list:
    """:func:`fit_each` of requests ``(ys, limits, constraints, warm, local, screen)``, each
    with data of its own (the profiles of several tails side by side)."""
    out: list = [None] * len(requests)
    prepared: dict[int, list] = {}
    for i, (ys, limits, constraints, warm, local, screen) in enumerate(requests):
        try:
            member = _member(ys, limits, constraints, warm, local, screen, ftol)
        except (ConstraintError, FitError) as exc:
            out[i] = exc
            continue
        if member is None:  # an edge case the lone fit handles (e.g. no free parameter)
            try:
                if local:
                    out[i] = fit_local(ys, limits, constraints, warm, ftol=ftol)
                else:
                    out[i] = fit_near(ys, limits, constraints, warm, ftol=ftol, screen=screen)
            except (ConstraintError, FitError) as exc:
                out[i] = exc
            continue
        # one batch per dimension of the searches (a fit with o fixed at 0 has an objective
        # of its own: the batch takes each fit's)
        prepared.setdefault(member[2][0][2].size, []).append((i, *member))
    for group in prepared.values():
        batch = _GroupBatch(
            [(m[2], m[3], not m[5], m[1].objective, 1.0) for m in group], ftol
        )
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


def _member(ys, limits, constraints: Mapping, warm, local: bool, screen: bool,
            ftol: float | None = None):
    """``(problem, coords, starts, settled loss of the first start or None, local)`` of a
    request, as its own fit would start; None when that fit would not descend from them."""
    problem = _with_tolerance(_setup(ys, limits, constraints, True), ftol)
    coords = _coordinates(problem)
    convex = bool(warm.convex)
    if local:
        c = int(warm.c)
        if convex not in problem.convexs or c not in problem.cs or not coords[convex].dimension:
            return None
        x0, settled = _edge_start(problem, coords[convex], convex, c, warm, clip=True)
        return problem, coords, [(convex, c, x0)], settled, True
    prepared = _warm_starts(problem, warm, False, screen, None)
    if prepared is None:
        return None
    coords, _, starts, settled, _ = prepared
    return problem, coords, starts, settled, False


def search_each(problems: list) -> list:
    """:func:`tailstop._globalsearch._search` of each problem, in lock step: every screen,
    then the refinements in one batch (one per kind of objective, coarse or full, and
    tolerance), then the polishes in one batch. Each entry is the :class:`FitResult` or the
    :class:`FitError` the search raises."""
    out: list = [None] * len(problems)
    stage: list = []
    for i, problem in enumerate(problems):
        coords = _coordinates(problem)
        if any(coords[cv].dimension == 0 for cv in problem.convexs):
            try:  # nothing to refine: the search alone
                out[i] = _search(problem)
            except FitError as exc:
                out[i] = exc
            continue
        starts, memo, _ = _screen_memo(problem, coords)
        if not starts:
            out[i] = FitError("the fit found no parameters with a finite spacing loss.")
            continue
        stage.append((i, problem, coords, starts, memo))
    found: dict = {}
    # one refinement batch per kind of objective and tolerance (the fits of one data set
    # share their tolerance)
    for members in _grouped(stage, lambda m: (m[1].final, m[1].ftol)):
        problem = members[0][1]
        batch = _GroupBatch(
            [(coords, [k[:3] for k in starts], True, p.coarse_of(), p.margin_scale)
             for _, p, coords, starts, _ in members],
            problem.ftol,
            final=problem.final,
        )
        batch.run(max_iter=30, prune=True)
        for g, member in enumerate(members):
            found[member[0]] = batch.results_of(g)
    polish, chosen = [], {}
    for member in stage:
        i, problem = member[:2]
        try:
            chosen[i] = _polish_choice(problem, found[i])
        except FitError as exc:
            out[i] = exc
            continue
        if not problem.final:
            polish.append(member)
    for members in _grouped(polish, lambda m: m[1].ftol):
        batch = _GroupBatch(
            [(coords, [k[1:4] for k in chosen[i]], False, p.objective, 1.0)
             for i, p, coords, _, _ in members],
            members[0][1].ftol,
            hessians=np.concatenate([np.stack([k[4] for k in chosen[m[0]]]) for m in members]),
        )
        batch.run(max_iter=20)
        for g, member in enumerate(members):
            chosen[member[0]] = batch.results_of(g) or chosen[member[0]]
    for i, problem, coords, _, memo in stage:
        if out[i] is None:
            try:
                result = _best_polished(problem, coords, chosen[i])
            except FitError as exc:
                out[i] = exc
            else:
                out[i] = dataclasses.replace(result, screen=memo)
    return out


def _grouped(items: list, key) -> list:
    """``items`` in groups of equal ``key(item)``, in order of first appearance."""
    groups: dict = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return list(groups.values())

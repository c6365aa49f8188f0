"""Independent fits in lock step (private): the fits of the profiles' searches (the interval
ends of one tail or of several, the effective dimensions, the least-gain search beside the
ends), driven round by round (:func:`run_searches`, :func:`profile_ends`;
each round's fits by :func:`fit_all`), and the global searches of the threshold's candidate
tails (:func:`search_each`).

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
from tailstop._leastgain import PenalisedFit
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
    and objective per step (fits of the same data share it).

    Fits with fewer free parameters than others search padded coordinates: the extra ones
    are pinned at 0 (a box of one point) and their loss does not depend on them, so their
    finite differences are exactly 0 and no step moves along them (see
    :func:`tailstop._newton._trust_region_step`); the stencil points that differ from others
    only there are not evaluated but copied."""

    group: np.ndarray
    unpruned: np.ndarray
    margin_scale: np.ndarray

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
        self.dims = np.array([cd.dimension for cd in self.row_coords], dtype=int)
        width = int(self.dims.max(initial=0))

        def padded(vectors):
            return np.stack([np.concatenate([v, np.zeros(width - len(v))]) for v in vectors])

        if hessians is not None:  # (zero rows and columns for the pinned coordinates)
            hessians = np.stack([np.pad(h, (0, width - len(h))) for h in hessians])
        self.newton = _newton(
            padded([r[3] for r in rows]),
            padded([cd.lower for cd in self.row_coords]),
            padded([cd.upper for cd in self.row_coords]),
            final,
            ftol,
            hessians,
        )
        # per dimension: the stencil points distinct in its own coordinates, and for each
        # stencil point its place among them
        self.stencils = {d: _stencil_map(self.newton.offsets, d) for d in set(self.dims.tolist())}

    def _losses(self, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        S = points.shape[1]
        values = np.empty((rows.size, S))
        for convex in (False, True):
            # each fit's rows through its own coordinates, then one kernel call for all
            sets, order = [], []
            for g in np.unique(self.group[rows]):
                part = np.flatnonzero((self.group[rows] == g) & (self.convex[rows] == convex))
                if not part.size:
                    continue
                first = rows[part[0]]
                d = int(self.dims[first])
                distinct = self.stencils[d][0]
                X = points[part][:, distinct, :d]
                a, b, o, penalty = self.row_coords[first].to_params(
                    X.reshape(part.size * distinct.size, d)
                )
                c = np.repeat(self.c[rows[part]], distinct.size)
                objective = self.row_objective[first]
                # a penalised objective (a least-gain fit): its spacing loss joins the
                # kernel call, its penalty is added after
                sets.append((getattr(objective, "objective", objective), a, b, c, o))
                order.append((part, penalty, objective, (a, b, c, o), d))
            for (part, penalty, objective, params, d), loss in zip(
                order, losses(sets, convex), strict=True
            ):
                if hasattr(objective, "penalty"):
                    loss = loss + objective.penalty(*params)
                distinct, copies = self.stencils[d]
                found = (loss + penalty).reshape(part.size, distinct.size)
                values[part] = found[:, copies]
        return values

    def results_of(self, g: int) -> list:
        """:meth:`results` of fit ``g`` (in its own coordinates)."""
        nt = self.newton
        return [
            (float(nt.f[r]), bool(self.convex[r]), int(self.c[r]), nt.x[r][: self.dims[r]],
             nt.hess[r][: self.dims[r], : self.dims[r]])
            for r in np.flatnonzero(self.group == g)
            if np.isfinite(nt.f[r])
        ]


def _stencil_map(offsets: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct, copies)``: indices of the stencil points (rows of ``offsets``) that stay
    distinct when only the first ``d`` coordinates count (the first of each set of equal
    ones, in stencil order), and for each stencil point its place among those."""
    _, first, inverse = np.unique(offsets[:, :d], axis=0, return_index=True,
                                  return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order], rank[np.asarray(inverse).ravel()]


def fit_each(ys, limits, requests: list, ftol: float | None = None) -> list:
    """For each request ``(constraints, warm, local, screen)``: :func:`fit_local` (``local``)
    or :func:`fit_near` with ``screen`` (True or False) of ``ys`` under ``constraints`` from
    ``warm``, with ``ftol``, all in lock step. Each entry is the :class:`FitResult`, or the
    :class:`ConstraintError` or :class:`FitError` that fit raises."""
    return fit_all([(ys, limits, *request) for request in requests], ftol)


def fit_all(requests: list, ftol: float | None = None) -> list:
    """:func:`fit_each` of requests ``(ys, limits, constraints, warm, local, screen)``, each
    with data of its own (the profiles of several tails side by side), or
    :class:`~tailstop._leastgain.PenalisedFit` (a least-gain search's fit, made as
    :meth:`~tailstop._leastgain.PenalisedSearch.fit` makes it with ``ftol``), all in one
    batch (fits with fewer free parameters padded, see :class:`_GroupBatch`)."""
    out: list = [None] * len(requests)
    group: list = []
    penalised: list = []
    for i, request in enumerate(requests):
        if isinstance(request, PenalisedFit):
            penalised.append((i, request))
            continue
        ys, limits, constraints, warm, local, screen = request
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
        # (a fit with o fixed at 0 has an objective of its own: the batch takes each fit's)
        group.append((i, *member))
    if not group and not penalised:
        return out
    # the penalised fits: no pruning by margin (a pruning scale of inf), as on their own
    batch = _GroupBatch(
        [(m[2], m[3], not m[5], m[1].objective, 1.0) for m in group]
        + [({False: r.search.coords}, r.starts(), True, r.objective(), np.inf)
           for _, r in penalised],
        ftol,
    )
    first = 0
    for m in group:
        if m[4] is not None:
            batch.newton.settle([first], [m[4]])
        first += len(m[3])
    batch.run(max_iter=30, prune=True, margins=_NEAR_MARGINS, model_from=1)
    for g, (i, problem, coords, starts, settled_loss, local) in enumerate(group):
        try:
            what = "local fit" if local else "fit"
            settled = starts[0][2] if settled_loss is not None else None
            out[i] = _best(problem, coords, batch.results_of(g), what, settled=settled)
        except FitError as exc:
            out[i] = exc
    for g, (i, request) in enumerate(penalised, start=len(group)):
        try:
            out[i] = request.result(batch.results_of(g))
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


# ---------------------------------------------------------------------------------------
# The searches of profiles (tailstop._profile), driven round by round


def fit_many(requests: list) -> list:
    """``[profile.fit(constraints, warm, screen=screen) for profile, (constraints, warm,
    screen) in requests]``, the fits with ``screen`` True or False made together in lock step
    (:func:`tailstop._lockstep.fit_all`), also across the profiles of different tails; those
    with ``screen="guarded"`` one by one. A request may instead be a least-gain search's
    :class:`~tailstop._leastgain.PenalisedFit`, made in the same lock step; its answer is the
    :class:`~tailstop.fitting.FitResult`, or the error it raised."""
    together = [i for i, (_, request) in enumerate(requests)
                if isinstance(request, PenalisedFit) or request[2] in (True, False)]
    if len(together) <= 1:
        together = []
    found: list = [None] * len(requests)
    calls: dict = {}
    for i in together:
        profile, request = requests[i]
        if isinstance(request, PenalisedFit):
            calls[i] = request
            continue
        constraints, warm, screen = request
        full = {**profile.constraints(), **constraints}
        start = warm or profile.best_fit
        calls[i] = (profile.ys, profile.limits, full, start, set(constraints) == {"o"}, screen)
    for ftol in dict.fromkeys(requests[i][0].ftol for i in together):
        # (the profiles of one search share it: the deviance's scale is its size)
        which = [i for i in together if requests[i][0].ftol == ftol]
        for i, r in zip(which, fit_all([calls[i] for i in which], ftol), strict=True):
            profile, call = requests[i][0], calls[i]
            found[i] = r if isinstance(call, PenalisedFit) else profile._kept_fit(r, *call[2:4])
    for i, (profile, request) in enumerate(requests):
        if i in calls:
            continue
        if isinstance(request, PenalisedFit):
            try:
                found[i] = request.alone(profile.ftol)
            except (ConstraintError, FitError) as exc:
                found[i] = exc
        else:
            constraints, warm, screen = request
            found[i] = profile.fit(constraints, warm, screen=screen)
    return found


def profile_ends(jobs: list) -> list:
    """For each ``(profile, searches)`` or ``(profile, searches, others)`` of ``jobs``
    (:class:`tailstop._profile.Profile`): ``{key: (value, (fit, deviance))}``, the
    :meth:`~tailstop._profile.Profile.end` of each of ``searches``
    (``{key: arguments of end}``), and for each of ``others`` (``{key: generator}``, searches
    of that profile that yield ``("penalised", request)``) ``{key: its result}``. Every search
    of every profile runs together: each round makes the next fit of all of them in lock step
    (:func:`fit_many`). The same searches as one by one; each profile keeps its ends in the
    order of its ``searches`` (the others' results are the caller's to keep)."""
    searches: dict = {}
    for i, (profile, ends, *others) in enumerate(jobs):
        searches.update({(i, key): (profile, profile._end_search(*args))
                         for key, args in ends.items()})
        for extra in others:
            searches.update({(i, key): (profile, steps) for key, steps in extra.items()})
    found = run_searches(searches)
    out = []
    for i, (profile, ends, *others) in enumerate(jobs):
        for key in ends:
            profile.kept.append(found[i, key][1])
        out.append({key: found[i, key]
                    for key in [*ends, *(k for extra in others for k in extra)]})
    return out


def run_searches(searches: dict) -> dict:
    """Run the searches (``{key: (profile, generator of requests)}``, see
    :meth:`tailstop._profile.Profile._end_steps`; also ``("penalised", request)``, a
    least-gain search's fit) round by round: their fits of a round together, their checks of
    the farther c one by one."""
    results, pending = {}, {}
    for key, (profile, steps) in searches.items():
        try:
            pending[key] = (profile, steps, next(steps))
        except StopIteration as done:
            results[key] = done.value
    while pending:
        fits = [key for key, (_, _, request) in pending.items()
                if request[0] in ("fit", "penalised")]
        asked = [(pending[k][0], pending[k][2][1] if pending[k][2][0] == "penalised"
                  else pending[k][2][1:]) for k in fits]
        answers = dict(zip(fits, fit_many(asked), strict=True))
        for key, (profile, _, request) in pending.items():
            if request[0] == "farther":
                answers[key] = profile._farther(*request[1:])
        for key in list(pending):
            profile, steps, _ = pending[key]
            try:
                pending[key] = (profile, steps, steps.send(answers[key]))
            except StopIteration as done:
                results[key] = done.value
                del pending[key]
    return results

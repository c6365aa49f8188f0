"""The global search of the censored spacing fit (private): the screen, the batched local
searches, the polish and the checks of a result (the box's edge, the noiseless limit).

:mod:`tailstop.fitting` describes the method and holds the public functions; the searches
from a previous fit are in :mod:`tailstop._localsearch`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from tailstop._fitproblem import C_MAX, C_MIN, _coordinates, _Problem
from tailstop._newton import BatchedNewton
from tailstop._spacing import (
    SearchCoordinates,
    SpacingObjective,
    StandardCdfTable,
)
from tailstop.errors import ConstraintError, FitError

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


_RESCREEN_GROWTH = 0.1  # a screen's starts serve warm refits until the data grow by this
_MEMO_RANKS = 3  # ... the best this many candidates of each group, re-scored


@dataclass(frozen=True)
class ScreenMemo:
    """The best ``_MEMO_RANKS`` screening candidates of each (convex, c, noise class) of a
    fit's screen, kept with the fit so that the warm refits after a few more observations
    re-score these (some 150 parameter sets) instead of every candidate (some 450), and take
    each group's best of them as its start. (With only each group's best kept, one of 720
    chained refits lost the global optimum: the group's best moved to another candidate.)

    ``key``: what the candidates depend on besides the plotting positions (the extreme
    observations, the allowed c and forms, which parameters are free); ``n``: the number
    of observations screened. ``starts``: per form, the arrays (a, b, o, c, group).
    """

    key: tuple
    n: int
    starts: dict

    def serves(self, problem: _Problem) -> bool:
        """Whether these starts stand for a screen of ``problem``: the same key, and at most
        ``_RESCREEN_GROWTH`` more observations (the plotting positions, hence the
        candidates, move by O(1/n) per observation)."""
        return _memo_key(problem) == self.key and (
            self.n <= problem.n <= self.n * (1.0 + _RESCREEN_GROWTH)
        )


def _memo_key(problem: _Problem) -> tuple:
    fixed = tuple(lo == hi for lo, hi in (problem.a_bounds, problem.b_bounds, problem.o_bounds))
    return (
        problem.y_min, problem.y_max, tuple(problem.cs), tuple(problem.convexs),
        problem.o_bounds[1] > 0, fixed,
    )


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters and the spacing loss at them (lower is better).

    ``screen``: the screen's best starts, for warm refits (see :class:`ScreenMemo`).
    ``curvature``: ``(hessian, age)``, the search's Hessian of the loss at the result (in
    its search coordinates), for a warm refit's Newton model; ``age`` counts the searches
    since its mixed terms were last measured (0: measured at the result)."""

    a: float
    b: float
    c: int
    o: float
    convex: bool
    loss: float
    screen: ScreenMemo | None = dataclasses.field(default=None, compare=False, repr=False)
    curvature: tuple | None = dataclasses.field(default=None, compare=False, repr=False)


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
    probs = np.concatenate([p_lo, p_hi] if convex else [1 - p_lo, 1 - p_hi])
    q = (probs[None, :] ** (2.0 / cs[:, None]))[:, None, :]  # noiseless quantiles
    noise_index = np.array([-1])
    noisy = problem.o_bounds[1] > 0
    if noisy:
        table = _table()
        rows = table.index(cs[:, None], np.arange(_NOISY_GRID.size)[None, :]).ravel()
        log_p = np.broadcast_to(np.log(probs), (rows.size, probs.size))
        quantiles = table.quantile(rows, log_p).reshape(cs.size, _NOISY_GRID.size, 2 * P)
        q = np.concatenate([q, quantiles], axis=1)
        noise_index = np.arange(-1, _NOISY_GRID.size)
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
    a = np.minimum(np.maximum(a, problem.a_bounds[0]), problem.a_bounds[1])
    b = np.minimum(np.maximum(b, problem.b_bounds[0]), problem.b_bounds[1])
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
            a, b, o = (np.concatenate(pair) for pair in ((a, a_n), (b, a_n + w), (o, sd)))
            c, k = np.concatenate([c, np.full(P, c0)]), np.concatenate([k, np.full(P, _NORMAL)])
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
    those within ``_SCREEN_MARGIN`` of the best of all (times the problem's ``margin_scale``:
    a quick fit scales its screen as it scales its pruning)."""
    return _screen_memo(problem, coords)[0]  # (starts only)


def _screen_memo(problem: _Problem, coords: dict, memo: ScreenMemo | None = None, probe=None):
    """``_screen``'s starts, the :class:`ScreenMemo` they came from (``memo``'s starts
    re-scored on this problem when it serves it, else a new screen's), and the screened
    loss of ``probe`` = (convex, c, x), scored in the same call (or None)."""
    reuse = memo is not None and memo.serves(problem)
    starts, kept, probe_loss = [], {}, None
    for convex in problem.convexs:
        cd = coords[convex]
        if cd.dimension == 0:
            starts += [(convex, c, np.zeros(0), 0.0) for c in problem.cs]
            continue
        if reuse:
            assert memo is not None  # reuse implies a memo
            if convex not in memo.starts:  # nothing finite there in the screen kept
                continue
            a, b, o, c, group = memo.starts[convex]
        else:
            a, b, o, c, k = _start_candidates(problem, convex)
            group = c * 16 + _CLASS_OF_INDEX[k]
        X = cd.from_params(a, b, o)
        if probe is not None and probe[0] == convex:
            losses = _screen_losses(
                problem.screen[convex], cd, np.append(c, probe[1]), np.vstack([X, probe[2]])
            )
            losses, probe_loss = losses[:-1], float(losses[-1])
        else:
            losses = _screen_losses(problem.screen[convex], cd, c, X)
        finite = np.flatnonzero(np.isfinite(losses))
        if not finite.size:
            continue
        order = finite[np.lexsort((losses[finite], group[finite]))]
        boundary = np.concatenate(([True], group[order][1:] != group[order][:-1]))
        first = order[boundary]
        if not reuse:  # each group's best _MEMO_RANKS candidates
            rank = np.arange(order.size) - np.maximum.accumulate(
                np.where(boundary, np.arange(order.size), 0)
            )
            top = order[rank < _MEMO_RANKS]
            kept[convex] = (a[top], b[top], o[top], c[top], group[top])
        starts += [(convex, int(c[i]), X[i], float(losses[i])) for i in first]
    if starts and all(coords[cv].dimension for cv in problem.convexs):
        floor = min(k[3] for k in starts)
        starts = [k for k in starts if k[3] <= floor + _SCREEN_MARGIN * problem.margin_scale]
    if not reuse:
        memo = ScreenMemo(_memo_key(problem), problem.n, kept) if kept else None
    if probe is not None and probe_loss is None:  # its form was not screened
        form, c, x = probe
        probe_loss = float(_screen_losses(problem.screen[form], coords[form], [c], x[None])[0])
    return starts, memo, probe_loss


# ---------------------------------------------------------------------------------------
# Local searches


def _newton(X0, lower, upper, final: bool, ftol: float | None, hessians) -> BatchedNewton:
    """The Newton batch of the searches from ``X0`` in the box ``[lower, upper]``, with the
    tolerances of a search on the objective of the result (``final``) or a coarse one."""
    # Tight on the objective of the result: 1e-9 in a loss of O(0.01-1) is below the 1e-6
    # relative precision anyone needs; loose on a coarse one.
    tolerances = (1e-5, 1e-8, 1e-9) if final else (1e-4, 1e-6, 1e-8)
    step, xtol, default_ftol = (1e-5, *tolerances[1:]) if hessians is not None else tolerances
    ftol = default_ftol if ftol is None else max(ftol, default_ftol)
    return BatchedNewton(X0, lower, upper, step=step, xtol=xtol, ftol=ftol, hessian=hessians)


class _Batch:
    """Local searches from many starts of any (convex, c), stepped in lock step: one
    :class:`BatchedNewton` for all, one loss (hence kernel) call per form per step."""

    # dicts by form here; _GroupBatch (tailstop._lockstep) keeps them per row instead and
    # sets these to None, its group and unpruned to arrays and margin_scale to one per row
    coords: Any
    objectives: Any
    group: np.ndarray | None
    unpruned: np.ndarray | None
    margin_scale: float | np.ndarray

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
        # (see _GroupBatch: the searches of several fits, each pruned among its own)
        self.group, self.unpruned = None, None
        self.convex = np.array([k[0] for k in starts], dtype=bool)
        self.c = np.array([k[1] for k in starts], dtype=int)
        self.key = self.convex * (C_MAX + 1) + self.c  # one integer per (convex, c)
        self.newton = _newton(
            np.stack([k[2] for k in starts]),
            np.stack([coords[cv].lower for cv in self.convex]),
            np.stack([coords[cv].upper for cv in self.convex]),
            final,
            ftol,
            hessians,
        )

    def step(self) -> None:
        rows, points = self.newton.points()
        if rows.size:
            self.newton.update(rows, self._losses(rows, points))

    def _losses(self, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The losses at the stencil points of ``rows``, shape (rows, points)."""
        S, d = points.shape[1], points.shape[2]
        values = np.empty((rows.size, S))
        forms = self.convex[rows]
        # one loss call per form: the kernel takes each row's c (their routes found at once)
        for convex in (False, True):
            group = forms == convex
            if not group.any():
                continue
            flat = points[group].reshape(int(group.sum()) * S, d)
            c = np.repeat(self.c[rows][group], S)
            values[group] = (
                self.coords[convex].loss(self.objectives[convex], c, flat).reshape(-1, S)
            )
        return values

    def run(
        self,
        max_iter: int,
        prune: bool = False,
        margins=(0.05, 0.025, 0.015, 0.01),
        model_from: int = 2,
        after_step=None,
    ) -> None:
        """Step until every search stops.  ``prune``: stop those above the best loss by a
        margin shrinking with the iterations (``margins``: for steps 0, 1, ..., the last
        for all later ones) and,
        from step ``model_from`` on, those whose Newton model (its predicted decrease
        inflated tenfold) cannot take them to the best (or within the polish margin of it,
        on a coarse objective) or past the best search of their own (convex, c).
        ``after_step``: called as ``after_step(batch, iteration)`` after each step (before its
        pruning)."""
        nt = self.newton
        scale = self.margin_scale
        for iteration in range(max_iter):
            self.step()
            if after_step is not None:
                after_step(self, iteration)
            if prune:
                best = nt.f.min() if self.group is None else self._group_best()
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
                if self.unpruned is not None:
                    hopeless &= ~self.unpruned
                nt.deactivate(np.flatnonzero(hopeless))
            if not nt.active.any():
                break

    def _group_best(self) -> np.ndarray:
        group = self.group
        assert group is not None  # called only for a _GroupBatch
        best = np.full(group.max() + 1, np.inf)
        np.minimum.at(best, group, self.newton.f)
        return best[group]

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
    memo = None
    if starts is None:
        coords = _coordinates(problem)
        starts, memo, _ = _screen_memo(problem, coords)
    if not starts:
        raise FitError("the fit found no parameters with a finite spacing loss.")
    assert coords is not None  # given with the starts, else computed above
    batch = _Batch(
        coords,
        problem.coarse,
        [k[:3] for k in starts],
        problem.final,
        ftol=problem.ftol,
        margin_scale=problem.margin_scale,
    )
    batch.run(max_iter=30, prune=True)
    return dataclasses.replace(_finish(problem, coords, batch.results()), screen=memo)


def _best(
    problem: _Problem, coords: dict, found: list, what: str = "fit", age: int | None = None,
    settled: np.ndarray | None = None,
) -> FitResult:
    """The search result with the least loss, as a :class:`FitResult` (``age``: that of
    the searches' Hessians, see :class:`FitResult`; None: not kept). ``settled``: the
    start of a search settled on the box's edge (``_localsearch._edge_start``: the optimum
    along the edge, the loss rising inward), whose result needs no edge descent again."""
    if not found:
        raise FitError(f"the {what} found no parameters with a finite spacing loss.")
    loss, convex, c, x, hessian = min(found, key=lambda k: k[0])
    # (the searches descend on the full objective: their loss at x is the result's)
    curvature = None if age is None else (hessian, age)
    on_edge = settled is not None and np.array_equal(x, settled)
    return _result(problem, coords[convex], convex, c, x, loss, curvature, edge_settled=on_edge)


def _finish(problem: _Problem, coords: dict, found: list) -> FitResult:
    """Polish the best candidate of each (convex, c) within ``_POLISH_MARGIN`` of the best;
    return the best as a :class:`FitResult`."""
    chosen = _polish_choice(problem, found)
    if not problem.final and coords[chosen[0][1]].dimension > 0:
        polish = _Batch(
            coords,
            {cv: problem.objective for cv in coords},
            [k[1:4] for k in chosen],
            True,
            hessians=np.stack([k[4] for k in chosen]),
            ftol=problem.ftol,
        )
        polish.run(max_iter=20)
        polished = polish.results()
        if polished:  # (its Hessians' mixed terms are the coarse objective's: one search old)
            return _best_polished(problem, coords, polished, age=1)
        return _best_polished(problem, coords, chosen)
    return _best_polished(problem, coords, chosen, age=0 if problem.final else None)


def _polish_choice(problem: _Problem, found: list) -> list:
    """The best search result of each (convex, c) within ``_POLISH_MARGIN`` of the best, at
    most ``_MAX_POLISH`` of them, best first."""
    if not found:
        raise FitError("the fit found no parameters with a finite spacing loss.")
    margin = _POLISH_MARGIN * problem.margin_scale
    found = sorted(found, key=lambda k: k[0])
    chosen, seen = [], set()
    for k in found:
        if k[0] <= found[0][0] + margin and k[1:3] not in seen:
            seen.add(k[1:3])
            chosen.append(k)
    return chosen[:_MAX_POLISH]


def _best_polished(
    problem: _Problem, coords: dict, chosen: list, age: int | None = None
) -> FitResult:
    """The best of the polished candidates ``chosen`` (loss, convex, c, x, hessian), as a
    :class:`FitResult` with its checks (:func:`_result`).

    A candidate behind the best whose mass end sits on the box's edge is first descended
    along the edge (:func:`_on_edge`): a small ``c`` fitted to a small tail wants a wider
    support than the box allows, its screening start is clipped onto the edge, and its
    search, whose stencils straddle the edge's kink, stalls there, behind a larger ``c``
    that its optimum along the edge beats (1.2-1.4 in deviance on tails of 13-28 trials of
    synthetic searches with r = 1)."""
    best = min(chosen, key=lambda k: k[0])
    # (the candidates' losses may be a coarse objective's: the edge's are the full one's)
    best_loss, edge_best = None, None
    for loss, convex, c, x, _ in chosen:
        if loss <= best[0]:
            continue
        found = _edge_candidate(problem, coords[convex], convex, c, x)
        if found is None:
            continue
        if best_loss is None:
            a, b, o = _in_box(problem, coords[best[1]], best[3])
            best_loss = float(problem.objective.loss(a, b, best[2], o, best[1])[0])
        if found[3] < best_loss:
            best_loss, edge_best = found[3], (convex, c, found)
    if edge_best is not None:
        convex, c, (a, b, o, _) = edge_best
        x = coords[convex].from_params(a, b, o)[0]
        return _result(problem, coords[convex], convex, c, x, edge_settled=True)
    _, convex, c, x, hessian = best
    curvature = None if age is None else (hessian, age)
    return _result(problem, coords[convex], convex, c, x, curvature=curvature)


def _edge_candidate(problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, x):
    """For a search that stalled on the box's edge: the best point along the edge
    (:func:`_on_edge`), descended from the best of its noise and, when it stalled noiseless,
    the tiny noises :func:`_tiny_noise` probes (the loss is flat in the noise there, and the
    edge's optimum of a noisy tail has a noise of 1e-5 to 1e-4 of the width), as
    ``(a, b, o, loss)`` on the full objective; None when ``x`` is not on the edge."""
    a, b, o = _in_box(problem, coords, x)
    mass, bounds = (b, problem.b_bounds) if convex else (a, problem.a_bounds)
    edge = bounds[1] if convex else bounds[0]
    width = b - a
    if coords.mass_fixed or coords.dimension == 0 or not abs(mass - edge) <= 1e-3 * width:
        return None
    noises = np.array([o])
    if problem.o_bounds[1] > problem.o_bounds[0] and o <= _TINY_RATIOS[0] * width:
        noises = np.r_[o, np.clip(_TINY_RATIOS * width, *problem.o_bounds)]
    losses = problem.objective.loss(a, b, c, noises, convex)
    probe = int(np.argmin(losses))
    o, loss = float(noises[probe]), float(losses[probe])
    if not np.isfinite(loss):
        return None
    found = _on_edge(problem, coords, convex, c, a, b, o, loss)
    return found if found is not None else (a, b, o, loss)


def _in_box(problem: _Problem, coords: SearchCoordinates, x) -> tuple[float, float, float]:
    """``(a, b, o)`` of the search point ``x``, exactly within the box (the coordinates'
    round trip can cross a bound by an ulp)."""
    return _in_box_checked(problem, coords, x)[:3]


def _in_box_checked(problem: _Problem, coords: SearchCoordinates, x):
    """``_in_box``'s ``(a, b, o)`` and whether they are the point's own parameters (nothing
    clipped, no penalty: the loss at x is theirs)."""
    a, b, o, penalty = coords.to_params(np.asarray(x, float)[None])
    raw = (float(a[0]), float(b[0]), float(o[0]))
    clipped = tuple(
        min(max(value, bounds[0]), bounds[1])
        for value, bounds in zip(raw, (problem.a_bounds, problem.b_bounds, problem.o_bounds),
                                 strict=True)
    )
    return (*clipped, clipped == raw and not np.any(penalty))


_CRAWL_RATIO = 1e-3  # a fit's noise above this many widths has not crawled to the bound


def _result(
    problem: _Problem, coords: SearchCoordinates, convex: bool, c: int, x, loss=None,
    curvature: tuple | None = None, edge_settled: bool = False,
) -> FitResult:
    """The fit at the search point ``x`` with its checks (the noiseless bound, the box's
    edge, tiny noises). ``loss``: the full objective's loss at x, when the search has it;
    ``curvature``: the search's, kept only when the checks leave x where it is;
    ``edge_settled``: x is already the optimum along the box's edge (no edge descent)."""
    a, b, o, own = _in_box_checked(problem, coords, x)
    known = loss is not None and own and np.isfinite(loss)
    if o > problem.o_bounds[0] and not (known and o > _CRAWL_RATIO * (b - a)):
        # In the noiseless limit the loss flattens like o^2 and the search crawls towards
        # the lower bound of o (it stops at noises of 1e-5 to 1e-4 of the width): take the
        # bound when it is at least as good (both losses in one call).
        loss, at_bound = problem.objective.loss(a, b, c, np.array([o, problem.o_bounds[0]]),
                                                convex).tolist()
        if at_bound <= loss:
            o, loss, curvature = problem.o_bounds[0], at_bound, None
    elif not known:
        loss = float(problem.objective.loss(a, b, c, o, convex)[0])
    loss = float(loss)
    if not np.isfinite(loss):
        raise FitError(f"the fit ended at parameters with a non-finite loss: {(a, b, c, o)}.")
    better = None if edge_settled else _on_edge(problem, coords, convex, c, a, b, o, loss)
    if better is not None:
        a, b, o, loss = better
        curvature = None
    better = _tiny_noise(problem, coords, convex, c, a, b, o, loss)
    if better is not None:
        a, b, o, loss = better
        curvature = None
    return FitResult(a, b, c, o, convex, loss, curvature=curvature)


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
    batch = _Batch({convex: fixed}, {convex: problem.objective}, [(convex, c, x0)], True,
                   ftol=problem.ftol)
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
    batch = _Batch({convex: coords}, {convex: problem.objective}, [(convex, c, x0)], True,
                   ftol=problem.ftol)
    batch.run(max_iter=30)
    found = batch.results()
    if not found:
        return None
    a2, b2, o2 = _in_box(problem, coords, found[0][3])
    loss2 = float(problem.objective.loss(a2, b2, c, o2, convex)[0])
    return (a2, b2, o2, loss2) if loss2 < loss else None

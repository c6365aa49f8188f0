"""Where does the asymptotic regime start? Automatic choice of the tail threshold.

The paper picks the threshold by eye, "rather too deep than too shallow". tailstop chooses it
with ordered goodness-of-fit tests and the ForwardStop rule (G'Sell et al. 2016), the
procedure Bader, Yan & Zhang (2018) proposed for the same problem in extreme-value analysis
(choosing the threshold of a generalised Pareto tail):

1. candidate tail sizes ``k_1 > k_2 > ... > k_m`` (a geometric grid from all finite scores
   down to ``MIN_TAIL``), each with threshold ``theta_j`` = the ``(k_j + 1)``-th best score;
2. for each, the censored spacing fit ``theta^_j`` with everything at or below ``theta_j``
   censored, and two tests of "the tail above ``theta_j`` is a noisy quadratic":

   * *shape*: the Anderson-Darling statistic of the tail's conditional probability-integral
     transforms ``u_i = 1 - S(y_i) / S(theta_j)`` (uniform if the tail is a noisy quadratic;
     tied scores spread over their cell, :func:`tail_pit`),
     with p-values from its null distribution *with the parameters estimated*, tabulated by
     simulation from the fitted family (``examples/benchmarks/make_ad_table.py``);
   * *stability*: if the law holds above ``theta_j`` it holds, with the same parameters,
     above every deeper threshold. The deviance of the deeper tail ``h`` (the first
     candidate with at most half as many points) at the shallow fit,
     ``D = 2 (n + 1) (L_h(theta^_j) - L_h(theta^_h))``, is then small: ``theta^_j`` is the
     efficient estimator under the hypothesis, so ``Var(theta^_h - theta^_j) = V_h - V_j
     ~ (1 - k_h / k_j) V_h`` (Hausman 1978) and ``D / (1 - k_h / k_j)`` is approximately
     chi-square with 3 degrees of freedom (a, b, o; c is discrete). Tails that mix two
     regimes (a shallow tail fitted by a different c and noise than the tail inside it)
     fail this test even when their PITs look uniform;

   the two p-values are combined by Bonferroni, ``p_j = min(1, 2 min(p_shape, p_stab))``.
   These fits are *quick*: the search's pruning margins are scaled to the tail's share of the
   trials (:func:`tailstop.fitting.fit_parameters`), which can miss an optimum a search
   reaches only from far behind; the chosen tail and its partner are refitted with the full
   global search, so the estimate never rests on a quick fit;
3. ForwardStop: with ``p_1..p_m`` ordered from the shallowest threshold to the deepest, reject
   the first ``k^ = max{j : -(1/j) sum_{i<=j} log(1 - p_i) <= alpha}`` hypotheses and use the
   next threshold. This controls the false discovery rate of rejected thresholds at
   ``alpha``, so the chosen tail is the largest one the data do not contradict. Since the
   running sum only grows, no later ``j`` can qualify once it exceeds ``alpha m``: the deep
   candidates past that point are never fitted.

Why it is sound: the hypotheses are nested (if the tail above ``theta_j`` is a noisy quadratic,
so is every tail above it), which is the setting ForwardStop is designed for; and both
statistics are computed on the tails only, where the law is claimed.

Its known weakness: it keeps the *largest* tail the tests cannot reject, so while the search is
small and the tests have little power it keeps tails well beyond the asymptotic regime, against
the paper's advice to err deeper ("losing a data point hurts less than including points that
the family fits badly"). Measured on ``tailstop.synthetic`` problems with a known regime
(docs/benchmarks.md, forecast section): at 64-100 trials the chosen tail holds 1.8-3.5 times
the regime's mass; at 1,000 about the regime. A deeper tail alone does not make the
small-search forecasts better (the same section), so this rule stands until one that errs
deeper is shown to help.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MIN_TAIL",
    "RegimeChoice",
    "anderson_darling",
    "candidate_tail_sizes",
    "fit_chosen",
    "forward_stop",
]

MIN_TAIL = 10
GRID_RATIO = 1.3
TESTABLE_DISTINCT = 4  # a tail of at most this many distinct scores cannot test the law
# a tail of at most this many distinct scores (one per continuous parameter: a, b, o; one
# fewer with the noise given) is fitted exactly by several laws: its fit is not identified
IDENTIFIED_DISTINCT = 3


def distinct_scores(values: np.ndarray) -> int:
    """How many distinct scores the fit sees: after its rounding (:mod:`tailstop._spacing`),
    so that fold averages equal but for the last bits count once, as the fit groups them."""
    from tailstop._spacing import rounding_decimals

    return int(np.unique(np.round(values, rounding_decimals(values))).size)


def candidate_tail_sizes(n: int, min_tail: int = MIN_TAIL, ratio: float = GRID_RATIO) -> np.ndarray:
    """Tail sizes from ``n`` down to ``min_tail``, geometrically spaced, largest first."""
    if n <= min_tail:
        return np.array([n])
    count = int(np.ceil(np.log(n / min_tail) / np.log(ratio))) + 1
    sizes = np.unique(np.round(np.geomspace(min_tail, n, count)).astype(int))
    return sizes[::-1]


def anderson_darling(u: np.ndarray) -> float:
    """Anderson-Darling statistic of probabilities ``u`` against the uniform law.

    ``A^2 = -k - (1/k) sum_i (2i - 1) [log u_(i) + log(1 - u_(k+1-i))]``
    (Anderson & Darling 1954), with ``u`` clipped away from 0 and 1.
    """
    u = np.sort(np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12))
    k = u.size
    i = np.arange(1, k + 1)
    return float(-k - np.sum((2 * i - 1) * (np.log(u) + np.log1p(-u[::-1]))) / k)


def forward_stop(p_values: np.ndarray, alpha: float) -> int:
    """Number of leading hypotheses ForwardStop rejects (G'Sell, Wager, Chouldechova &
    Tibshirani 2016): ``max{j : -(1/j) sum_{i<=j} log(1 - p_i) <= alpha}``, 0 if none."""
    p = np.clip(np.asarray(p_values, dtype=float), 0.0, 1.0 - 1e-16)
    running = -np.cumsum(np.log1p(-p)) / np.arange(1, p.size + 1)
    accepted = np.nonzero(running <= alpha)[0]
    return int(accepted[-1] + 1) if accepted.size else 0


@dataclass(frozen=True)
class RegimeChoice:
    """The chosen tail and the evidence for it."""

    tail_size: int
    threshold: float
    candidates: tuple[int, ...]
    p_values: tuple[float, ...]
    rejected: int


# Tail sizes at which the null distribution of the statistic is tabulated (_ad_table.py);
# larger tails take the last row's (p_value clamps the size: the Anderson-Darling statistic's
# null distribution has all but reached its limit by then).
TABLE_TAIL_SIZES = (10, 13, 17, 22, 28, 36, 47, 61, 80, 105, 140, 190, 260, 360, 500)


def fit_tail(
    ys: np.ndarray,
    tail_size: int,
    *,
    c_max: int = 10,
    b_range: tuple[float, float] = (-np.inf, np.inf),
    warm_start=None,
    local: bool = False,
    guides=None,
    same_c: bool = False,
    quick: bool = False,
    noise: float | None = None,
):
    """Censored fit of the concave noisy quadratic to the ``tail_size`` best of ``ys``.

    ``ys`` are finite scores in the maximise orientation, plus ``-inf`` for failed trials
    (censored with the rest). ``b_range``: the metric's known range, which bounds ``b``.
    ``local``: search only near ``warm_start`` (its c and the neighbouring ones), for an
    update after a few more trials: ``warm_start``'s c from it, the neighbouring c from
    their own fits before those trials (``guides``, ``{c: fit}``) or else from their best
    screening start, plus the screening starts that look better than those fits (see
    :func:`tailstop._localsearch.fit_near`). ``same_c`` (with ``local``): only ``warm_start``'s
    c, for an update whose new trials fell below the threshold, where the effective
    dimensions' own refits watch the other c; only the censored count grew, which moves
    the optimum within its basin, so the refit is a descent from ``warm_start`` alone (no
    screening starts). ``quick``: the global search with margins
    scaled to the tail's share (:func:`tailstop.fitting.fit_parameters`), for the
    candidates of :func:`choose_regime`. ``noise``: a known seed noise, which fixes ``o``.
    Returns ``(distribution, threshold)``.
    """
    from tailstop._localsearch import fit_near
    from tailstop.distributions import NoisyQuadraticDistribution
    from tailstop.errors import FitError
    from tailstop.fitting import fit_parameters

    threshold = tail_threshold(ys, tail_size)
    constraints = tail_constraints(c_max, b_range, noise)
    limits = (threshold, np.inf)
    r = None
    if local and warm_start is not None:
        local_constraints = dict(constraints)
        if same_c:
            local_constraints["c"] = int(warm_start.c)
        # the tail unchanged (only the censored count grew): the optimum moves within its
        # basin, so a descent from the previous fit, with no screening starts
        screen = False if same_c else "guarded"
        try:
            r = fit_near(ys, limits, local_constraints, warm_start, screen=screen, guides=guides)
        except FitError:
            # nothing finite near the previous fit (e.g. the new trials moved the threshold
            # and the previous parameters give the tail no mass): search globally
            warm_start = None
    if r is None:
        r = fit_parameters(ys, limits, constraints, warm_start=warm_start, quick=quick)
    return NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False), threshold


def fit_tails(ys: np.ndarray, tail_sizes: list, *, c_max: int = 10,
              b_range: tuple[float, float] = (-np.inf, np.inf), quick: bool = True,
              noise: float | None = None) -> list:
    """``fit_tail(ys, k, c_max=c_max, b_range=b_range, quick=quick, noise=noise)`` for each ``k`` of
    ``tail_sizes``, the global searches in lock step
    (:func:`tailstop._lockstep.search_each`: the same fits, one Newton batch and one kernel
    call per step for all). An entry is the :class:`~tailstop.errors.FitError` that tail's
    fit raises, if any."""
    import dataclasses

    from tailstop._fitproblem import _setup
    from tailstop._lockstep import search_each
    from tailstop.distributions import NoisyQuadraticDistribution

    thresholds = [tail_threshold(ys, k) for k in tail_sizes]
    constraints = tail_constraints(c_max, b_range, noise)
    problems = [
        dataclasses.replace(_setup(ys, (threshold, np.inf), constraints, True), quick=quick)
        for threshold in thresholds
    ]
    return [
        r if isinstance(r, Exception)
        else (NoisyQuadraticDistribution(r.a, r.b, r.c, r.o, convex=False), threshold)
        for r, threshold in zip(search_each(problems), thresholds, strict=True)
    ]


def tail_threshold(ys: np.ndarray, tail_size: int) -> float:
    """The threshold that keeps the ``tail_size`` best of ``ys`` (see :func:`fit_tail`)."""
    ordered = np.sort(ys)
    n = ordered.size
    if tail_size < n and np.isfinite(ordered[n - tail_size - 1]):
        threshold = float(ordered[n - tail_size - 1])
        if threshold == ordered[-1]:  # ties at the top: keep the tied group in the tail
            below = ordered[ordered < threshold]
            threshold = float(below[-1]) if below.size else -np.inf
    elif np.isfinite(ordered[0]):
        threshold = -np.inf
    else:  # every finite score kept, failed trials (-inf) censored below them
        finite = ordered[np.isfinite(ordered)]
        threshold = float(finite[0] - 1e-6 * max(np.ptp(finite), abs(finite[0]), 1e-300))
    return threshold


def tail_constraints(c_max: int, b_range=(-np.inf, np.inf), noise: float | None = None) -> dict:
    """Fit constraints of a tail (maximise orientation): concave, ``c`` up to ``c_max``,
    ``b`` within the metric's known range ``b_range`` when one is given, and ``o`` fixed at
    ``noise`` when the seed noise is known."""
    constraints: dict = {"convex": False, "c": (1, int(c_max))}
    if np.isfinite(b_range).any():
        constraints["b"] = (float(b_range[0]), float(b_range[1]))
    if noise is not None:
        constraints["o"] = float(noise)
    return constraints


def tail_pit(dist, tail: np.ndarray, threshold: float) -> np.ndarray:
    """Conditional probability-integral transforms ``1 - S(y) / S(theta)`` of the tail,
    sorted, with tied scores spread over their cell.

    ``k`` scores tied at ``y`` (after the spacing objective's rounding) take the transforms
    ``u(y') + (i - 1/2) (u(y) - u(y')) / k``, i = 1..k: evenly spread over the probability of
    the cell ``(y', y]`` instead of ``k`` copies of ``u(y)``. The cell reaches down by
    the tail's smallest gap between distinct scores, ``g`` (the metric's step when the
    scores come in steps), and no further than the next lower score: ``y' = max(y - g,
    previous)``, so that for scores on a grid it is the bucket the fit groups them into.
    A metric that counts something (accuracy on a finite set) ties often, and ``k`` equal
    transforms look to a test of uniformity like a lump no continuous law makes; a tied
    group above a gap in otherwise continuous scores keeps a narrow cell, and its lump.
    Untied scores keep their transform.
    """
    from tailstop._spacing import rounding_decimals

    tail = np.asarray(tail, dtype=float)
    above = dist.sf(threshold) if np.isfinite(threshold) else 1.0
    if tail.size < 2:
        return 1.0 - dist.sf(tail) / above
    values, counts = np.unique(np.round(tail, rounding_decimals(tail)), return_counts=True)
    if values.size == tail.size:
        return 1.0 - dist.sf(np.sort(tail)) / above
    top = 1.0 - dist.sf(values) / above
    if values.size > 1:
        gap = float(np.min(np.diff(values)))
        previous = np.concatenate([[threshold], values[:-1]])
        floor = np.maximum(values - gap, previous)
    else:  # one tied score: its cell is the whole tail
        floor = np.array([threshold])
    tied = counts > 1
    bottom = top.copy()
    bottom[tied] = 1.0 - dist.sf(floor[tied]) / above  # (sf(-inf) = 1: from 0)
    share = (np.arange(tail.size) - np.repeat(np.cumsum(counts) - counts, counts) + 0.5)
    share /= np.repeat(counts, counts)
    share[np.repeat(~tied, counts)] = 1.0
    return np.repeat(bottom, counts) + share * np.repeat(top - bottom, counts)


def tail_statistic(ys: np.ndarray, tail_size: int, *, c_max: int = 10) -> float:
    """Anderson-Darling statistic of the fitted tail of size ``tail_size`` (for the table)."""
    dist, threshold = fit_tail(ys, tail_size, c_max=c_max)
    tail = ys[ys > threshold]
    return anderson_darling(tail_pit(dist, tail, threshold))


def p_value(statistic: float, tail_size: int) -> float:
    """Upper-tail p-value of the tail statistic under the tabulated null distribution.

    Interpolated between tabulated tail sizes on a log scale; the statistic's quantiles
    are interpolated linearly in probability (101 levels from the simulated replicates).
    """
    from tailstop import _ad_table

    sizes = np.log(np.asarray(_ad_table.TAIL_SIZES, dtype=float))
    table = np.asarray(_ad_table.QUANTILES)
    x = np.clip(np.log(tail_size), sizes[0], sizes[-1])
    j = int(np.clip(np.searchsorted(sizes, x) - 1, 0, sizes.size - 2))
    w = (x - sizes[j]) / (sizes[j + 1] - sizes[j])
    quantiles = (1 - w) * table[j] + w * table[j + 1]
    levels = np.linspace(0.0, 1.0, quantiles.size)
    if statistic >= quantiles[-1]:
        return float(1.0 / (_ad_table.REPLICATES + 1))
    return float(1.0 - np.interp(statistic, quantiles, levels))


STABILITY_DOF = 3
CANDIDATES_AT_ONCE = 4  # candidate tails whose quick fits are made together


def stability_p_value(ys, shallow, deep, deep_threshold: float, shrink: float,
                      dof: int = STABILITY_DOF) -> float:
    """p-value of the deeper tail's deviance at the shallow fit (module docstring, 2).

    ``shrink`` is ``1 - k_h / k_j``: the share of the deeper fit's variance the shallow
    fit does not also carry; ``dof``: the fitted continuous parameters (a, b and o; 2 when
    the noise is known).
    """
    from scipy import stats

    from tailstop.fitting import spacing_loss

    limits = (deep_threshold, np.inf)
    at_deep = spacing_loss(ys, limits, deep.a, deep.b, deep.c, deep.o, False)
    at_shallow = spacing_loss(ys, limits, shallow.a, shallow.b, shallow.c, shallow.o, False)
    deviance = 2.0 * (ys.size + 1) * (at_shallow - at_deep)
    if not np.isfinite(deviance):
        return 0.0
    return float(stats.chi2.sf(max(deviance, 0.0) / shrink, dof))


def choose_regime(
    ys: np.ndarray,
    n_finite: int,
    *,
    c_max: int,
    b_range: tuple[float, float] = (-np.inf, np.inf),
    alpha: float = 0.1,
    noise: float | None = None,
):
    """Choose the tail by ordered goodness-of-fit tests and ForwardStop (module docstring).

    ``noise``: a known seed noise, which fixes ``o`` in every fit (the stability test then
    has one degree of freedom fewer; the shape test keeps its table, made with ``o`` fitted).

    Returns ``(RegimeChoice, fitted distribution, threshold, deeper)``, ``deeper`` the
    ``(distribution, threshold)`` of the chosen tail's stability partner (the first candidate
    with at most half its points), or None when there is none.
    """
    sizes = candidate_tail_sizes(n_finite)
    fits: dict[int, tuple | Exception] = {}  # a tail's fit, or the FitError it raised

    def fit(*indices: int) -> list:
        # The candidates' tests take quick fits, those a test needs (a candidate and its
        # partner) made together in lock step; the chosen tail and its partner, which the
        # estimate is built on, the full global search (below).
        wanted = [j for j in dict.fromkeys(indices) if j not in fits]
        if wanted:
            found = fit_tails(ys, [int(sizes[j]) for j in wanted], c_max=c_max,
                              b_range=b_range, noise=noise)
            fits.update(zip(wanted, found, strict=True))
        for j in indices:
            found_j = fits[j]
            if isinstance(found_j, Exception):
                raise found_j
        return [fits[j] for j in indices]

    p_values: list[float] = []
    running = 0.0
    for j in range(sizes.size):
        h = deeper_index(sizes, j)
        if j not in fits:  # the next few candidates' tests too: ForwardStop runs on
            # past the first one that fits, so their fits are rarely wasted
            ahead = range(j, min(j + CANDIDATES_AT_ONCE, sizes.size))
            fit(*ahead, *(k for i in ahead if (k := deeper_index(sizes, i)) is not None))
        (dist, threshold), *partner = fit(j) if h is None else fit(j, h)
        tail = ys[ys > threshold]
        p_shape = p_value(anderson_darling(tail_pit(dist, tail, threshold)), tail.size)
        p_stable = 1.0
        if h is not None:
            deep, deep_threshold = partner[0]
            p_stable = stability_p_value(ys, dist, deep, deep_threshold, 1 - sizes[h] / sizes[j],
                                         STABILITY_DOF - (noise is not None))
        p_values.append(min(1.0, 2.0 * min(p_shape, p_stable)))
        running -= np.log1p(-min(p_values[-1], 1 - 1e-16))
        if running > alpha * sizes.size:
            break
    rejected = forward_stop(np.asarray(p_values), alpha)
    chosen = min(rejected, sizes.size - 1)
    choice = RegimeChoice(
        tail_size=int(sizes[chosen]),
        threshold=tail_threshold(ys, int(sizes[chosen])),
        candidates=tuple(int(k) for k in sizes),
        p_values=tuple(p_values),
        rejected=rejected,
    )
    return (choice, *fit_chosen(ys, choice, c_max=c_max, b_range=b_range, noise=noise))


def fit_chosen(ys: np.ndarray, choice: RegimeChoice, *, c_max: int,
               b_range: tuple[float, float] = (-np.inf, np.inf), noise: float | None = None):
    """``(distribution, threshold, deeper)`` of the tail ``choice`` chose and of its
    stability partner (``deeper``: ``(distribution, threshold)``, or None when there is
    none), from the full global search, the two in lock step. With a known ``noise`` the
    tail is the one chosen with the noise fitted (:func:`tailstop.estimate.analyze`)."""
    sizes = np.asarray(choice.candidates)
    chosen = int(np.flatnonzero(sizes == choice.tail_size)[0])
    h = deeper_index(sizes, chosen)
    full = fit_tails(ys, [int(sizes[j]) for j in (chosen, h) if j is not None], c_max=c_max,
                     b_range=b_range, quick=False, noise=noise)
    for found in full:
        if isinstance(found, Exception):
            raise found
    (dist, threshold), *partner = full
    return dist, threshold, (partner[0] if partner else None)


def deeper_index(sizes: np.ndarray, j: int) -> int | None:
    """Index of the first candidate tail with at most half the points of candidate ``j``."""
    deeper = np.flatnonzero(sizes <= sizes[j] / 2)
    return int(deeper[0]) if deeper.size else None

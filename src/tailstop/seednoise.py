"""``seed_noise``: the seed noise of a search, measured by re-running configurations.

The noisy quadratic law's ``o`` is the standard deviation of one configuration's score over
seeds (data order, initialisation, dropout, ...). ``analyze(..., noise=)`` can hold it fixed
instead of fitting it, which helps small searches most; this module measures it from re-runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Set

import numpy as np
from scipy import special

from tailstop._data import is_real_scalar, score_value
from tailstop.errors import InvalidDataError, InvalidParameterError, NotEnoughTrials
from tailstop.estimate import Interval

__all__ = ["seed_noise"]


def _groups(runs) -> list[np.ndarray]:
    """Each configuration's scores as a float array, failed runs (None, NaN, inf) dropped."""
    if isinstance(runs, Mapping):
        runs = list(runs.values())
    elif isinstance(runs, np.ndarray):
        if runs.ndim != 2:
            raise InvalidDataError(
                f"runs as an array must be 2-D (configurations x seeds), got shape {runs.shape}"
            )
        runs = list(runs)
    elif isinstance(runs, (str, bytes, Set)) or not isinstance(runs, Iterable):
        raise InvalidDataError(
            "runs must be a sequence of score sequences, one per configuration, "
            f"got {type(runs).__name__}"
        )
    groups = []
    for index, group in enumerate(runs):
        if isinstance(group, (str, bytes, Set)) or not isinstance(group, Iterable):
            raise InvalidDataError(
                f"runs[{index}] must be a sequence of one configuration's scores over seeds "
                f"(not a set, which drops tied seeds), got {group!r}"
            )
        if isinstance(group, np.ndarray) and group.dtype.kind in "fiu" and group.ndim == 1:
            array = group.astype(float)
        else:
            values = list(group)
            if any(isinstance(v, Iterable) and not isinstance(v, (str, bytes)) for v in values):
                raise InvalidDataError(
                    f"runs[{index}] must be a flat sequence of scores, got {group!r}"
                )
            # the same rule as analyze's: None/NaN/inf failed, strings and bools refused
            array = np.array([score_value(v, f"runs[{index}][{j}]") for j, v in enumerate(values)])
        groups.append(array[np.isfinite(array)])
    return groups


def seed_noise(runs, *, confidence: float = 0.9) -> Interval:
    r"""The seed noise's standard deviation, pooled over re-run configurations.

    Pass each configuration's scores over several seeds; the estimate is the pooled standard
    deviation, the root of the configurations' sample variances averaged with their degrees of
    freedom as weights:

    .. math::

        \hat\sigma^2 = \frac{\sum_i \sum_j (y_{ij} - \bar y_i)^2}{\nu},
        \qquad \nu = \sum_i (n_i - 1),

    and the interval from :math:`\nu_e \hat\sigma^2 / \sigma^2 \sim \chi^2_{\nu_e}`:
    :math:`[\hat\sigma \sqrt{\nu_e / \chi^2_{\nu_e, (1+\gamma)/2}},\;
    \hat\sigma \sqrt{\nu_e / \chi^2_{\nu_e, (1-\gamma)/2}}]` at confidence :math:`\gamma`.
    For normal noise :math:`\nu_e = \nu` and the interval is exact (e.g. Montgomery, *Design
    and Analysis of Experiments*, sec. 3.3); a heavier-tailed noise spreads the variance more,
    and :math:`\nu_e < \nu` matches that spread from the residuals' kurtosis
    (:func:`effective_dof`). Measured at 90% (``examples/benchmarks/bench_seed_noise.py``):
    0.89-0.91 for normal noise, 0.84-0.87 for Student's t with 5 degrees of freedom (0.78-0.87
    with the plain chi-square interval: a few re-runs rarely show how heavy the tails are).

    What to re-run: several good configurations (three to five of the best, say), each with
    a few *new* seeds; leave out the score each had in the search. The law's noise is the
    noise near the optimum, and the noise varies between configurations: the single best one
    is selected partly for a lucky draw, which favours configurations whose scores vary more,
    so its noise alone runs high (on a gradient-boosting search, 23% high).

    Parameters
    ----------
    runs : sequence of sequences of float, 2-D array, or mapping
        One entry per configuration: its scores over seeds (a mapping's values are used, e.g.
        ``{config_id: [scores]}``; a 2-D array has one row per configuration, NaN for a
        missing run). None, NaN and inf are failed runs and are left out; a configuration with
        fewer than two finite scores adds nothing.
    confidence : float
        Confidence level of the interval, in [0.5, 1) (as for ``analyze``).

    Returns
    -------
    Interval
        ``(estimate, low, high)``: the pooled standard deviation and its confidence interval.
        Pass ``estimate`` as ``noise=`` to :func:`tailstop.analyze`, :class:`tailstop.Monitor`
        or the callbacks.

    Raises
    ------
    InvalidDataError
        ``runs`` is not a collection of score sequences, or holds a value that is not a number.
    NotEnoughTrials
        No configuration has two finite scores (no degree of freedom).
    InvalidParameterError
        ``confidence`` is not in [0.5, 1).

    Examples
    --------
    Three configurations, re-run with three or four seeds each (one run failed):

    >>> from tailstop import seed_noise
    >>> noise = seed_noise([[0.812, 0.806, 0.809], [0.797, 0.804, 0.801, None],
    ...                     [0.790, 0.783, 0.788, 0.785]])
    >>> round(noise.estimate, 4), round(noise.low, 4), round(noise.high, 4)
    (0.0032, 0.0023, 0.0058)

    Then ``analyze(scores, "maximize", noise=noise.estimate)``.
    """
    if not is_real_scalar(confidence) or not 0.5 <= float(confidence) < 1:
        # (as analyze's: below about 0.2 the interval would miss its own estimate, the
        # pooled std not being the median of its sampling law)
        raise InvalidParameterError(f"confidence must be in [0.5, 1), got {confidence!r}")
    groups = _groups(runs)
    dof = sum(max(group.size - 1, 0) for group in groups)
    if dof == 0:
        raise NotEnoughTrials(
            "seed_noise needs at least one configuration with 2 or more finite scores "
            f"(got {len(groups)} configuration(s), each with at most one)"
        )
    # each configuration's deviations from its mean, in units of the largest: squares and
    # fourth powers of scores on any scale neither underflow nor overflow
    deviations = [group - group.mean() for group in groups if group.size > 1]
    unit = max(float(np.max(np.abs(d))) for d in deviations)
    if unit == 0:  # every configuration tied over its seeds
        return Interval(0.0, 0.0, 0.0)
    deviations = [d / unit for d in deviations]
    variance = sum(float(np.sum(d**2)) for d in deviations) / dof
    nu = effective_dof(deviations, variance)
    tail = (1 - float(confidence)) / 2
    # chdtri(nu, p) is the chi-square quantile with upper-tail probability p
    low = math.sqrt(nu * variance / special.chdtri(nu, tail))
    high = math.sqrt(nu * variance / special.chdtri(nu, 1 - tail))
    found = Interval(unit * math.sqrt(variance), unit * low, unit * high)
    if not all(math.isfinite(v) for v in found[:2]):
        raise InvalidDataError(
            f"the scores' spread over seeds overflows floating point (std {found.estimate}); "
            "rescale them"
        )
    return found


def noise_kurtosis(groups: list[np.ndarray], variance: float) -> float:
    r"""The kurtosis :math:`\gamma = \mu_4 / \sigma^4` of the noise, from within-group residuals.

    A group of ``n`` scores has :math:`E \sum_j (y_j - \bar y)^4 = A_n \mu_4 + B_n \sigma^4`
    with :math:`A_n = (n-1)(n^2-3n+3)/n^2` and :math:`B_n = 3(2n-3)(n-1)/n^2` (the moments of
    deviations from a sample mean; Kendall & Stuart, *The Advanced Theory of Statistics*
    vol. 1, ch. 12): a moment estimate over all groups, with :math:`\hat\sigma^2` for
    :math:`\sigma^2`. Each group needs ``n >= 2``.
    """
    sizes = np.array([group.size for group in groups], dtype=float)
    scale = math.sqrt(variance)
    fourth = sum(float(np.sum(((group - group.mean()) / scale) ** 4)) for group in groups)
    a = float(np.sum((sizes - 1) * (sizes**2 - 3 * sizes + 3) / sizes**2))
    b = float(np.sum(3 * (2 * sizes - 3) * (sizes - 1) / sizes**2))
    return (fourth - b) / a


def effective_dof(groups: list[np.ndarray], variance: float) -> float:
    r"""Degrees of freedom of the chi-square law that matches the pooled variance's spread.

    :math:`\operatorname{Var}(s_i^2) = \sigma^4 (\gamma / n_i - (n_i - 3) / (n_i (n_i - 1)))`
    for any noise of kurtosis :math:`\gamma` (:math:`2 \sigma^4 / (n_i - 1)` when normal), so the
    pooled :math:`\hat\sigma^2 = \sum_i \nu_i s_i^2 / \nu` has relative variance
    :math:`v = \sum_i \nu_i^2 (\gamma / n_i - (n_i - 3) / (n_i \nu_i)) / \nu^2`, and the
    chi-square law with :math:`\nu_e = 2 / v` degrees of freedom has the same (a Satterthwaite
    match, as Bonett 2006 adjusts for the kurtosis). :math:`\gamma` is
    :func:`noise_kurtosis`, never below 3: a lighter-tailed estimate from a few re-runs is more
    likely chance than a narrower truth, and with 3 the interval is the exact normal one.
    """
    sizes = np.array([group.size for group in groups], dtype=float)
    gamma = max(noise_kurtosis(groups, variance), 3.0)
    dofs = sizes - 1
    relative = float(np.sum(dofs**2 * (gamma / sizes - (sizes - 3) / (sizes * dofs))))
    return 2.0 * float(np.sum(dofs)) ** 2 / relative

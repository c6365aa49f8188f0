"""``seed_noise``: the seed noise of a search, measured by re-running configurations.

The noisy quadratic law's ``o`` is the standard deviation of one configuration's score over
seeds (data order, initialisation, dropout, ...). ``analyze(..., noise=)`` can hold it fixed
instead of fitting it, which helps small searches most; this module measures it from re-runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from scipy import special

from tailstop._data import score_value
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
    elif isinstance(runs, (str, bytes)) or not isinstance(runs, Iterable):
        raise InvalidDataError(
            "runs must be a sequence of score sequences, one per configuration, "
            f"got {type(runs).__name__}"
        )
    groups = []
    for index, group in enumerate(runs):
        if isinstance(group, (str, bytes)) or not isinstance(group, Iterable):
            raise InvalidDataError(
                f"runs[{index}] must be a sequence of one configuration's scores over seeds, "
                f"got {group!r}"
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

    and the interval the exact one for normal noise of one standard deviation,
    :math:`\nu \hat\sigma^2 / \sigma^2 \sim \chi^2_\nu` (e.g. Montgomery, *Design and Analysis
    of Experiments*, sec. 3.3):
    :math:`[\hat\sigma \sqrt{\nu / \chi^2_{\nu, (1+\gamma)/2}},\;
    \hat\sigma \sqrt{\nu / \chi^2_{\nu, (1-\gamma)/2}}]` at confidence :math:`\gamma`.

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
        Confidence level of the interval, in (0, 1).

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
        ``confidence`` is not in (0, 1).

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
    if isinstance(confidence, bool) or not isinstance(
        confidence, (int, float, np.integer, np.floating)
    ) or not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence must be in (0, 1), got {confidence!r}")
    groups = _groups(runs)
    dof = sum(max(group.size - 1, 0) for group in groups)
    if dof == 0:
        raise NotEnoughTrials(
            "seed_noise needs at least one configuration with 2 or more finite scores "
            f"(got {len(groups)} configuration(s), each with at most one)"
        )
    squares = sum(
        float(np.sum((group - group.mean()) ** 2)) for group in groups if group.size > 1
    )
    variance = squares / dof
    estimate = math.sqrt(variance)
    tail = (1 - float(confidence)) / 2
    # chdtri(dof, p) is the chi-square quantile with upper-tail probability p
    low = math.sqrt(squares / special.chdtri(dof, tail))
    high = math.sqrt(squares / special.chdtri(dof, 1 - tail))
    return Interval(estimate, low, high)

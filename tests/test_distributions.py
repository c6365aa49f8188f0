"""Tests of tailstop.distributions and its numerical kernel tailstop._moments."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from mpmath_reference import reference
from scipy import stats

from tailstop import _moments, _standard
from tailstop.distributions import NoisyQuadraticDistribution, QuadraticDistribution
from tailstop.errors import InvalidParameterError

NQ, Q = NoisyQuadraticDistribution, QuadraticDistribution
NOISE_RATIOS = (1e-8, 1e-6, 1e-4, 1e-2, 0.1, 1.0, 10.0, 1e3)


# ----------------------------------------------------------------------------------------
# an independent reference: Gauss-Legendre quadrature in mpmath


def test_reference_against_closed_form():
    """For c = 2 the moments are closed forms: the reference must reproduce them."""
    with mp.workdps(40):
        for m, s in ((0.3, 0.01), (-0.05, 0.01), (1.2, 0.1), (0.5, 3.0)):
            m_, s_ = mp.mpf(m), mp.mpf(s)
            mass = mp.ncdf((1 - m_) / s_) - mp.ncdf(-m_ / s_)
            mass = mp.ncdf(m_ / s_) - mp.ncdf((m_ - 1) / s_) if m < 0 else mass
            first = m_ * mass + s_ * (mp.npdf(-m_ / s_) - mp.npdf((1 - m_) / s_))
            cdf, _, pdf = reference(m, s, 2)
            assert cdf == pytest.approx(float(mp.ncdf((m_ - 1) / s_) + first), rel=1e-13)
            assert pdf == pytest.approx(float(mass), rel=1e-13)


# ----------------------------------------------------------------------------------------
# accuracy against mpmath


def _grid(s: float) -> np.ndarray:
    """Standard points: in the tails, at and near both ends, and inside."""
    points = [-5 * s, -s, 0.0, 1e-6, 3 * s, 0.3, 1 - 1e-6, 1.0, 1 + s, 1 + 3 * s]
    return np.unique(np.array(points))


@pytest.mark.parametrize("c", range(1, 11))
def test_accuracy_against_mpmath(c):
    """CDF absolute error <= 1e-9, PDF relative error <= 1e-7 (the targets; we are at
    ~1e-13 and ~1e-9), both forms, small arrays (exact kernel) and large ones (tables)."""
    a, b = -0.3, 0.9
    width = b - a
    for s in NOISE_RATIOS:
        m = _grid(s)
        exact = np.array([reference(float(x), s, c) for x in m])
        for convex in (True, False):
            dist = NQ(a, b, c, s * width, convex)
            ys = a + width * m if convex else b - width * m
            cdf_true = exact[:, 0] if convex else exact[:, 1]
            sf_true = exact[:, 1] if convex else exact[:, 0]
            pdf_true = exact[:, 2] / width
            big = np.tile(ys, 2 * _standard._FAST_SIZE // ys.size + 1)
            for cdf, sf, pdf in ((dist.cdf(ys), dist.sf(ys), dist.pdf(ys)),
                                 (dist.cdf(big)[: ys.size], dist.sf(big)[: ys.size],
                                  dist.pdf(big)[: ys.size])):
                np.testing.assert_allclose(cdf, cdf_true, rtol=0, atol=1e-9)
                np.testing.assert_allclose(sf, sf_true, rtol=0, atol=1e-9)
                np.testing.assert_allclose(pdf, pdf_true, rtol=1e-7, atol=0)
                # the small side is accurate relatively too (to ~1e-9: the conversion of
                # y to m near 1 carries the rounding of m, amplified by |t| ~ 3)
                small = np.minimum(cdf_true, sf_true) > 1e-300
                lower = cdf_true < 0.5
                np.testing.assert_allclose(cdf[lower & small], cdf_true[lower & small],
                                           rtol=1e-7)
                np.testing.assert_allclose(sf[~lower & small], sf_true[~lower & small],
                                           rtol=1e-7)


def test_far_tails_are_relatively_accurate():
    """Many noise widths out, where the CDF is 1e-20 .. 1e-200 (measured within 1e-13 of
    the reference; a plain mp.quad, an audit's reference, was off by up to 4e-8 there)."""
    for c, s in ((1, 0.01), (2, 0.1), (5, 1.0), (10, 1e-4), (10, 1e-8), (4, 0.03)):
        for m in (-5 * s, -10 * s, -20 * s, -30 * s, 1 + 10 * s):
            cdf, sf, pdf = reference(m, s, c)
            assert _moments.std_cdf(m, c, s) == pytest.approx(cdf, rel=1e-12)
            assert _moments.std_sf(m, c, s) == pytest.approx(sf, rel=1e-12)
            assert _moments.std_pdf(m, c, s) == pytest.approx(pdf, rel=1e-11)


@pytest.mark.parametrize("c", [1, 2, 3, 6, 10])
def test_wide_kernel_route_against_mpmath(c):
    """A noise ratio above 1/40 within 8 noise widths of the support takes one fixed rule
    where no series serves (``_quadrature._wide``, 32 to 112 points): relative error <= 1e-11 at
    its corners (s just above each rule's least, 8 widths beyond either end, where the kernel
    varies most over [0, 1]) and inside."""
    # (just above the rules' least s: 1/40, 1/30, 1/20, 1/16, 1/6)
    for s in (0.02501, 0.03334, 0.0501, 0.0626, 0.1667, 0.5, 3.0, 300.0):
        for m in (-8 * s, -s, 0.0, 0.5, 1.0, 1 + s, 1 + 8 * s):
            cdf, sf, pdf = reference(m, s, c)
            assert _moments.std_cdf(m, c, s) == pytest.approx(cdf, rel=1e-11)
            assert _moments.std_sf(m, c, s) == pytest.approx(sf, rel=1e-11)
            assert _moments.std_pdf(m, c, s) == pytest.approx(pdf, rel=1e-11)


# ----------------------------------------------------------------------------------------
# the kernel contract (the fit calls it with (K, n) points and (K, 1) noise ratios)


def test_kernel_broadcasts_batches():
    rng = np.random.default_rng(0)
    m = rng.uniform(-0.2, 1.2, (7, 50))
    s = np.exp(rng.uniform(np.log(1e-6), np.log(3.0), (7, 1)))
    for c in (1, 2, 5):
        for function in (_moments.std_cdf, _moments.std_sf, _moments.std_pdf):
            batch = function(m, c, s)
            assert batch.shape == m.shape
            rows = np.array([function(m[i], c, float(s[i, 0])) for i in range(m.shape[0])])
            np.testing.assert_allclose(batch, rows, rtol=1e-14, atol=1e-300)
        # G and 1 - G are separate integrals (each non-negative, no cancellation): their sum
        # is 1 to the rounding of their rules (the wide rule's up to 112 nodes: 6e-15 with
        # numpy 1.24's exp on this row of s = 0.043)
        total = _moments.std_cdf(m, c, s) + _moments.std_sf(m, c, s)
        np.testing.assert_allclose(total, 1.0, rtol=0, atol=1e-14)


def test_kernel_noiseless_and_huge_noise():
    m = np.array([-0.1, 0.0, 0.25, 1.0, 1.5])
    np.testing.assert_allclose(_moments.std_cdf(m, 3, 0.0), [0, 0, 0.125, 1, 1])
    np.testing.assert_allclose(_moments.std_sf(m, 3, 0.0), [1, 1, 0.875, 0, 0])
    np.testing.assert_allclose(_moments.std_pdf(m, 3, 0.0), [0, 0, 0.75, 1.5, 0])
    # s = 1e3: within 1e-9 of the normal with the same mean and variance
    s, c = 1e3, 4
    m = s * np.linspace(-5, 5, 11)
    mean, sd = c / (c + 2.0), np.sqrt(s**2 + 4.0 * c / ((c + 2.0) ** 2 * (c + 4.0)))
    np.testing.assert_allclose(_moments.std_cdf(m, c, s), stats.norm.cdf(m, mean, sd),
                               atol=1e-9)


# ----------------------------------------------------------------------------------------
# shape of the distribution functions


@pytest.mark.parametrize("c", [1, 2, 3, 10])
@pytest.mark.parametrize("ratio", [1e-7, 1e-3, 0.05, 1.0])
def test_cdf_monotone_and_pdf_its_derivative(c, ratio):
    dist = NQ(0.1, 0.6, c, 0.5 * ratio, convex=c % 2 == 0)
    o = dist.o
    ys = np.linspace(dist.a - 8 * o, dist.b + 8 * o, 20_001)
    for array in (ys, ys[:1000], ys[::7]):
        cdf, sf = dist.cdf(array), dist.sf(array)
        # non-decreasing; where the CDF rounds to 1, up to one unit in the last place
        assert np.all(np.diff(cdf) >= -2.3e-16)
        assert np.all(np.diff(sf) <= 2.3e-16)
        small = cdf[:-1] < 0.5
        assert np.all(np.diff(cdf)[small] >= 0.0)
    inner = np.linspace(dist.a + 0.05, dist.b - 0.05, 9)
    step = 1e-5 * (dist.b - dist.a)
    slope = (dist.cdf(inner + step) - dist.cdf(inner - step)) / (2 * step)
    np.testing.assert_allclose(dist.pdf(inner), slope, rtol=1e-5)


@pytest.mark.parametrize("c", [1, 4, 9])
@pytest.mark.parametrize("s", [1e-3, 0.03, 0.07, 0.3, 3.0])
def test_edge_tables_are_monotone_across_their_pieces(c, s):
    """The large arrays' tables of G and 1 - G, on a grid far finer than their pieces
    (1/128 noise width): non-decreasing (non-increasing) to within one unit in the last place
    where the value rounds near 1, and exactly where it is below 1/2 (pieces whose value is
    near 1 hold minus the complement: an interpolant of the values themselves stepped back by
    four units between pieces)."""
    law = _standard.Standard(c, s)
    near_ends = s * np.linspace(-8.0, 10.0, 200_001)
    m = np.unique(np.concatenate([near_ends, 1.0 - near_ends]))
    for which, sign in (("cdf", 1.0), ("sf", -1.0)):
        values = law._evaluate(m, which, True)
        steps = sign * np.diff(values)
        assert steps.min() >= -2.3e-16, which
        small = np.minimum(values[:-1], values[1:]) < 0.5
        assert steps[small].min() >= 0.0, which


def test_large_arrays_agree_with_the_exact_kernel():
    """The tables of large arrays: G and 1 - G to 1e-10 relative, the density (degree 3 on
    pieces of 1/256 noise width) to 1e-9."""
    rng = np.random.default_rng(1)
    for c in (1, 4, 7):
        for s in (1e-7, 1e-3, 0.03, 0.2, 5.0):
            dist = NQ(0.0, 1.0, c, s)
            ys = rng.uniform(-12 * s, 1 + 12 * s, 3 * _standard._FAST_SIZE)
            for method in ("cdf", "sf", "pdf"):
                fast = getattr(dist, method)(ys)
                exact = np.array([getattr(dist, method)(y) for y in ys[::97]])
                rtol = 1e-9 if method == "pdf" else 1e-10
                np.testing.assert_allclose(fast[::97], exact, rtol=rtol, atol=1e-300)


@pytest.mark.parametrize("origin", [-3.0, 1190.0, 1e7])
def test_large_arrays_far_from_zero_agree_with_the_exact_kernel(origin):
    """Large arrays of a distribution whose support lies far from zero relative to its width:
    the map to the table's position folds y's offset in (merged tables) up to |a| = 1e4 (b - a),
    beyond it takes m first; either way within the tables' error of the kernel."""
    width = 0.12
    for c in (1, 4):
        for s in (0.06, 0.4):
            for convex in (True, False):
                dist = NQ(origin, origin + width, c, s * width, convex)
                span = dist.b - dist.a
                ys = np.linspace(dist.a - 10 * dist.o, dist.b + 10 * dist.o,
                                 3 * _standard._FAST_SIZE)
                m = (ys - dist.a) / span if convex else (dist.b - ys) / span
                for method, kernel in (("cdf", "cdf" if convex else "sf"),
                                       ("sf", "sf" if convex else "cdf"), ("pdf", "pdf")):
                    exact = _moments._evaluate(m, c, dist.o / span, kernel)
                    if method == "pdf":
                        exact = exact / span
                    np.testing.assert_allclose(getattr(dist, method)(ys), exact, rtol=2e-9,
                                               atol=1e-300)


# ----------------------------------------------------------------------------------------
# quantiles


@pytest.mark.parametrize("c", [1, 2, 3, 6, 10])
@pytest.mark.parametrize("ratio", [1e-8, 1e-3, 0.1, 2.0])
@pytest.mark.parametrize("convex", [True, False])
def test_ppf_inverts_cdf(c, ratio, convex):
    """ppf(cdf(y)) = y to 1e-9 max(|y|, b - a) inside the support, wherever the CDF can
    resolve it (density (b - a) f(y) > 1e-6: near the best end of c >= 3 the CDF is
    within 1e-16 of 0 or 1 and no quantile can recover y from it); isf(sf(y)) likewise."""
    a, b = 0.6, 0.72
    width = b - a
    dist = NQ(a, b, c, ratio * width, convex)
    for ys in (np.linspace(a, b, 401), np.linspace(a, b, 3 * _standard._FAST_SIZE)):
        resolved = dist.pdf(ys) * width > 1e-6
        tolerance = 1e-9 * np.maximum(np.abs(ys), width)
        for forward, backward in ((dist.cdf, dist.ppf), (dist.sf, dist.isf)):
            level = forward(ys)
            ok = resolved & (level > 0.0) & (level < 1.0)
            assert ok.mean() > 0.5
            error = np.abs(backward(level) - ys)
            assert np.all(error[ok] <= tolerance[ok])


def test_ppf_ends_and_tails():
    dist = NQ(0.0, 1.0, 3, 0.01)
    assert dist.ppf(0.0) == -np.inf and dist.ppf(1.0) == np.inf
    assert dist.isf(0.0) == np.inf and dist.isf(1.0) == -np.inf
    for q in (1e-300, 1e-50, 1e-10):
        assert dist.cdf(dist.ppf(q)) == pytest.approx(q, rel=1e-12)
        assert dist.sf(dist.isf(q)) == pytest.approx(q, rel=1e-12)
    noiseless = Q(0.0, 2.0, 3)
    assert noiseless.ppf(0.0) == 0.0 and noiseless.ppf(1.0) == 2.0
    assert NQ(0.0, 2.0, 3, 0.0).ppf(1.0) == 2.0


# ----------------------------------------------------------------------------------------
# interface: shapes, validation, equality


@pytest.mark.parametrize("dist", [Q(0.0, 1.0, 3), NQ(0.0, 1.0, 3, 0.1, True),
                                  NQ(1.0, 1.0, 2, 0.1), NQ(1.0, 1.0, 2, 0.0)])
def test_shapes(dist):
    for method in ("pdf", "cdf", "sf", "ppf", "isf"):
        function = getattr(dist, method)
        scalar = function(0.5)
        assert isinstance(scalar, np.float64) and np.ndim(scalar) == 0
        assert isinstance(function(np.float64(0.5)), np.float64)
        assert function([0.2, 0.5]).shape == (2,)
        assert function(np.full((3, 4), 0.5)).shape == (3, 4)
        assert np.all(function(np.full((3, 4), 0.5)) == scalar)
    assert isinstance(dist.quantile_tuning_curve(3), np.float64)
    assert dist.quantile_tuning_curve([[1, 2], [3, 4.5]]).shape == (2, 2)
    assert isinstance(dist.average_tuning_curve(3), np.float64)
    assert dist.average_tuning_curve([1, 2, 3.5]).shape == (3,)
    assert isinstance(dist.sample(), float)
    assert dist.sample(5, generator=0).shape == (5,)
    assert dist.sample((2, 3), generator=np.random.default_rng(0)).shape == (2, 3)
    np.testing.assert_array_equal(dist.sample(4, generator=7), dist.sample(4, generator=7))


def test_invalid_parameters():
    bad = [dict(a=np.nan), dict(a=np.inf), dict(b=-np.inf), dict(a=2.0, b=1.0),
           dict(c=0), dict(c=11), dict(c=2.5), dict(c=np.nan), dict(o=-1e-3),
           dict(o=np.inf), dict(convex=1), dict(convex="yes"), dict(a=[0.0, 1.0])]
    for change in bad:
        arguments = dict(a=0.0, b=1.0, c=2, o=0.1, convex=False) | change
        with pytest.raises(InvalidParameterError):
            NQ(**arguments)
        if "o" not in change:
            arguments.pop("o")
            with pytest.raises(InvalidParameterError):
                Q(**arguments)
    assert NQ(0, 1, 3.0, 0, np.True_).c == 3


def test_invalid_method_arguments():
    dist = NQ(0.0, 1.0, 2, 0.1)
    for q in (-0.1, 1.1, [0.5, 2.0], [np.nan, 1.5]):
        with pytest.raises(InvalidParameterError):
            dist.ppf(q)
        with pytest.raises(InvalidParameterError):
            dist.isf(q)
    for ns in (0, -1, [1, 0], np.nan):
        with pytest.raises(InvalidParameterError):
            dist.quantile_tuning_curve(ns)
        with pytest.raises(InvalidParameterError):
            dist.average_tuning_curve(ns)
    for q in (-0.5, 1.5, np.nan, [0.5]):
        with pytest.raises(InvalidParameterError):
            dist.quantile_tuning_curve(3, q=q)
    with pytest.raises(InvalidParameterError):
        dist.average_tuning_curve(3, minimize="yes")
    # numpy would read "0.5" as 0.5 and None as NaN, and fail on a complex number or a mixed
    # list with a bare TypeError or ValueError
    for y in ("0.5", None, 1j, [0.1, "a"], True):
        for method in (dist.pdf, dist.cdf, dist.sf):
            with pytest.raises(InvalidParameterError, match="y must be a real number"):
                method(y)
    with pytest.raises(InvalidParameterError, match="q must be a real number"):
        dist.ppf("0.5")
    with pytest.raises(InvalidParameterError, match="ns must be a real number"):
        dist.average_tuning_curve("5")
    for size in (-1, 2.5, "3", (2, -1), True):
        with pytest.raises(InvalidParameterError, match="size"):
            dist.sample(size)
    with pytest.raises(InvalidParameterError, match="generator"):
        dist.sample(3, generator="seed")
    assert dist.sample((2, 3), generator=0).shape == (2, 3)
    assert dist.sample([2, 3], generator=0).shape == (2, 3)
    assert dist.sample(np.int64(4), generator=0).shape == (4,)


def test_equality_hash_and_repr():
    dist = NQ(0.6, 0.72, 2, 0.005)
    assert repr(dist) == "NoisyQuadraticDistribution(a=0.6, b=0.72, c=2, o=0.005, convex=False)"
    assert repr(Q(0, 1, 3.0, True)) == "QuadraticDistribution(a=0.0, b=1.0, c=3, convex=True)"
    assert dist == NQ(0.6, 0.72, 2.0, 0.005, False) == eval(repr(dist), {
        "NoisyQuadraticDistribution": NQ})
    assert hash(dist) == hash(NQ(0.6, 0.72, 2, 0.005))
    assert dist != NQ(0.6, 0.72, 2, 0.005, True)
    assert dist != NQ(0.6, 0.72, 3, 0.005)
    assert Q(0, 1, 2) != NQ(0, 1, 2, 0.0)
    assert len({dist, NQ(0.6, 0.72, 2, 0.005), Q(0, 1, 2), Q(0, 1, 2)}) == 2


# ----------------------------------------------------------------------------------------
# against samples


@pytest.mark.parametrize("dist", [NQ(-1.0, 1.0, 1, 0.0, True), NQ(0.0, 1.0, 2, 1e-3),
                                  NQ(1.0, 10.0, 10, 2.0, True), NQ(0.0, 1.0, 3, 1e3),
                                  NQ(0.5, 0.5, 4, 0.2), Q(0.2, 0.5, 5)])
def test_mean_and_variance(dist):
    ys = dist.sample(400_000, generator=12345)
    n = ys.size
    assert abs(ys.mean() - dist.mean) <= 6 * np.sqrt(dist.variance / n)
    centred = ys - ys.mean()
    fourth = np.mean(centred**4)
    assert abs(np.mean(centred**2) - dist.variance) <= 6 * np.sqrt(
        (fourth - dist.variance**2) / n)


def _ball_scores(a, b, c, o, convex, n, rng):
    """The generative construction: uniform points in the unit c-ball (by rejection from
    the cube), score a + (b - a) r^2 (convex) or b - (b - a) r^2, plus N(0, o^2) noise."""
    radius2 = np.empty(0)
    while radius2.size < n:
        x = rng.uniform(-1, 1, (50_000, c))
        r2 = np.sum(x * x, axis=1)
        radius2 = np.concatenate([radius2, r2[r2 <= 1]])
    radius2 = radius2[:n]
    scores = a + (b - a) * radius2 if convex else b - (b - a) * radius2
    return scores + o * rng.standard_normal(n)


@pytest.mark.parametrize("c", [1, 2, 3, 10])
@pytest.mark.parametrize("ratio", [0.0, 1e-6, 1e-2, 1.0])
def test_samples_against_cdf(c, ratio):
    rng = np.random.default_rng(100 * c + int(ratio * 1e6) % 97)
    for convex in (True, False):
        dist = NQ(-0.5, 1.5, c, 2.0 * ratio, convex)
        own = dist.sample(3000, generator=rng)
        ball = _ball_scores(-0.5, 1.5, c, 2.0 * ratio, convex, 3000, rng)
        assert stats.kstest(own, dist.cdf).pvalue > 1e-6
        assert stats.kstest(ball, dist.cdf).pvalue > 1e-6


# ----------------------------------------------------------------------------------------
# tuning curves


def test_noiseless_tuning_curves_known_values():
    dist = Q(0.2, 0.5, 3, convex=True)
    ks = [1, 2, 5, 10, 50]
    np.testing.assert_allclose(dist.average_tuning_curve(ks),
                               [0.3800, 0.3350, 0.2835, 0.2553, 0.2197], atol=6e-5)
    np.testing.assert_allclose(dist.quantile_tuning_curve(ks),
                               [0.3890, 0.3323, 0.2768, 0.2495, 0.2172], atol=6e-5)


def _best_of(dist, n, trials, minimize, rng):
    draws = dist.sample((trials, n), generator=rng)
    return draws.min(axis=1) if minimize else draws.max(axis=1)


@pytest.mark.parametrize("dist", [Q(0.2, 0.5, 3, True), Q(-1.0, 2.0, 1), NQ(0, 1, 2, 0.05),
                                  NQ(0.6, 0.72, 1, 0.004, True), NQ(0, 1, 7, 0.3),
                                  NQ(0.5, 0.5, 3, 0.1)])
@pytest.mark.parametrize("minimize", [True, False])
def test_tuning_curves_against_simulation(dist, minimize):
    """Both directions for both forms (the 'cross' cases included)."""
    rng = np.random.default_rng(2024)
    trials = 4000
    for n in (1, 3, 10, 40):
        best = _best_of(dist, n, trials, minimize, rng)
        mean = dist.average_tuning_curve(n, minimize=minimize)
        assert abs(best.mean() - mean) <= 6 * best.std() / np.sqrt(trials)
        for q in (0.2, 0.5, 0.9):
            value = dist.quantile_tuning_curve(n, q=q, minimize=minimize)
            below = np.mean(best <= value)
            assert abs(below - q) <= 6 * np.sqrt(q * (1 - q) / trials)


def test_noisy_average_curve_accuracy():
    """The quadrature against the closed form (o -> 0) and against scipy's quad of
    E[max] = int (1[y > 0] - F(y)^n) dy, to 1e-8 (b - a + o)."""
    from scipy import integrate

    ns = np.array([1.0, 2.5, 10.0, 1e3, 1e5])
    for c in (1, 2, 5):
        for convex in (True, False):
            closed = Q(0.3, 1.3, c, convex)
            tiny = NQ(0.3, 1.3, c, 1e-12, convex)
            for minimize in (True, False):
                np.testing.assert_allclose(tiny.average_tuning_curve(ns, minimize),
                                           closed.average_tuning_curve(ns, minimize),
                                           rtol=0, atol=1e-8)
    for dist in (NQ(0.3, 1.3, 1, 0.05), NQ(0.3, 1.3, 4, 0.2, True)):
        lo, hi = dist.a - 40 * dist.o, dist.b + 40 * dist.o
        for n in (1.0, 7.0, 300.0):
            value, _ = integrate.quad(lambda y, d=dist, n=n: (y > 0) - d.cdf(y) ** n, lo, hi,
                                      points=[dist.a, dist.b], epsabs=1e-12, limit=200)
            expected = value + max(0.0, lo) + min(0.0, hi)
            atol = 1e-8 * (dist.b - dist.a + dist.o)
            assert dist.average_tuning_curve(n, minimize=False) == pytest.approx(
                expected, abs=atol)


def test_duality():
    """Y ~ Q_convex(a, b, c, o) <=> -Y ~ Q_concave(-b, -a, c, o)."""
    ys = np.linspace(-0.5, 2.5, 301)
    qs = np.linspace(0, 1, 101)
    ns = [1, 2, 7.5, 100]
    for c, o in ((1, 0.05), (4, 0.0), (7, 0.5)):
        convex, concave = NQ(0.1, 2.0, c, o, True), NQ(-2.0, -0.1, c, o, False)
        np.testing.assert_allclose(convex.cdf(ys), concave.sf(-ys), rtol=1e-13, atol=1e-300)
        np.testing.assert_allclose(convex.pdf(ys), concave.pdf(-ys), rtol=1e-13)
        np.testing.assert_allclose(convex.ppf(qs), -concave.isf(qs), rtol=1e-12, atol=1e-14)
        for minimize in (True, False):
            np.testing.assert_allclose(
                convex.average_tuning_curve(ns, minimize),
                -concave.average_tuning_curve(ns, not minimize), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(
                convex.quantile_tuning_curve(ns, 0.3, minimize),
                -concave.quantile_tuning_curve(ns, 0.7, not minimize), rtol=1e-9, atol=1e-12)


def test_special_cases():
    ys = np.array([-1.0, 0.0, 0.3, 1.0, 2.0])
    # a == b with noise: exactly normal
    normal = NQ(0.3, 0.3, 5, 0.2)
    np.testing.assert_allclose(normal.cdf(ys), stats.norm.cdf(ys, 0.3, 0.2), rtol=1e-14)
    np.testing.assert_allclose(normal.pdf(ys), stats.norm.pdf(ys, 0.3, 0.2), rtol=1e-14)
    np.testing.assert_allclose(normal.ppf([0.1, 0.7]), stats.norm.ppf([0.1, 0.7], 0.3, 0.2))
    # a point mass
    point = NQ(0.3, 0.3, 5, 0.0)
    np.testing.assert_array_equal(point.cdf(ys), [0, 0, 1, 1, 1])
    assert point.ppf(0.5) == 0.3 and point.average_tuning_curve(10) == 0.3
    # no noise: the quadratic distribution; c = 2: uniform, convex or not
    for convex in (True, False):
        np.testing.assert_allclose(NQ(0, 1, 3, 0.0, convex).cdf(ys), Q(0, 1, 3, convex).cdf(ys))
        np.testing.assert_allclose(Q(0, 2, 2, convex).cdf(ys), np.clip(ys / 2, 0, 1))
    assert Q(0, 1, 1, True).pdf(0.0) == np.inf and Q(0, 1, 1, True).pdf(1.0) == 0.5
    assert Q(0, 1, 1, False).pdf(1.0) == np.inf and Q(0, 1, 4, False).pdf(1.0) == 0.0


def test_extreme_scales():
    """Location-scale invariance over 100 orders of magnitude; s = o / (b - a) from 1e-300
    (the quadratic distribution) to 1e300 (the normal)."""
    ys = np.linspace(-0.1, 1.1, 13)
    unit = NQ(0.0, 1.0, 3, 0.01)
    for scale in (1e-50, 1e50):
        scaled = NQ(scale, 2 * scale, 3, 0.01 * scale)
        np.testing.assert_allclose(scaled.cdf(scale + scale * ys), unit.cdf(ys), rtol=1e-11)
        np.testing.assert_allclose(scale * scaled.pdf(scale + scale * ys), unit.pdf(ys),
                                   rtol=1e-11)
        np.testing.assert_allclose(scaled.ppf([0.1, 0.9]), scale + scale * unit.ppf([0.1, 0.9]),
                                   rtol=1e-13)
    normal = NQ(0.0, 1e-300, 3, 1.0)
    np.testing.assert_allclose(normal.cdf(ys), stats.norm.cdf(ys), rtol=1e-14)
    np.testing.assert_allclose(normal.ppf([1e-10, 0.9]), stats.norm.ppf([1e-10, 0.9]),
                               rtol=1e-12)
    assert normal.average_tuning_curve(10) == pytest.approx(1.538752731, abs=1e-8)
    quadratic, noiseless = NQ(0.0, 1.0, 5, 1e-300), Q(0.0, 1.0, 5)
    # (ys[1] = 1.4e-17 above a: the noiseless cdf there is exact, 3.5e-17, from the distance
    # to a; the noisy law's, from m = 1 - 1.4e-17 rounded, to an absolute 1e-16)
    np.testing.assert_allclose(quadratic.cdf(ys), noiseless.cdf(ys), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(quadratic.ppf([0.1, 0.9]), noiseless.ppf([0.1, 0.9]),
                               rtol=1e-13)


def test_agrees_with_opda():
    """With opda's own values to opda's accuracy (its CDF errs by ~1e-5 for odd c), and
    with the golden values of the reference note (section 4.3, item 6)."""
    parametric = pytest.importorskip("opda.parametric")
    golden = [((0, 1, 1, 0.01, False), 0.9, 0.684175, 1.58719, 0.749904, 0.994542, 0.987005),
              ((0, 1, 2, 0.05, False), 0.5, 0.5, 1.0, 0.5, 0.935343, 0.919772),
              ((0, 1, 3, 0.1, True), 0.2, 0.098387, 0.643512, 0.625953, 0.146800, 0.155226),
              ((0, 1, 5, 0.01, True), 0.7, 0.410120, 1.46427, 0.757762, 0.338888, 0.343469),
              ((0.6, 0.72, 2, 0.005, False), 0.7, 0.833333, 8.33307, 0.66, 0.712085, 0.710003),
              ((0.095, 0.141, 1, 0.001, True), 0.1, 0.327973, 33.518, 0.106522, 0.095098,
               0.095358)]
    for parameters, y, cdf, pdf, median, median_curve, mean_curve in golden:
        ours = NQ(*parameters)
        theirs = parametric.NoisyQuadraticDistribution(*parameters)
        width = parameters[1] - parameters[0]
        values = (ours.cdf(y), ours.pdf(y), ours.ppf(0.5), ours.quantile_tuning_curve(10),
                  ours.average_tuning_curve(10))
        np.testing.assert_allclose(values[0], [cdf, theirs.cdf(y)], atol=1e-5)
        np.testing.assert_allclose(values[1], [pdf, theirs.pdf(y)], rtol=1e-3)
        np.testing.assert_allclose(values[2:], [median, median_curve, mean_curve],
                                   atol=1e-5 * width)
        np.testing.assert_allclose(values[2:], [theirs.ppf(0.5),
                                                theirs.quantile_tuning_curve(10),
                                                theirs.average_tuning_curve(10)],
                                   atol=2e-5 * width)
    noiseless = parametric.QuadraticDistribution(0.2, 0.5, 3, convex=True)
    ns = [1, 2, 5, 10, 50]
    for minimize in (True, False):
        np.testing.assert_allclose(Q(0.2, 0.5, 3, True).average_tuning_curve(ns, minimize),
                                   noiseless.average_tuning_curve(ns, minimize), rtol=1e-12)


@pytest.mark.parametrize("which", ["cdf", "sf", "pdf"])
def test_the_kernel_takes_one_c_per_row(which):
    """A fit's step evaluates the stencils of several c in one call: each row's values are
    those of a call with its c alone (to the quadrature's rounding), on every route (interior,
    near either end, wide kernels, the quadrature, noiseless, infinite and invalid points)."""
    rng = np.random.default_rng(4)
    cs = np.array([1, 2, 3, 4, 7, 10, 2, 5])
    s = np.array([1e-3, 0.02, 0.2, 0.5, 0.0, 0.05, 3.0, 0.1])[:, None]
    m = rng.uniform(-0.3, 1.3, (cs.size, 40))
    m[:, :4] = [np.inf, -np.inf, np.nan, 0.5]
    function = getattr(_moments, f"std_{which}")
    together = function(m, cs[:, None], s)
    for row, c in enumerate(cs):
        alone = function(m[row], int(c), s[row])
        assert np.allclose(together[row], alone, rtol=1e-13, atol=0.0, equal_nan=True)
    # one c in an array is the scalar call exactly
    assert np.array_equal(function(m, np.full((cs.size, 1), 3), s), function(m, 3, s),
                          equal_nan=True)


def test_edges_of_floating_point_in_the_parameters():
    """Found by a fuzzing pass (session 44): a support too wide for a float is refused, a
    subnormal noise behaves as the noiseless law, and a point law's CDF of NaN is NaN."""
    with pytest.raises(InvalidParameterError, match="overflows"):
        NoisyQuadraticDistribution(-1e308, 1e308, 2, 1.0)
    with pytest.raises(InvalidParameterError, match="overflows"):
        QuadraticDistribution(-1e308, 1e308, 2)
    wide = QuadraticDistribution(-1e307, 1e307, 2)
    np.testing.assert_allclose(wide.cdf([-1e307, 0.0, 1e307]), [0.0, 0.5, 1.0])
    noiseless = QuadraticDistribution(0.0, 1.0, 2)
    y = np.array([-1.0, 0.0, 0.3, 1.0, 2.0])
    for o in (1e-310, 5e-324):
        law = NoisyQuadraticDistribution(0.0, 1.0, 2, o)
        np.testing.assert_array_equal(law.cdf(y), noiseless.cdf(y))
        assert np.isfinite(law.pdf(y)).all() and law.ppf(0.5) == noiseless.ppf(0.5)
    for point in (QuadraticDistribution(0, 0, 3), NoisyQuadraticDistribution(0, 0, 3, 0)):
        assert np.isnan(point.cdf(np.nan)) and np.isnan(point.sf(np.nan))
        assert np.isnan(point.pdf(np.nan)) and point.cdf(0.0) == 1.0


@pytest.mark.parametrize(
    "dist", [NQ(0.0, 1.0, 2, 0.1), NQ(0.3, 0.3, 2, 0.1), Q(0.0, 1.0, 3), NQ(0.3, 0.3, 2, 0.0)]
)
def test_nan_probabilities_give_nan_as_in_scipy(dist):
    for method in (dist.ppf, dist.isf):
        assert np.isnan(method(np.nan))
        out = method([np.nan, 0.5])
        assert np.isnan(out[0]) and np.isfinite(out[1])


def test_parameters_cannot_be_changed_under_the_cached_moments():
    dist = NQ(0.0, 1.0, 2, 0.1)
    for name in ("a", "b", "c", "o", "convex", "mean", "variance"):
        with pytest.raises(AttributeError, match="make a new distribution"):
            setattr(dist, name, 0.5)
    assert (dist.b, dist.mean) == (1.0, 0.5)
    with pytest.raises(AttributeError):
        Q(0.0, 1.0, 2).a = -1.0


@pytest.mark.parametrize("convex", [False, True])
@pytest.mark.parametrize("c", [1, 3, 10])
def test_noiseless_average_tuning_curve_does_not_cancel_at_large_n(c, convex):
    """E[min X] for X ~ Beta(c/2, 1) is (2/c) B(n + 1, 2/c); the ratio of gamma functions
    (opda's form) loses every digit of the distance to the optimum by n ~ 1e16."""
    mp.mp.dps = 40
    a, b = 0.1, 0.5
    dist = Q(a, b, c, convex)
    k = mp.mpf(c) / 2
    for n in (1e4, 1e8, 1e12, 1e16, 1e30):
        e_min = mp.exp(mp.loggamma(n + 1) + mp.loggamma(1 + 1 / k) - mp.loggamma(n + 1 + 1 / k))
        # the slow side: distance from the optimum of the best of n
        minimize = convex
        best = dist.average_tuning_curve(n, minimize=minimize)
        optimum = a if convex else b
        exact = float((b - a) * e_min)
        assert abs(abs(best - optimum) - exact) <= 1e-9 * exact + 1e-16
    assert dist.average_tuning_curve(np.inf, minimize=convex) == (a if convex else b)
    assert dist.average_tuning_curve(np.inf, minimize=not convex) == (b if convex else a)


def test_noisy_average_tuning_curve_at_huge_and_infinite_n():
    dist = NQ(0.1, 0.5, 3, 0.01)
    curve = dist.average_tuning_curve([1e100, 1e200, 1e290, 1e300, np.inf])
    assert np.all(np.isfinite(curve[:-1])) and np.all(np.diff(curve) > 0)
    assert curve[-1] == np.inf
    assert dist.average_tuning_curve(np.inf, minimize=True) == -np.inf
    # the best of n exceeds b by about o sqrt(2 ln n)
    expected = 0.5 + 0.01 * np.sqrt(2 * np.log(1e290))
    assert abs(curve[2] - expected) < 0.01
    normal = NQ(0.3, 0.3, 2, 0.01)
    assert np.isfinite(normal.average_tuning_curve(1e300))
    assert normal.average_tuning_curve([5.0, np.inf])[1] == np.inf


@pytest.mark.parametrize("convex", [False, True])
@pytest.mark.parametrize("c", [1, 3, 10])
@pytest.mark.parametrize("ratio", [1e-8, 0.1, 10.0])
def test_quantiles_stay_monotone_below_the_least_normal_probabilities(c, ratio, convex):
    """Tail probabilities underflow near 1e-304; below 1e-300 the quantile continues along
    the Gaussian tail instead of sticking (before: stuck at b + 37 o, then jumping back)."""
    dist = NQ(0.2, 0.7, c, 0.5 * ratio, convex)
    q = np.array([1e-250, 1e-299, 1e-300, 1e-301, 1e-304, 1e-306, 1e-308, 1e-310, 1e-320, 5e-324])
    low, high = dist.ppf(q), dist.isf(q)
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    assert np.all(np.diff(low) < 0) and np.all(np.diff(high) > 0)
    # the continuation's slope matches the solved quantile's just above the floor
    o = dist.o
    solved = (dist.ppf(1e-299) - dist.ppf(1e-300)) / o
    continued = (dist.ppf(1e-300) - dist.ppf(1e-301)) / o
    assert abs(continued / solved - 1) < 0.1


@pytest.mark.parametrize("c", [1, 2, 3, 10])
def test_noiseless_far_side_is_relatively_exact(c):
    """The concave cdf near a and the convex sf near b are 1 - m^(c/2) with m rounded next
    to 1: from the distance to the far end they keep full relative precision (before: 2e-5
    relative at 1e-12 of the width from a; quantiles near a = 0 came out 0)."""
    mp.mp.dps = 40
    a, b = 0.1, 0.5
    width, k = mp.mpf(b) - mp.mpf(a), mp.mpf(c) / 2
    concave, convex, noisy = Q(a, b, c), Q(a, b, c, True), NQ(a, b, c, 0.0)
    for t in (1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.3):
        y = a + t * 0.4
        exact = 1 - ((mp.mpf(b) - mp.mpf(y)) / width) ** k
        assert float(concave.cdf(y)) == pytest.approx(float(exact), rel=1e-14)
        assert float(noisy.cdf(y)) == pytest.approx(float(exact), rel=1e-14)
        y = b - t * 0.4
        exact = 1 - ((mp.mpf(y) - mp.mpf(a)) / width) ** k
        assert float(convex.sf(y)) == pytest.approx(float(exact), rel=1e-14)
    # quantiles of the far side, from a support starting at 0
    law = Q(0.0, 0.8, c)
    for q in (1e-300, 1e-20, 1e-8, 0.1):
        exact = mp.mpf(0.8) * (1 - (1 - mp.mpf(q)) ** (1 / k))
        assert float(law.ppf(q)) == pytest.approx(float(exact), rel=1e-14)
        assert float(Q(-0.8, 0.0, c, True).isf(q)) == pytest.approx(-float(exact), rel=1e-14)
    assert list(law.ppf([0.0, 1.0])) == [0.0, 0.8]
    assert list(concave.cdf([a - 1, a, b, b + 1])) == [0.0, 0.0, 1.0, 1.0]
    assert list(convex.sf([a - 1, a, b, b + 1])) == [1.0, 1.0, 0.0, 0.0]
    assert np.isnan(concave.cdf(np.nan)) and np.isnan(convex.sf(np.nan))

"""The search for a profile interval's end (tailstop._profile), on profiles known in closed form."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from scipy import stats

from tailstop._profile import RTOL, Profile

CRITICAL = float(stats.chi2.ppf(0.9, 1))


class _KnownProfile(Profile):
    """A profile of ``b`` whose deviance at ``v`` is ``deviance(v)``; counts its fits."""

    def __init__(self, deviance, c_of=lambda v: 1):
        self.deviance = deviance
        self.c_of = c_of
        self.best_fit = SimpleNamespace(a=-1.0, b=0.0, c=1, o=0.0)
        self.fits, self.kept = [], []
        self.c_max = 10
        self.noise = None
        self.refits = 0  # fits made (self.fits also holds fits only evaluated)
        self.reuse_ends = True  # as on an update whose new trials fell below the threshold

    def fit(self, constraints, warm=None, *, screen=True):
        v = constraints["b"]
        dist = SimpleNamespace(a=-1.0, b=v, c=self.c_of(v), o=0.0)
        self.fits.append((dist, self.deviance(v)))
        self.refits += 1
        return self.fits[-1]

    def deviance_of(self, dist):
        return self.deviance(dist.b)

    def _farther(self, value, end):
        return None


def _root_deviance_at(profile, v):
    return math.sqrt(profile.deviance(v))


@pytest.mark.parametrize("scale", [1e-3, 0.1, 10.0])
def test_a_quadratic_profile_ends_at_its_crossing_in_a_few_fits(scale):
    profile = _KnownProfile(lambda v: (v / scale) ** 2)
    end = profile.end("b", CRITICAL, 1.0, 0.01 * scale, math.inf, 1e-4 * scale)
    assert _root_deviance_at(profile, end) == pytest.approx(math.sqrt(CRITICAL), rel=RTOL)
    # the secant on the root deviance is exact here, but each step grows at most 5-fold:
    # from 1% of the scale to the crossing at 1.645 takes 4 steps and the last fit
    assert len(profile.fits) <= 6


def test_a_profile_flat_then_steep_is_not_crawled():
    """Flat up to v = 1, then a wall: regula falsi alone crept from the inside by 5% of the
    bracket per fit; with bisection the end is found within xtol of the wall in a few fits."""
    profile = _KnownProfile(lambda v: 0.5 * v if v < 1.0 else 0.5 + 400.0 * (v - 1.0))
    end = profile.end("b", CRITICAL, 1.0, 0.01, math.inf, 1e-4)
    crossing = 1.0 + (CRITICAL - 0.5) / 400.0
    assert end == pytest.approx(crossing, abs=2e-3)
    assert len(profile.fits) <= 20


def test_an_update_confirms_its_previous_end_without_a_fit():
    """The end's fit before the latest trials, evaluated on the new data, is still at the
    boundary: it stands, with no refit; when the data moved it off, the search runs."""
    profile = _KnownProfile(lambda v: (v / 0.1) ** 2)
    first = profile.end("b", CRITICAL, 1.0, 0.001, math.inf, 1e-5)
    guess_fit = profile.kept[-1][0]
    again = _KnownProfile(lambda v: (v / 0.1) ** 2)
    assert again.end("b", CRITICAL, 1.0, 0.001, math.inf, 1e-5, first, guess_fit) == first
    assert (again.refits, len(again.fits)) == (0, 1)
    moved = _KnownProfile(lambda v: (v / 0.12) ** 2)  # the region grew by 20%
    end = moved.end("b", CRITICAL, 1.0, 0.001, math.inf, 1e-5, first, guess_fit)
    assert moved.refits >= 1
    assert _root_deviance_at(moved, end) == pytest.approx(math.sqrt(CRITICAL), rel=RTOL)


def test_an_end_at_the_limit_is_the_limit():
    profile = _KnownProfile(lambda v: 0.1 * v)
    assert profile.end("b", CRITICAL, 1.0, 0.1, 2.0, 1e-4) == 2.0


def _noiseless_deviance(floor, d0):
    """The spacing deviance of a noiseless end of support at ``floor + x d0`` (its last
    spacing, ``x`` times the fitted one): ``2 (x - 1 - log x)``, infinite at the floor."""
    def deviance(v):
        x = (v - floor) / d0
        return math.inf if x <= 0 else 2.0 * (x - 1.0 - math.log(x))
    return deviance


@pytest.mark.parametrize("d0", [1e-6, 1e-3, 0.5])
@pytest.mark.parametrize(("scale", "crossing"), [(1.0, 0.1055), (2.0, 0.2371), (0.5, 0.0252)])
def test_the_noiseless_end_runs_down_to_its_crossing_near_the_best_observation(
    d0, scale, crossing
):
    floor = 0.7
    deviance = _noiseless_deviance(floor, d0)
    profile = _KnownProfile(lambda v: scale * deviance(v))
    start = SimpleNamespace(a=-1.0, b=floor + d0, c=1, o=0.0)
    end = profile.noiseless_end(CRITICAL, start, 0.0, floor)
    # 2 s (x - 1 - log x) = 2.706: x = 0.1055 at s = 1, a tenth of the fitted last spacing
    assert (end - floor) / d0 == pytest.approx(crossing, rel=0.05)
    assert _root_deviance_at(profile, end) == pytest.approx(math.sqrt(CRITICAL), rel=RTOL)
    assert profile.kept[-1][0].b == end
    assert len(profile.fits) <= 2  # the first from s = 1, the second with s fitted


def test_the_noiseless_end_steps_past_a_profile_unlike_its_model():
    """A profile that is not of the model's form (here linear in log(b - floor)) still ends
    at its crossing, through the bracket."""
    floor, d0 = 0.7, 1e-3
    profile = _KnownProfile(lambda v: 0.4 * max(math.log(d0 / (v - floor)), 0.0) ** 1.5)
    start = SimpleNamespace(a=-1.0, b=floor + d0, c=1, o=0.0)
    end = profile.noiseless_end(CRITICAL, start, 0.0, floor)
    assert _root_deviance_at(profile, end) == pytest.approx(math.sqrt(CRITICAL), rel=RTOL)
    assert len(profile.fits) <= 8


def test_the_noiseless_end_is_none_outside_the_region_and_reused_on_an_update():
    floor, d0 = 0.7, 1e-3
    profile = _KnownProfile(_noiseless_deviance(floor, d0))
    start = SimpleNamespace(a=-1.0, b=floor + d0, c=1, o=0.0)
    assert profile.noiseless_end(CRITICAL, start, 1.5 * CRITICAL, floor) is None
    end = profile.noiseless_end(CRITICAL, start, 0.0, floor)
    again = _KnownProfile(_noiseless_deviance(floor, d0))
    assert again.noiseless_end(CRITICAL, start, 0.0, floor, end, profile.kept[-1][0]) == end
    assert (again.refits, len(again.fits)) == (0, 1)


def test_a_noiseless_region_reaching_the_best_observation_ends_next_to_it():
    """A profile that stays inside the region down to the best observation (its deviance
    even falls there: a better fit on a 10-point tail) ends within ``NOISELESS_RESOLUTION``
    of the distance to it, in a few fits: the search used to step on until ``b`` rounded to
    the best observation and then refit that same point until its 30 fits were spent."""
    from tailstop._gainends import NOISELESS_RESOLUTION

    floor, d0 = 0.7, 1e-3
    profile = _KnownProfile(lambda v: -5.0 + 0.3 * max(math.log(d0 / (v - floor)), 0.0))
    start = SimpleNamespace(a=-1.0, b=floor + d0, c=1, o=0.0)
    end = profile.noiseless_end(CRITICAL, start, 0.0, floor)
    assert floor < end <= floor + 10 * NOISELESS_RESOLUTION * d0
    assert all(dist.b - floor > NOISELESS_RESOLUTION * d0 for dist, _ in profile.fits)
    assert len(profile.fits) <= 12


def test_the_profiles_range_over_the_c_that_reach_inside_the_region():
    profile = _KnownProfile(lambda v: v**2)
    profile.best_fit = SimpleNamespace(a=-1.0, b=0.0, c=3, o=0.0)
    profile.c_range = (1, 10)
    limit = CRITICAL * (1 + RTOL) ** 2  # an end is accepted up to this deviance
    deviances = {3: 0.0, 2: 1.0, 1: CRITICAL + 0.5, 4: 0.99 * limit, 5: 1.01 * limit}
    profile.restrict_dimensions(deviances, CRITICAL)
    assert profile.c_range == (2, 4)
    profile.b_range = (-math.inf, math.inf)
    assert profile.constraints()["c"] == (2, 4)
    profile.restrict_dimensions({3: 0.0}, CRITICAL)  # no other c fitted: the estimate's
    assert profile.c_range == (3, 3)


def test_an_update_fits_a_moved_end_where_its_previous_fit_puts_it():
    """New trials in the tail (no shortcut): the previous end's fit, evaluated on the new
    data, puts the moved end where a first fit confirms it (one fit, not a secant's two)."""
    profile = _KnownProfile(lambda v: (v / 0.1) ** 2)
    first = profile.end("b", CRITICAL, 1.0, 0.001, math.inf, 1e-5)
    guess_fit = profile.kept[-1][0]
    moved = _KnownProfile(lambda v: (v / 0.105) ** 2)  # the region grew by 5% (> RTOL)
    moved.reuse_ends = False
    end = moved.end("b", CRITICAL, 1.0, 0.001, math.inf, 1e-5, first, guess_fit)
    assert moved.refits == 1
    assert _root_deviance_at(moved, end) == pytest.approx(math.sqrt(CRITICAL), rel=RTOL)


def test_a_profiles_next_fit_starts_from_the_secant_of_its_path():
    """Along a profile the constrained optimum moves smoothly: the secant through the last two
    fits puts the next fit's start nearer its optimum than the last fit does."""
    import numpy as np

    from tailstop import NoisyQuadraticDistribution
    from tailstop._intervals import new_profile
    from tailstop._profile import predicted
    from tailstop.fitting import spacing_loss

    ys = NoisyQuadraticDistribution(0.6, 0.72, 2, 0.005).sample(
        300, generator=np.random.default_rng(1)
    )
    threshold = float(np.quantile(ys, 0.6))
    fit = NoisyQuadraticDistribution.fit(ys, limits=(threshold, np.inf),
                                         constraints={"convex": False})
    profile = new_profile(ys, fit, threshold, 10, (-np.inf, np.inf))
    step = -0.5 * fit.o  # down in b: the noise grows along the valley
    values = [fit.b + step, fit.b + 2 * step, fit.b + 3 * step]
    path = [(fit.b, fit)]
    for v in values[:2]:
        path.append((v, profile.fit({"b": v, "c": int(fit.c)}, warm=path[-1][1])[0]))
    target = values[2]
    start = predicted(target, path[-1][1], path, "b")
    assert start.b == target and start.c == fit.c
    optimum = profile.fit({"b": target, "c": int(fit.c)}, warm=path[-1][1])[0]

    def loss(dist):
        return spacing_loss(ys, (threshold, np.inf), dist.a, target, int(dist.c), dist.o, False)

    last = path[-1][1]
    assert loss(optimum) <= loss(start) < loss(last)
    assert abs(start.a - optimum.a) < abs(last.a - optimum.a)
    # no pair of fits at its c, or a value far beyond them: the warm start itself
    assert predicted(target, last, path[:1], "b") is last
    assert predicted(fit.b + 50 * step, last, path, "b") is last
    # without the last fit, a value 1.5 spacings beyond the nearer of the other two (exactly 2
    # would sit on the cut-off, where the fit's last bits decide: they differ between CPUs)
    earlier = [(v, d) for v, d in path if d is not last]
    assert predicted(fit.b + 2.5 * step, last, earlier, "b") is not last


def test_a_start_along_a_path_skips_fits_of_zero_width():
    """A fit on the path whose support has shrunk to a point (b == a: a normal law) has no
    log width to extrapolate: the next start is the warm fit itself, not a math domain error
    (found by fuzzing: a profile of 22 scores near 3e5, spread 2e-3, raised it)."""
    from tailstop import NoisyQuadraticDistribution
    from tailstop._profile import predicted

    warm = NoisyQuadraticDistribution(0.5, 0.7, 2, 0.01, convex=False)
    point = NoisyQuadraticDistribution(0.68, 0.68, 2, 0.02, convex=False)
    path = [(0.7, warm), (0.68, point)]
    assert predicted(0.66, warm, path, "b") is warm
    assert predicted(0.66, point, path, "b") is point

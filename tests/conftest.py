"""Shared test fixtures."""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from tailstop._profile import RTOL

SHARED_SCORES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "scores"
SCORE_FILES = ["alexnet", "convnext-tiny", "deberta-base", "deberta-v3-base"]


def load_scores(name: str) -> np.ndarray:
    """Scores (maximise) of one real search in ../shared/data/scores; skips if absent."""
    path = SHARED_SCORES / f"{name}.csv"
    if not path.exists():
        pytest.skip(f"{path} not available (the shared data sit beside the project in CI)")
    with path.open() as fh:
        return np.array([float(row["score"]) for row in csv.DictReader(fh)])


BENCHMARKS = Path(__file__).resolve().parents[1] / "examples" / "benchmarks"


def load_benchmark(name: str):
    """The module of ``examples/benchmarks/{name}.py`` (scripts, not a package), imported;
    their folder joins ``sys.path``, as when a script runs (they import one another)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def shared_scores():
    return load_scores


@pytest.fixture(scope="session")
def ray_session():
    """Ray, started once per test session (and left alone if someone else started it)."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("TUNE_MAX_PENDING_TRIALS_PG", "2")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


NUMPY_2 = int(np.__version__.split(".")[0]) >= 2


def assert_same_estimate(got, want) -> None:
    """Two estimates of the same data by paths that must not change the result: the same to
    the digit under numpy 2; under numpy 1.24, whose sums round with the arrays' alignment
    and whose threaded OpenBLAS rounds its products as the threads split them,
    the same within the searches' tolerance (1e-4 relative, and 3% for the gains' lower ends,
    which the least-gain fit finds to 3% in root deviance; each end of the remaining gain, the
    best possible's same end minus the current best, to 1e-4 of that end of the best possible:
    1.8e-5 apart in a best possible of 0.25 made a remaining gain of 0.03 differ by 6e-4
    relative, and, scaled by the point estimate instead, failed one run in ten; and the noise
    to 2%, which a small tail pins down only loosely: on 12 trials the loss is so flat along
    it that the two paths' roundings put it 0.6% apart (1.15% in session 49), while every
    other figure agreed to 7e-5); an interval's end to the tolerance its search is made to,
    ``RTOL`` (3%) of its distance from the estimate)."""
    a, b = _flat(got.to_dict()), _flat(want.to_dict())
    if NUMPY_2:
        assert a == b
        return
    numbers = [k for k, v in b.items() if isinstance(v, float)]
    assert {k: v for k, v in a.items() if k not in numbers} == {
        k: v for k, v in b.items() if k not in numbers
    }
    for key in numbers:
        loose = key.startswith("expected_gain.") and key.endswith(".low")
        # (the noise and its interval's estimate are one figure)
        rel = 0.03 if loose else 2e-2 if key in ("noise", "noise_interval.estimate") else 1e-4
        near = 0.0
        if key.startswith("remaining_gain."):
            end = "best_possible." + key.split(".", 1)[1]
            near = 1e-4 * abs(b.get(end, b.get("best_possible.estimate", 0.0)))
        point = key.rsplit(".", 1)[0] + ".estimate"
        if key.endswith((".low", ".high")) and isinstance(b.get(point), float):
            # an interval's end is found to RTOL of the critical root deviance, which is
            # linear in the value near the end: to RTOL of its distance from the estimate
            # (seen: an expected gain's upper end 1e-3 apart on two paths)
            near = max(near, RTOL * abs(b[key] - b[point]))
        assert a[key] == pytest.approx(b[key], rel=rel, abs=near), key


def _flat(report: dict, prefix: str = "") -> dict:
    """A report's entries by their path (``"best_possible.low"``)."""
    out = {}
    for key, value in report.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


@pytest.fixture
def held_refit(monkeypatch):
    """Every refit of a :class:`tailstop.Monitor` waits, once it has begun, until the test
    sets ``release``: yields ``(entered, release)``, two ``threading.Event``s (``entered``
    is set when a refit begins). Released at the end of the test whatever happened."""
    import threading

    import tailstop.monitor

    entered, release = threading.Event(), threading.Event()
    fit = tailstop.monitor.analyze

    def slow_fit(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return fit(*args, **kwargs)

    monkeypatch.setattr(tailstop.monitor, "analyze", slow_fit)
    yield entered, release
    release.set()

"""Shared test fixtures."""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest

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

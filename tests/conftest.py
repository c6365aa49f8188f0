"""Shared test fixtures."""

from __future__ import annotations

import csv
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


@pytest.fixture
def shared_scores():
    return load_scores

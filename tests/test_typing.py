"""The package type-checks: ``mypy`` from the repository root (its ``[tool.mypy]`` section in
pyproject.toml names the files) reports no error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_reports_no_error(tmp_path):
    pytest.importorskip("mypy")
    if not (ROOT / "pyproject.toml").exists() or not (ROOT / "src" / "tailstop").is_dir():
        pytest.skip("needs the source tree (tests run from an installed package)")
    # a cache of its own: a shared one (e.g. /tmp/.mypy_cache) may replay another tree's errors
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr

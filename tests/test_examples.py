"""Each example runs as shipped, with a small budget.

The Optuna examples run as scripts in a fresh interpreter, exactly as a user would run them.
The Ray example runs in this process (``main([...])``) so that it reuses the Ray session the
test session already started instead of paying for a second ``ray.init``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BUDGET = 22  # small: the monitor refits after every trial from min_trials=20 to 50


def run_script(name: str, *args: str) -> str:
    env = dict(os.environ)
    # the installed package (tailstop.callbacks is mapped from callbacks/ only by the install)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_optuna_random_search():
    pytest.importorskip("optuna")
    out = run_script("optuna_random_search.py", "--trials", str(BUDGET))
    ran = int(re.search(r"ran (\d+) of (\d+) trials", out).group(1))
    assert 20 <= ran <= BUDGET  # never stops before min_trials, never runs past the budget
    assert "tailstop estimate (maximize" in out
    assert "report stored in the study" in out


def test_optuna_random_search_refitting_in_the_background():
    pytest.importorskip("optuna")
    out = run_script("optuna_random_search.py", "--trials", str(BUDGET), "--background")
    ran = int(re.search(r"ran (\d+) of (\d+) trials", out).group(1))
    assert 20 <= ran <= BUDGET
    assert "tailstop estimate (maximize" in out  # flushed: the refits of the last trials done
    assert "report stored in the study" in out


def test_optuna_random_search_on_a_time_budget():
    pytest.importorskip("optuna")
    started = time.monotonic()
    out = run_script("optuna_random_search.py", "--trials", "100000", "--minutes", "0.1")
    took = time.monotonic() - started
    ran = int(re.search(r"ran (\d+) of (\d+) trials", out).group(1))
    assert 20 <= ran < 100000 and took < 120
    # stopped by the time budget, or by the rule over the trials the time left allowed
    reason = re.search(r"tailstop: (.*)", out).group(1)
    assert reason == "time budget of 6 s used" or "trials the time budget leaves" in reason


def test_optuna_random_search_measuring_the_noise():
    pytest.importorskip("optuna")
    # measured before min_trials (20): no stop can come first, and every fit holds the noise
    out = run_script("optuna_random_search.py", "--trials", "40", "--measure-noise", "15")
    measured = re.search(r"seed noise measured on the 5 best configurations x 3 seeds: "
                         r"([0-9.]+) \[([0-9.]+), ([0-9.]+)\]", out)
    assert measured, out[-2000:]
    low, high = float(measured.group(2)), float(measured.group(3))
    assert low < float(measured.group(1)) < high and high > 0
    ran = int(re.search(r"ran (\d+) of 40 trials", out).group(1))
    assert 20 <= ran <= 40
    assert "(given)" in out  # the estimate printed at the end held the measured noise


def test_optuna_workers():
    pytest.importorskip("optuna")
    out = run_script("optuna_workers.py", "--workers", "2", "--trials", str(BUDGET))
    match = re.search(r"(\d+) trials of a budget of (\d+): \{(.*)\}", out)
    total, per_worker = int(match.group(1)), match.group(3)
    assert 20 <= total <= BUDGET + 2  # each worker may finish the trial it was running
    assert "'worker-0'" in per_worker and "'worker-1'" in per_worker
    assert re.search(r"stopped at \d+ trials: ", out)


def load_example(name: str):
    # not put in sys.modules: Ray then pickles the example's trainable by value, as it does
    # when the example runs as a script
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ray_tune_search(ray_session):
    example = load_example("ray_tune_search")
    result = example.main(["--trials", str(BUDGET)])
    assert result["stopped"] is True  # by the rule or, at the latest, by the budget
    assert 20 <= result["recorded"] <= BUDGET + 2
    assert result["report"]["n_trials"] == result["recorded"]
    assert result["report"]["ray"] == {
        "metric": "accuracy",
        "mode": "max",
        "recorded_trials": result["recorded"],
        "range_edges": [],  # its optimum lies inside the space's ranges
    }


def test_analyze_past_search(tmp_path):
    path = EXAMPLES / "analyze_past_search.py"
    spec = importlib.util.spec_from_file_location("analyze_past", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        module.main(["--trials", "80"])
    finally:
        os.chdir(cwd)
    assert (tmp_path / "past-search.csv").exists() and (tmp_path / "past-search.png").exists()

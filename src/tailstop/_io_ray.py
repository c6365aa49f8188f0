"""Reading a Ray Tune experiment's folder (private; :func:`tailstop._io.load_scores`).

One subfolder per trial, the score in the last result of its ``result.json``; a trial with an
``error.txt`` failed, and the trials that Tune's experiment checkpoint shows unfinished are
left out: the trials ``RayTuneStopper`` would count (without its ``max_iterations``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tailstop._io import LoadedScores, SourceError, _loads, _number, nested_value
from tailstop.errors import InvalidDataError

__all__ = ["experiment_without_results", "ray_experiment", "trial_folders"]


def experiment_without_results(path: Path) -> bool:
    """Whether the folder is a Ray Tune experiment's whose trials have not written a result
    yet: empty, or holding Tune's own state files and nothing else but trial folders."""
    children = list(path.iterdir())
    tune_files = ("experiment_state-", "basic-variant-state-", "tuner.pkl", "trainable.pkl",
                  ".validate_storage")
    return all(
        child.is_dir() or child.name.startswith(tune_files) for child in children
    ) and (not children or any(child.name.startswith(tune_files) for child in children))


def trial_folders(path: Path) -> list[Path]:
    """The trial folders of a Ray Tune experiment (those holding a ``result.json``)."""
    return [child for child in path.iterdir() if (child / "result.json").is_file()]


def _trial_order(folder: Path) -> tuple:
    """Tune's trial index (``trainable_1a2b3_00042_42_...``: 42), then the name."""
    parts = folder.name.split("_")
    numbers = [int(p) for p in parts if p.isdigit() and len(p) >= 5]
    return (numbers[0] if numbers else float("inf"), folder.name)


def _trial_states(path: Path) -> dict[str, str] | None:
    """Each trial's state in Tune's experiment checkpoint of the newest run
    (``experiment_state-<start time>.json``, which Tune rewrites every few seconds while the
    run goes on): {trial folder: ``"finished"`` for a
    trial whose last result has ``done`` (it returned, or a stopper or scheduler ended it),
    ``"errored"``, or ``"open"`` (running, waiting, paused, or cut off when the whole
    experiment stopped)}.  None without such a file or when it holds another layout (the
    format is Tune's own; Ray >= 2.7 writes this one): then every trial's last result counts.
    A file that is not JSON (Tune copies it into place while it runs) is a SourceError, which
    a watch's next poll reads again, rather than a reason to count the running trials."""
    # the newest run's: its name holds the time the run began (a resumed or repeated run
    # writes its own), which a copy of the folder keeps and its modification time may not
    checkpoints = sorted(path.glob("experiment_state-*.json"), key=lambda f: f.name)
    if not checkpoints:
        return None
    try:
        checkpoint = json.loads(checkpoints[-1].read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(
            f"cannot read Tune's experiment checkpoint {checkpoints[-1]} ({exc})"
        ) from None
    try:
        states = {}
        for entry in checkpoint["trial_data"]:
            trial, runtime = json.loads(entry[0]), json.loads(entry[1])
            last = runtime.get("last_result") or {}
            if trial["status"] == "ERROR":
                state = "errored"
            elif trial["status"] == "TERMINATED" and last.get("done"):
                state = "finished"
            else:
                state = "open"
            states[Path(trial["relative_logdir"]).name] = state
    except (OSError, UnicodeDecodeError, ValueError, LookupError, TypeError, AttributeError,
            RecursionError):
        return None
    return states


def _last_line(path: Path, block: int = 1 << 16) -> str | None:
    """The last non-blank line of a text file, read from its end (a long training's
    ``result.json`` holds a line per iteration); None for a blank file."""
    with path.open("rb") as handle:
        position = handle.seek(0, 2)
        tail = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            if b"\n" in tail.rstrip():
                break
    line = tail.rstrip().rsplit(b"\n", 1)[-1].strip()
    return line.decode("utf-8") if line else None


def ray_experiment(path: Path, column: str, source: str) -> LoadedScores:
    """The scores of a Ray Tune experiment's folder in the order Tune created the trials, as
    ``RayTuneStopper`` counts them: a finished trial's last reported result, failed for a
    trial that errored (``error.txt``) or reported nothing.  Trials that Tune's experiment
    checkpoint shows unfinished (running, or cut off by a stop of the whole experiment) are
    left out; without a readable checkpoint every trial's last result counts."""
    scores: list[float | None] = []
    configs: list = []
    keyed = False
    seen: dict[str, None] = {}  # the metrics the trials reported, for the error below
    states = _trial_states(path)
    open_trials = 0
    for folder in sorted(trial_folders(path), key=_trial_order):
        if states is None:
            errored = (folder / "error.txt").exists()
        else:  # (a trial that Tune retries after an error keeps its error.txt)
            state = states.get(folder.name, "open")
            errored = state == "errored"
            if state == "open":
                open_trials += 1
                continue
        where = f"{source}, trial {folder.name}"
        try:
            last = _last_line(folder / "result.json")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{where}: cannot read result.json ({exc})") from None
        record: Any = {}
        if last is not None:
            record = _loads(last, f"{where}: result.json")
        value = nested_value(record, column) if isinstance(record, dict) else None
        keyed = keyed or value is not None
        if not keyed and isinstance(record, dict):
            seen.update(dict.fromkeys(_metric_keys(record)))
        scores.append(None if errored or value is None else _number(value, where))
        configs.append(record.get("config") if isinstance(record, dict) else None)
    if not keyed and (scores or not open_trials):
        metrics = ", ".join(list(seen)[:12]) or "none"
        raise InvalidDataError(
            f"{source}: no trial reported {column!r}; their metrics: {metrics} (choose one "
            "with --column)"
        )
    unfinished = (f"; {open_trials} unfinished trial{'s' if open_trials > 1 else ''} left out"
                  if open_trials else "")
    return LoadedScores(scores, f"Ray Tune experiment {source} (metric {column!r}{unfinished})",
                        configs=configs, column=column)


_RAY_KEYS = {  # what Tune adds to every result: not metrics
    "timestamp", "checkpoint_dir_name", "done", "training_iteration", "trial_id", "date",
    "time_this_iter_s", "time_total_s", "pid", "hostname", "node_ip", "config",
    "time_since_restore", "iterations_since_restore", "experiment_tag",
}


def _metric_keys(record: Mapping, prefix: str = "") -> list[str]:
    """The numeric entries of a Tune result, nested ones in slash notation."""
    keys = []
    for key, value in record.items():
        if not prefix and key in _RAY_KEYS:
            continue
        if isinstance(value, Mapping):
            keys += _metric_keys(value, f"{prefix}{key}/")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            keys.append(f"{prefix}{key}")
    return keys

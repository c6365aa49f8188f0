"""Reading the scores of a search from a file or an Optuna storage (private; used by the CLI).

Four kinds of source, told apart by their name (the files are read here, a storage in
:mod:`tailstop._io_study`, a Ray Tune folder in :mod:`tailstop._io_ray`):

* a CSV file (``.csv``, ``.tsv``, ``.txt``): one row per trial, the score in a named column
  (by default ``score``, or the only column of a one-column file, or ``value`` in Optuna's
  ``study.trials_dataframe()`` written as CSV); a column of the trials' states (``state`` or
  ``status`` in any case: Optuna's export, MLflow's and W&B's runs tables) is read as a study
  is, when its every cell is a known state: failed, errored, crashed, killed and pruned
  trials as failed (the value such a trial holds is its last intermediate one, not a score),
  running, waiting, queued ones left out (:data:`FAILED_STATES`, :data:`UNFINISHED_STATES`);
* a JSON Lines file (``.jsonl``, ``.ndjson``, ``.json``): one JSON object per line, the score
  under a named key (a bare number per line also works, and so does one JSON array of
  objects or numbers); a key of the trials' states is read as a CSV's state column is, and
  an Optuna export's ``value`` is the default key;
* an Optuna storage: a URL (``sqlite:///search.db``, ``postgresql://...``, ``mysql://...``,
  or ``grpc://host:port`` for Optuna's gRPC storage proxy),
  a SQLite file (``.db``, ``.sqlite``, ``.sqlite3``) or a journal file (``.log``,
  ``.journal``), with the study's name (optional when the storage holds a single study);
* a Ray Tune experiment's folder (``~/ray_results/my_exp``): one subfolder per trial, the
  score in the last result of its ``result.json``, a trial with an ``error.txt`` failed, and
  the trials that Tune's experiment checkpoint shows unfinished left out.

A key may name a nested value in Tune's slash notation (``val/acc`` for
``{"val": {"acc": ...}}``) in JSON Lines files and Ray folders.

A failed trial is a score that is empty, ``None`` / ``null``, NaN or infinite in a file, a
``FAIL`` or ``PRUNED`` trial in a study, and an errored or silent trial in a Ray folder;
running and waiting trials are not finished and are left out. Every problem a user can cause
raises a :class:`~tailstop.errors.TailstopError` whose message names the file, the line or the
study.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailstop.errors import InvalidDataError, TailstopError

__all__ = [
    "LoadedScores",
    "MissingDependencyError",
    "SourceError",
    "is_storage",
    "load_scores",
    "nested_value",
    "require",
]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
JOURNAL_SUFFIXES = (".log", ".journal")
_MISSING_WORDS = {"", "none", "null", "nan", "na", "n/a", "-"}
# Optuna's trials_dataframe(): the columns that tell it, and its score column
OPTUNA_EXPORT_COLUMNS = ("number", "state")
OPTUNA_VALUE_COLUMN = "value"
# A CSV column of the trials' states (Optuna's "state", MLflow's "status", W&B's "State"), read
# when its every cell is one of these words (lower case; Optuna's may read "TrialState.FAIL").
STATE_COLUMNS = ("state", "status")
FINISHED_STATES = {"complete", "completed", "finished", "success", "succeeded", "terminated"}
FAILED_STATES = {"fail", "failed", "error", "errored", "crashed", "killed", "pruned"}
UNFINISHED_STATES = {"running", "waiting", "pending", "queued", "scheduled", "paused",
                     "preempted", "preempting"}
_KNOWN_STATES = FINISHED_STATES | FAILED_STATES | UNFINISHED_STATES


class SourceError(TailstopError, OSError):
    """A file or storage cannot be read, or does not hold what was asked for."""


class MissingDependencyError(TailstopError, ImportError):
    """An optional dependency (matplotlib, optuna) is not installed."""


def require(module: str, extra: str) -> Any:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"this needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'tailstop[{extra}]'"
        ) from exc


@dataclass(frozen=True)
class LoadedScores:
    """Scores in trial order (``None`` for a failed trial) and where they came from."""

    scores: list[float | None]
    source: str
    direction: str | None = None  # known for a study, not for a file
    configs: list | None = None  # each trial's parameters (a study, a Ray folder)
    column: str | None = None  # the column or key read (a file, a Ray folder)
    ranges: dict | None = None  # the numeric hyperparameters' ranges (a study)
    fields: list | None = None  # each trial's other columns or keys (a file), as a dict


DEFAULT_COLUMN = "score"


def is_storage(source: str) -> bool:
    """Whether ``source`` names an Optuna storage rather than a file of scores."""
    if "://" in source:
        return True
    return Path(source).suffix.lower() in SQLITE_SUFFIXES + JOURNAL_SUFFIXES


def load_scores(source: str, *, column: str | None = None, study: str | None = None,
                objective: int | str | None = None, growing: bool = False) -> LoadedScores:
    """Scores from a CSV / JSON Lines file or an Optuna storage (see the module docstring).

    ``column``: the column or key of the score; None reads ``score``, or the only column of
    a one-column CSV file. ``study`` selects the study of a storage and ``objective`` one
    objective of a multi-objective study (:func:`objective_index`); for a file either is an
    error (it would be ignored). ``growing``: the file is being written (a watch), so an
    unfinished last line of a JSON Lines file (no newline after it, not valid JSON yet) is left
    for the next read instead of being an error.
    """
    if is_storage(source) or study is not None or objective is not None:
        if not is_storage(source):
            given = "--study" if study is not None else "--objective"
            raise SourceError(
                f"{given} was given but {source!r} is not an Optuna storage "
                f"(a URL such as sqlite:///search.db, or a {'/'.join(SQLITE_SUFFIXES)} or "
                f"{'/'.join(JOURNAL_SUFFIXES)} file)"
            )
        from tailstop._io_study import load_study, study_loaded

        return study_loaded(load_study(source, study), source, objective)
    path = Path(source)
    suffix = path.suffix.lower()
    if path.is_dir():
        from tailstop._io_ray import experiment_without_results, ray_experiment, trial_folders

        if trial_folders(path):
            return ray_experiment(path, column or DEFAULT_COLUMN, source)
        if experiment_without_results(path):
            # Tune writes its folder (and its state) before any trial's first result: no
            # trial yet, which a watch polls until there are some
            column = column or DEFAULT_COLUMN
            return LoadedScores([], f"Ray Tune experiment {source} (metric {column!r}; no "
                                "trial has written a result yet)", column=column)
    if suffix not in CSV_SUFFIXES + JSONL_SUFFIXES:
        if not path.exists():
            raise SourceError(f"no such file or folder: {source!r}")
        raise SourceError(
            f"cannot tell the format of {source!r} from its extension: use a CSV "
            f"({', '.join(CSV_SUFFIXES)}) or JSON Lines ({', '.join(JSONL_SUFFIXES)}) file, "
            "a Ray Tune experiment's folder, or an Optuna storage URL with --study"
        )
    try:
        # (utf-8-sig: a byte-order mark, as Excel's "CSV UTF-8" writes, is not a header's)
        with path.open(newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise SourceError(f"no such file: {source!r}") from None
    except IsADirectoryError:
        raise SourceError(f"{source!r} is a directory, not a file of scores") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"{source!r} is not a UTF-8 text file ({exc.reason})") from None
    if suffix in CSV_SUFFIXES:
        column, scores, fields = _parse_csv(text, column, source,
                                            delimiter="\t" if suffix == ".tsv" else None)
    else:
        if growing and text and not text.endswith("\n"):
            last = text.rsplit("\n", 1)[-1]
            try:
                json.loads(last)
            except (json.JSONDecodeError, RecursionError):
                text = text[: len(text) - len(last)]  # being written: the next read has it
        column, scores, fields = _parse_jsonl(text, column, source)
    what = f"column {column!r}" if column else "one score per line, no header"
    return LoadedScores(scores, f"{source} ({what})", column=column or None, fields=fields)


def _number(value: object, where: str) -> float | None:
    """A score from a cell: ``None`` for a failed trial, else a float (NaN / inf -> ``None``)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value.lower() in _MISSING_WORDS:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidDataError(f"{where}: the score is not a number: {value!r}")
    try:
        number = float(value)
    except ValueError:
        hint = ""
        if isinstance(value, str) and re.fullmatch(r"[-+]?\d*,\d+", value):
            hint = " (a decimal comma? write the scores with decimal points)"
        raise InvalidDataError(f"{where}: the score is not a number: {value!r}{hint}") from None
    return number if math.isfinite(number) else None


def _parse_csv(text: str, column: str | None, source: str,
               delimiter: str | None) -> tuple[str, list[float | None], list[dict | None]]:
    """The column read (``column``; None: ``score``, or the only column of a one-column
    file, or ``value`` in an Optuna export; ``""`` for a one-column file without a header,
    whose first line is a number), its cells in order, and each of those rows'
    other cells that hold numbers (``{column: number}``, for
    :func:`tailstop.edges.sampled_ranges`). A blank line is a failed
    trial in a one-column file (an empty cell) and is skipped in a wider one; trailing blank
    lines are ignored. A column of the trials' states (see the module docstring) decides:
    failed and pruned rows are failed trials, running and waiting ones are left out."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise InvalidDataError(f"{source} is empty")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(lines[0], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    rows = csv.reader(lines, delimiter=delimiter)
    fields = [name.strip() for name in next(rows)]
    if all(_is_number(name) for name in fields):
        # the first line holds numbers: a file of bare scores without a header
        if len(fields) == 1 and column is None:
            return "", [_number(line, f"{source}, line {i}")
                        for i, line in enumerate(lines, 1)], [{} for _ in lines]
        raise InvalidDataError(
            f"{source}: the first line ({lines[0][:60]!r}) holds numbers, not column names; "
            "add a header line naming the columns (the scores' column 'score', or choose it "
            "with --column)"
        )
    optuna_export = all(name in fields for name in OPTUNA_EXPORT_COLUMNS)
    if column is None:
        column = fields[0] if len(fields) == 1 else DEFAULT_COLUMN
        if optuna_export and column not in fields and OPTUNA_VALUE_COLUMN in fields:
            column = OPTUNA_VALUE_COLUMN
    if column not in fields:
        raise InvalidDataError(
            f"{source} has no column {column!r}; its columns are "
            f"{', '.join(repr(f) for f in fields)} (choose one with --column)"
        )
    index = fields.index(column)
    table, line_numbers = [], []
    for row in rows:
        if any(cell.strip() for cell in row) or len(fields) == 1:
            table.append(row)
            line_numbers.append(rows.line_num)
    states = _trial_states_column(fields, table)
    scores = []
    others: list[dict | None] = []
    for i, row in enumerate(table):
        cell = row[index] if index < len(row) else None
        if states is not None:
            if states[i] in UNFINISHED_STATES:
                continue
            if states[i] in FAILED_STATES:
                cell = None
        scores.append(_number(cell, f"{source}, line {line_numbers[i]}"))
        others.append({  # (a short row: the cells it has)
            name: number for j, (name, text_j) in enumerate(zip(fields, row, strict=False))
            if j != index and (number := _lenient_number(text_j)) is not None
        })
    return column, scores, others


def _is_number(text: str) -> bool:
    """Whether a header cell reads as a number (``nan`` and ``inf`` included), not a name."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _lenient_number(text: str) -> float | None:
    """The finite number a cell holds, or None (an empty cell, a word, NaN)."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _trial_states_column(fields: list[str], table: list[list[str]]) -> list[str] | None:
    """Each row's state (lower case), from the first column named ``state`` or ``status``
    (any case) whose every non-empty cell is a known state word; None without one (a column
    of other words is some other kind of state and is left alone)."""
    for j, name in enumerate(fields):
        if name.lower() not in STATE_COLUMNS:
            continue
        cells = [
            (row[j] if j < len(row) else "").strip().lower().removeprefix("trialstate.")
            for row in table
        ]
        if all(cell in _KNOWN_STATES for cell in cells if cell):
            return cells
    return None


def _loads(text: str, where: str) -> Any:
    """``json.loads(text)``, or an :class:`InvalidDataError` naming ``where``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidDataError(f"{where}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InvalidDataError(f"{where}: JSON nested too deeply to read") from None


def _parse_jsonl(text: str, column: str | None,
                 source: str) -> tuple[str, list[float | None], list[dict | None]]:
    """The key read (``column``; None: ``score``, or ``value`` in an Optuna export, whose
    records hold ``number`` and ``state``), each record's score in order, and the records
    (None for a bare number). A key of the trials' states decides as a CSV's state column
    does (see the module docstring)."""
    if text.lstrip().startswith("["):  # a .json file holding one array of records or numbers
        records = _loads(text, source)
        lines = [(i, json.dumps(record)) for i, record in enumerate(records, start=1)]
        place = "record"
    else:
        lines = list(enumerate(text.splitlines(), start=1))
        place = "line"
    parsed = []
    for number, line in lines:
        if line.strip():
            where = f"{source}, {place} {number}"
            parsed.append((where, _loads(line, where)))
    if column is None:
        column = DEFAULT_COLUMN
        first = next((record for _, record in parsed if isinstance(record, dict)), None)
        if (first is not None and column not in first and OPTUNA_VALUE_COLUMN in first
                and all(name in first for name in OPTUNA_EXPORT_COLUMNS)):
            column = OPTUNA_VALUE_COLUMN
    states = _trial_states_key([record for _, record in parsed])
    scores: list[float | None] = []
    kept: list[dict | None] = []  # the records read, for their other keys
    keyed = False
    seen: dict[str, None] = {}  # the keys the records hold, for the error below
    for i, (where, record) in enumerate(parsed):
        if isinstance(record, dict):
            value = nested_value(record, column)
            keyed = keyed or value is not None or column in record
            if not keyed and len(seen) < 12:
                seen.update(dict.fromkeys(map(str, record)))
            if states is not None:
                if states[i] in UNFINISHED_STATES:
                    continue
                if states[i] in FAILED_STATES:
                    value = None
            scores.append(_number(value, where))
            kept.append(record)
        elif record is None or isinstance(record, (int, float)):
            keyed = True
            scores.append(_number(record, where))
            kept.append(None)
        else:
            raise InvalidDataError(
                f"{where}: expected a JSON object or a number, got {type(record).__name__}"
            )
    if not parsed:
        raise InvalidDataError(f"{source} is empty")
    if not keyed:
        keys = ", ".join(repr(key) for key in list(seen)[:12]) or "none"
        raise InvalidDataError(
            f"{source} has no key {column!r} on any line; its keys are {keys} (choose the key "
            "with --column)"
        )
    return column, scores, kept


def _trial_states_key(records: list[Any]) -> list[str] | None:
    """Each record's state (lower case; "" where it has none), from the first key named
    ``state`` or ``status`` (any case) whose every non-empty value is a known state word
    (the CSV reader's rule); None without one."""
    names: dict[str, None] = {}
    for record in records:
        if isinstance(record, dict):
            names.update(dict.fromkeys(k for k in record if str(k).lower() in STATE_COLUMNS))
    for name in names:
        cells = []
        for record in records:
            value = record.get(name) if isinstance(record, dict) else None
            if value is not None and not isinstance(value, str):
                break
            cells.append((value or "").strip().lower().removeprefix("trialstate."))
        else:
            if any(cells) and all(cell in _KNOWN_STATES for cell in cells if cell):
                return cells
    return None


def nested_value(record: Mapping, key: str) -> Any:
    """``record[key]``, or the nested value ``key`` names in Tune's slash notation
    (``"val/acc"`` for ``{"val": {"acc": ...}}``); a key that holds ``/`` itself matches as
    it stands first. None when nothing matches."""
    if key in record:
        return record[key]
    parts = key.split("/")
    for i in range(1, len(parts)):
        child = record.get("/".join(parts[:i]))
        if isinstance(child, Mapping):
            value = nested_value(child, "/".join(parts[i:]))
            if value is not None:
                return value
    return None

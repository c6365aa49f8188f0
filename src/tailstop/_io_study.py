"""Reading an Optuna storage and its studies (private; :func:`tailstop._io.load_scores`, the
``watch`` command and the Optuna callback).

A storage is a URL (``sqlite:///search.db``, ``postgresql://...``, ``mysql://...``, or
``grpc://host:port`` for Optuna's gRPC storage proxy), a SQLite file or a journal file. A
``FAIL`` or ``PRUNED`` trial is a failed one; running and waiting trials are left out.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from tailstop._io import (
    SQLITE_SUFFIXES,
    LoadedScores,
    MissingDependencyError,
    SourceError,
    _number,
    require,
)
from tailstop.errors import InvalidDataError

__all__ = ["load_study", "objective_index", "ranges_of", "study_loaded", "study_scores"]

GRPC_WAIT = 10.0  # seconds to wait for a gRPC storage proxy to answer


def _storage(source: str) -> Any:
    """An Optuna storage for a URL, a SQLite file or a journal file; checks the file exists."""
    optuna = require("optuna", "optuna")
    if source.startswith("grpc://"):
        return _grpc_proxy(source, optuna)
    if source.startswith("sqlite:///"):
        database = source[len("sqlite:///") :].split("?", 1)[0]
        if database and database != ":memory:" and not Path(database).exists():
            # SQLAlchemy would silently create an empty database for a mistyped path
            raise SourceError(f"no such SQLite database: {database!r} (from {source!r})")
        url = source
    elif "://" in source:
        url = source
    else:
        path = Path(source)
        if not path.exists():
            raise SourceError(f"no such file: {source!r}")
        if path.suffix.lower() in SQLITE_SUFFIXES:
            url = f"sqlite:///{path}"
        else:
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            return JournalStorage(JournalFileBackend(str(path)))
    try:
        return optuna.storages.RDBStorage(url, skip_compatibility_check=False)
    except ImportError as exc:  # a database driver (psycopg2, pymysql) is missing
        raise MissingDependencyError(f"cannot open {source!r}: {exc}") from None
    except Exception as exc:
        if _is_storage_error(exc):
            raise SourceError(f"cannot open the storage {source!r}: {_first_line(exc)}") from None
        raise


def _grpc_proxy(source: str, optuna: Any) -> Any:
    """Optuna's gRPC storage proxy (``run_grpc_proxy_server``) at ``grpc://host:port``,
    once it answers (within ``GRPC_WAIT`` seconds)."""
    from urllib.parse import urlsplit

    parts = urlsplit(source)
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range
        port = None
    if not parts.hostname or port is None:
        raise SourceError(f"{source!r}: a gRPC storage proxy is named grpc://HOST:PORT")
    require("grpc", "grpc")
    require("google.protobuf", "grpc")
    try:
        from optuna.storages import GrpcStorageProxy
    except ImportError:
        raise MissingDependencyError(
            f"reading {source!r} needs Optuna's gRPC storage proxy, new in optuna 4.2 "
            f"(installed: {optuna.__version__}): pip install 'tailstop[grpc]'"
        ) from None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=optuna.exceptions.ExperimentalWarning)
        proxy = GrpcStorageProxy(host=parts.hostname, port=port)
    try:
        proxy.wait_server_ready(timeout=GRPC_WAIT)
    except ConnectionError:
        proxy.close()
        raise SourceError(
            f"no gRPC storage proxy answers at {parts.hostname}:{port} "
            f"(waited {GRPC_WAIT:g} s; from {source!r})"
        ) from None
    return proxy


def _is_storage_error(exc: BaseException) -> bool:
    """Errors a wrong or unreachable storage raises (Optuna's, SQLAlchemy's and gRPC's)."""
    import optuna

    if isinstance(exc, (optuna.exceptions.OptunaError, OSError)):
        return True
    grpc = sys.modules.get("grpc")  # (loaded only if a gRPC proxy was opened)
    if grpc is not None and isinstance(exc, grpc.RpcError):
        return True
    try:
        from sqlalchemy import exc as sqlalchemy_errors
    except ImportError:  # pragma: no cover - optuna depends on sqlalchemy
        return False
    return isinstance(exc, (sqlalchemy_errors.SQLAlchemyError, sqlalchemy_errors.ArgumentError))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_study(source: str, study: str | None) -> Any:
    """The Optuna study ``study`` in storage ``source`` (the only one when ``study`` is None)."""
    optuna = require("optuna", "optuna")
    storage = _storage(source)
    try:
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    except Exception as exc:
        if _is_storage_error(exc):
            raise SourceError(f"cannot read the storage {source!r}: {_first_line(exc)}") from None
        raise
    names = sorted(s.study_name for s in summaries)
    if not names:
        raise SourceError(f"{source} holds no study (is it an Optuna storage?)")
    if study is None:
        if len(names) != 1:
            listing = ", ".join(repr(n) for n in names)
            raise SourceError(
                f"{source} holds {len(names)} studies ({listing}): name one with --study"
            )
        study = names[0]
    elif study not in names:
        listing = ", ".join(repr(n) for n in names)
        raise SourceError(f"no study {study!r} in {source}; its studies: {listing}")
    return optuna.load_study(study_name=study, storage=storage)


def objective_index(study: Any, objective: int | str | None, option: str) -> int:
    """The index of ``objective`` among ``study``'s objectives: an index, a metric name
    (``study.set_metric_names``), or None for a single-objective study. ``option`` names the
    setting in the errors (``--objective``, ``objective_index``)."""
    count = len(study.directions)
    names = getattr(study, "metric_names", None)
    listing = f" (metric names: {', '.join(map(repr, names))})" if names else ""
    if objective is None:
        if count == 1:
            return 0
        raise InvalidDataError(
            f"study {study.study_name!r} has {count} objectives{listing}: choose the one "
            f"tailstop reads with {option} (an index from 0, or a metric name)"
        )
    if isinstance(objective, str):
        if not names:
            raise InvalidDataError(
                f"{option}={objective!r} names an objective, but study {study.study_name!r} "
                "has no metric names (study.set_metric_names): give its index from 0"
            )
        if objective not in names:
            raise InvalidDataError(
                f"study {study.study_name!r} has no objective {objective!r}{listing}"
            )
        return list(names).index(objective)
    if not 0 <= objective < count:
        raise InvalidDataError(
            f"{option}={objective} but study {study.study_name!r} has {count} objective(s)"
        )
    return objective


def study_loaded(study: Any, source: str, objective: int | str | None = None) -> LoadedScores:
    """:func:`study_scores` of an open study as :class:`LoadedScores` (``source``: where it
    was opened, for the description); a watch polls one study this way."""
    trials = study.get_trials(deepcopy=False)
    scores, direction, configs = study_scores(study, objective, trials)
    described = f"study {study.study_name!r} in {source}"
    if len(study.directions) > 1:  # say which objective was read
        index = objective_index(study, objective, "--objective")
        names = getattr(study, "metric_names", None)
        described += f", objective {index}" + (f" ({names[index]!r})" if names else "")
    ranges = ranges_of(trials)
    return LoadedScores(scores, described, direction, configs, ranges=ranges)


def study_scores(
    study: Any, objective: int | str | None = None, trials: list | None = None
) -> tuple[list[float | None], str, list[dict]]:
    """Scores of the finished trials (trial order; ``None`` for failed/pruned), the direction
    and each trial's parameters; ``objective`` chooses one of a multi-objective study's
    (:func:`objective_index`). ``trials``: the study's trials, already read."""
    from optuna.trial import TrialState

    index = objective_index(study, objective, "--objective")
    finished = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
    if trials is None:
        trials = study.get_trials(deepcopy=False, states=finished)
    trials = sorted((t for t in trials if t.state in finished), key=lambda t: t.number)
    scores = [
        _number(t.values[index], f"trial {t.number}")
        if t.state == TrialState.COMPLETE and t.values is not None else None
        for t in trials
    ]
    return scores, study.directions[index].name.lower(), [t.params for t in trials]


def ranges_of(trials: Any, ranges: dict[str, tuple] | None = None) -> dict[str, tuple]:
    """The numeric hyperparameters' ranges ``{name: (low, high, log)}`` from Optuna trials'
    distributions (``FloatDistribution``, ``IntDistribution``: read by their ``low``,
    ``high``, ``log`` and ``step``), merged into ``ranges`` (a search space that changed
    keeps the widest range seen); an integer range of fewer than 10 values is left out
    (:data:`tailstop.edges.MIN_INTEGER_VALUES`)."""
    from tailstop.edges import MIN_INTEGER_VALUES

    ranges = {} if ranges is None else ranges
    for trial in trials:
        for name, distribution in getattr(trial, "distributions", {}).items():
            low, high = getattr(distribution, "low", None), getattr(distribution, "high", None)
            if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
                continue  # a categorical one
            log = bool(getattr(distribution, "log", False))
            if isinstance(low, int) and isinstance(high, int):
                step = getattr(distribution, "step", 1) or 1
                count = high - low + 1 if log else (high - low) // step + 1
                if count < MIN_INTEGER_VALUES:
                    continue
            if name in ranges:
                before = ranges[name]
                low, high = min(low, before[0]), max(high, before[1])
            ranges[name] = (low, high, log)
    return ranges

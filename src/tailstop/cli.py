"""The ``tailstop`` command line: ``analyze``, ``replay``, ``watch`` and ``demo``.

Exit codes: 0 success; 1 the data or the source cannot be used (a missing file, an unknown
column or study, a storage that cannot be opened, too few trials, a missing optional
dependency); 2 the command line itself is wrong (argparse's convention: unknown options,
invalid values); 130 interrupted. A user error prints ``tailstop: error: ...`` on stderr,
never a traceback; an unexpected exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tailstop import __version__
from tailstop._cli_options import (
    _add_analysis,
    _add_bounds,
    _add_noise,
    _add_report_options,
    _add_source,
    _plot_path,
    _positive,
)
from tailstop._io import LoadedScores, load_scores, require
from tailstop._report import format_report, gain_wait, json_safe
from tailstop.errors import InvalidParameterError, TailstopError

if TYPE_CHECKING:  # pragma: no cover
    from tailstop.estimate import TailEstimate

__all__ = ["format_report", "main"]

PROG = "tailstop"
EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
STOP_ATTR = "tailstop:stop"  # the study user attribute the Optuna callback sets when it stops


class UsageError(TailstopError):
    """The command line is inconsistent in a way argparse cannot see."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tailstop`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Know when to stop a random hyperparameter search: fit the noisy "
        "quadratic law to its best scores and forecast what more trials will bring.",
        epilog="examples:\n"
        "  tailstop demo\n"
        "  tailstop analyze runs.csv --column accuracy --bounds 0 1 --plot curve.png\n"
        "  tailstop analyze sqlite:///search.db --study my-study --json\n"
        "  tailstop watch sqlite:///search.db --study my-study\n"
        "  tailstop replay runs.csv --epsilon 0.001",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    analyze = commands.add_parser(
        "analyze",
        help="report how far a search is from done",
        description="Fit the tail of a search and print the report: best possible score, "
        "effective dimension, noise, expected gains and whether the law fits.",
    )
    _add_source(analyze)
    _add_analysis(analyze)
    analyze.add_argument("--json", action="store_true", help="print the estimate as JSON")
    analyze.add_argument("--plot", type=_plot_path, metavar="FILE", help="write the figure")
    analyze.add_argument(
        "--progress",
        type=_plot_path,
        metavar="FILE",
        help="also feed the trials, in their order, to a live monitor (the default rule, the "
        "search's length as its budget) and draw how its estimate moved and where it would "
        "have stopped",
    )
    _add_report_options(analyze)
    analyze.set_defaults(handler=_run_analyze)

    replay = commands.add_parser(
        "replay",
        help="how well the stopping rules would have stopped a finished search",
        description="Replay a finished search in random orders and compare stopping rules.",
    )
    _add_source(replay)
    replay.add_argument(
        "--epsilon",
        type=_positive(float),
        required=True,
        help="a gain below which continuing is not worth it (in the score's units)",
    )
    replay.add_argument(
        "--orders", type=_positive(int), default=20, help="random orders to replay (default 20)"
    )
    replay.add_argument("--seed", type=int, default=0, help="seed of the orders (default 0)")
    _add_bounds(replay)
    _add_noise(replay)
    replay.add_argument(
        "--jobs", type=_positive(int), default=1, help="worker processes (default 1)"
    )
    replay.set_defaults(handler=_run_replay)

    watch = commands.add_parser(
        "watch",
        help="live report of a running search",
        description="Reprint the report whenever trials finish, until Ctrl-C or --timeout; "
        f"an Optuna study's watch also ends when its {STOP_ATTR!r} attribute is set (by "
        "tailstop's Optuna callback). A file or a Ray Tune experiment's folder is read again "
        "at every poll.",
    )
    _add_source(watch, optional=True)
    watch.add_argument("--storage", help=argparse.SUPPRESS)  # before SOURCE: still accepted
    watch.add_argument(
        "--interval", type=_positive(float), default=5.0, help="seconds between polls (default 5)"
    )
    watch.add_argument(
        "--timeout", type=_positive(float), help="stop watching after this many seconds"
    )
    _add_analysis(watch)
    _add_report_options(watch)
    watch.set_defaults(handler=_run_watch)

    demo = commands.add_parser(
        "demo",
        help="run a real random search and watch tailstop stop it",
        description="A random search (Optuna) of an SVM on scikit-learn's breast cancer data, "
        "with tailstop's callback attached: it stops when more trials are not worth it.",
    )
    demo.add_argument(
        "--storage",
        default="sqlite:///tailstop-demo.db",
        help="Optuna storage (default: sqlite:///tailstop-demo.db in the working directory)",
    )
    demo.add_argument(
        "--trials", type=_positive(int), default=300, help="budget of trials (default 300)"
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the search (default 0)")
    demo.add_argument(
        "--plot",
        type=_plot_path,
        default="tailstop-demo.png",
        metavar="FILE",
        help="where to write the tuning curve (default tailstop-demo.png)",
    )
    demo.set_defaults(handler=_run_demo)
    return parser


# -- commands -------------------------------------------------------------------------------


_LOSS_WORDS = ("loss", "error", "err", "rmse", "mse", "mae", "nll", "perplexity", "regret")


def _scores_and_direction(args: argparse.Namespace) -> tuple[LoadedScores, str]:
    loaded = load_scores(args.source, column=args.column, study=args.study,
                         objective=args.objective)
    return loaded, _direction_of(loaded, args)


def _direction_of(loaded: LoadedScores, args: argparse.Namespace) -> str:
    """The study's direction (a conflicting ``--direction`` is an error), or ``--direction``
    for a file (maximize by default, with a note when the column looks like a loss)."""
    if loaded.direction is None:
        column = loaded.column or args.column or ""
        words = column.lower().replace("-", "_").split("_")
        if args.direction is None and any(word in _LOSS_WORDS for word in words):
            print(f"{PROG}: note: column {column!r} is read as a score to maximize (the "
                  "default for files); pass --direction minimize for a loss",
                  file=sys.stderr)
        elif args.direction is None and re.fullmatch(r"values?(_\d+)?", column):
            # Optuna's trials_dataframe() names its objectives so, and keeps no direction
            print(f"{PROG}: note: column {column!r} is read as a score to maximize (the "
                  "default for files; an Optuna export does not say its study's direction); "
                  "pass --direction minimize if the study minimised",
                  file=sys.stderr)
        return args.direction or "maximize"
    if args.direction is not None and args.direction != loaded.direction:
        raise UsageError(
            f"the study's direction is {loaded.direction}; drop --direction {args.direction}"
        )
    return loaded.direction


def _analyze(scores, direction: str, args: argparse.Namespace, previous=None,
             configs=None) -> tuple[TailEstimate, str | None]:
    """The estimate, and where its seed noise came from: ``"given"`` (``--noise``),
    ``"repeats"`` (0, from repeated configurations) or None (fitted)."""
    from tailstop.estimate import analyze

    noise = _noise_of(args, scores, configs)
    estimate = analyze(
        scores,
        direction,
        confidence=args.confidence,
        bounds=tuple(args.bounds) if args.bounds else None,
        max_dimension=args.max_dimension,
        noise=noise,
        previous=previous,
        resolution=args.resolution,
    )
    source = None if noise is None else "given" if args.noise is not None else "repeats"
    return estimate, source


def _noise_of(args: argparse.Namespace, scores, configs) -> float | None:
    """``--noise``, or 0 when the trials' parameters (``configs``: a study's, a Ray
    folder's) repeat configurations that score the same every time (:mod:`tailstop.repeats`;
    said on stderr)."""
    if args.noise is not None or not configs or not args.detect_deterministic:
        return args.noise
    from tailstop.repeats import Repeats

    repeats = Repeats()
    for config, score in zip(configs, scores, strict=True):
        repeats.add(config, score)
    if not repeats.deterministic:
        return None
    print(f"{repeats.n_repeated} configurations ran more than once and every repeat scored the "
          "same: a deterministic objective, its seed noise held at 0 "
          "(--no-detect-deterministic to fit it)", file=sys.stderr)
    return 0.0


def write_plot(estimate: TailEstimate, path: str) -> None:
    """Write the figure of ``estimate`` to ``path`` without touching pyplot's state."""
    from tailstop import plot

    fig = plot.figure(estimate, pyplot=False)
    fig.savefig(path, dpi=120)


def write_progress(scores, direction: str, args: argparse.Namespace, path: str,
                   configs=None) -> str:
    """Feed ``scores`` in order to a Monitor (default rule, their number as the budget), draw
    :func:`tailstop.plot.progress` to ``path`` and say where the monitor stopped."""
    from matplotlib.figure import Figure

    from tailstop import plot
    from tailstop.errors import NotEnoughTrials
    from tailstop.estimate import MIN_TRIALS
    from tailstop.monitor import Monitor

    monitor = Monitor(
        direction,
        budget=len(scores),
        confidence=args.confidence,
        bounds=tuple(args.bounds) if args.bounds else None,
        max_dimension=args.max_dimension,
        noise=args.noise,
        resolution=args.resolution,
        detect_deterministic=args.detect_deterministic,
    )
    finite = sum(score is not None and math.isfinite(score) for score in scores)
    if len(scores) < monitor.min_trials or finite < MIN_TRIALS:
        raise NotEnoughTrials(
            f"--progress needs a refit to draw, and a live monitor refits from "
            f"{monitor.min_trials} trials with {MIN_TRIALS} finite scores on; this search has "
            f"{len(scores)} trials ({finite} finite)"
        )
    print(f"feeding the {len(scores)} trials to a live monitor...", file=sys.stderr, flush=True)
    for score, config in zip(scores, configs or [None] * len(scores), strict=True):
        monitor.observe(score, config=config)
        if monitor.should_stop:
            break
    fig = Figure(figsize=(8.0, 6.0))
    plot.progress(
        monitor, fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1.0]})
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    if monitor.n_trials < len(scores):
        return (
            f"a live monitor would have stopped this search after {monitor.n_trials} of its "
            f"{len(scores)} trials ({monitor.reason})"
        )
    return f"a live monitor would not have stopped this search before its end ({monitor.reason})"


def _run_analyze(args: argparse.Namespace) -> int:
    if args.plot or args.progress:
        require("matplotlib", "plot")  # fail before the fit, not after
    loaded, direction = _scores_and_direction(args)
    estimate, noise_source = _analyze(loaded.scores, direction, args, configs=loaded.configs)
    out = sys.stderr if args.json else sys.stdout
    edges = _range_edges(loaded, direction)
    if args.json:
        summary = estimate.to_dict(gains=(1, 10, 100, *args.more))
        # the text report's "trials to gain" line (--delta), null when there is no delta
        summary["trials_to_gain"] = json_safe(gain_wait(estimate, args.delta, args.more))
        if edges is not None:
            summary["range_edges"] = [edge.to_dict() for edge in edges]
        print(json.dumps(summary, indent=2))  # strict JSON: to_dict's nulls
    else:
        print(format_report(estimate, source=loaded.source, delta=args.delta,
                            noise_source=noise_source, more=args.more))
        for edge in edges or ():
            print(f"  range edge: {edge}")
    if args.plot:
        write_plot(estimate, args.plot)
        print(f"wrote {args.plot}", file=out)
    if args.progress:
        verdict = write_progress(loaded.scores, direction, args, args.progress,
                                 configs=loaded.configs)
        print(f"wrote {args.progress}: {verdict}", file=out)
    return 0


def _range_edges(loaded: LoadedScores, direction: str) -> list | None:
    """The hyperparameters whose best trials crowd an end of their range
    (:func:`tailstop.edges.crowded_edges`): a study's ranges, or for a file or a Ray folder the
    ranges the values show they were sampled from (:func:`tailstop.edges.sampled_ranges`);
    None for a source with no hyperparameters."""
    from tailstop.edges import crowded_edges, sampled_ranges

    configs = loaded.configs if loaded.configs is not None else loaded.fields
    if configs is None:
        return None
    if loaded.ranges is not None:
        return crowded_edges(loaded.scores, configs, loaded.ranges, direction)
    ranges = sampled_ranges(configs, loaded.scores)
    ranges.pop(loaded.column or "", None)  # the score itself
    if not ranges:  # no field was sampled over a range: nothing to check
        return None
    return crowded_edges(loaded.scores, configs, ranges, direction)


def _run_replay(args: argparse.Namespace) -> int:
    import importlib

    try:
        replay = importlib.import_module("tailstop.replay")
    except ModuleNotFoundError as exc:
        if exc.name != "tailstop.replay":
            raise
        raise TailstopError("replay is not available in this version of tailstop") from None
    from tailstop.rules import GainBelow

    loaded, direction = _scores_and_direction(args)
    options = {"bounds": tuple(args.bounds)} if args.bounds else {}
    if args.noise is not None:
        options["noise"] = args.noise
    if args.resolution is not None:
        options["resolution"] = args.resolution
    replay.check_options(loaded.scores, direction, options)  # before "replaying ..."
    rules = {
        f"tailstop GainBelow({args.epsilon:g})": GainBelow(args.epsilon),
        "tailstop GainBelow(noise)": GainBelow(),
        **{  # (a fixed count at or past the search's length is the whole search: left out)
            name: rule for name, rule in replay.baselines(args.epsilon).items()
            if not (isinstance(rule, replay.FixedTrials) and rule.n >= len(loaded.scores))
        },
    }
    print(
        f"replaying {len(loaded.scores)} trials of {loaded.source} in {args.orders} random "
        f"orders under {len(rules)} rules...",
        file=sys.stderr,
        flush=True,
    )
    result = replay.replay(
        loaded.scores,
        direction,
        rules,
        epsilon=args.epsilon,
        orders=args.orders,
        seed=args.seed,
        n_jobs=args.jobs,
        monitor_options=options,
        progress=_replay_progress(args.orders),
    )
    print(result.table(title=loaded.source))
    return 0


def _replay_progress(orders: int):
    """A ``replay`` progress callback: a line on stderr at each tenth of the orders (a
    replay runs the whole search once per order and rule: minutes on long searches)."""
    started = time.monotonic()
    step = max(1, orders // 10)
    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        if done < total and done - shown < step:
            return
        shown = done
        elapsed = time.monotonic() - started
        left = elapsed / done * (total - done)
        tail = f", about {left:.0f} s left" if done < total else ""
        print(f"{PROG}: {done} of {total} orders replayed in {elapsed:.0f} s{tail}",
              file=sys.stderr, flush=True)

    return progress


def _clear_screen() -> None:
    if sys.stdout.isatty():
        print("\033[H\033[J", end="")


def _watched_source(args: argparse.Namespace) -> str:
    if args.source and args.storage and args.source != args.storage:
        raise UsageError(f"two sources: {args.source!r} and --storage {args.storage!r}")
    source = args.source or args.storage
    if not source:
        raise UsageError("give the search to watch: a file, a Ray Tune experiment's folder, "
                         "or an Optuna storage with --study")
    return source


def _run_watch(args: argparse.Namespace) -> int:
    from tailstop._io import is_storage
    from tailstop._io_study import load_study, study_loaded
    from tailstop.estimate import MIN_TRIALS

    args.source = _watched_source(args)
    # a study is opened once (its storage's engine with it) and read at every poll
    study = load_study(args.source, args.study) if is_storage(args.source) else None

    def poll() -> LoadedScores:
        if study is None:
            return load_scores(args.source, column=args.column, study=args.study,
                               objective=args.objective, growing=True)
        return study_loaded(study, args.source, args.objective)

    loaded = poll()  # what cannot be read fails here, at once
    direction = _direction_of(loaded, args)

    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    seen, estimate = -1, None
    try:
        while True:
            if len(loaded.scores) != seen:
                seen = len(loaded.scores)
                source = f"{loaded.source} at {time.strftime('%H:%M:%S')}"
                _clear_screen()
                if seen < MIN_TRIALS:
                    print(f"{source}: {seen} finished trials; the report needs {MIN_TRIALS}")
                else:
                    try:
                        estimate, noise_source = _analyze(
                            loaded.scores, direction, args, previous=estimate,
                            configs=loaded.configs,
                        )
                    except TailstopError as exc:
                        print(f"{source}: {seen} finished trials; cannot analyze yet: {exc}")
                    else:
                        print(format_report(estimate, source=source, noise_source=noise_source,
                                            delta=args.delta, more=args.more))
                        for edge in _range_edges(loaded, direction) or ():
                            print(f"  range edge: {edge}")
                        sys.stdout.flush()
            stop = study.user_attrs.get(STOP_ATTR) if study is not None else None
            if stop:
                reason = stop.get("reason") if isinstance(stop, dict) else stop
                if not isinstance(reason, str) or not reason:
                    reason = "the stop flag is set"
                print(f"\nthe search has stopped: {reason}")
                return 0
            if deadline is not None and time.monotonic() >= deadline:
                return 0
            time.sleep(args.interval)
            try:
                loaded = poll()
            except TailstopError as exc:  # e.g. a line being written: the next poll reads it
                print(f"{PROG}: cannot read {args.source} at {time.strftime('%H:%M:%S')} "
                      f"({exc}); trying again", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print()
        return 0


def _run_demo(args: argparse.Namespace) -> int:
    from tailstop import _demo

    return _demo.run(args)


# -- entry point ----------------------------------------------------------------------------


def _optuna_errors() -> tuple[type[BaseException], ...]:
    optuna = sys.modules.get("optuna")
    return (optuna.exceptions.OptunaError,) if optuna is not None else ()


def _fail(message: object, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tailstop`` command with ``argv`` (default ``sys.argv[1:]``); the exit code.

    Errors go to stderr as one ``tailstop: error: ...`` line:

    >>> main(["analyze", "no-such-file.csv"])
    1
    >>> main(["analyze", "scores.csv", "--direction", "upwards"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's usage error (code 2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.handler(args)
    except BrokenPipeError:  # the reader went away (``tailstop analyze ... | head``)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_DATA
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except (UsageError, InvalidParameterError) as exc:
        return _fail(exc, EXIT_USAGE)
    except (TailstopError, OSError) as exc:
        return _fail(exc, EXIT_DATA)
    except Exception as exc:
        if isinstance(exc, _optuna_errors()):
            return _fail(exc, EXIT_DATA)
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

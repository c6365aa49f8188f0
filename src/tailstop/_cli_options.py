"""The ``tailstop`` command line's options: argument types that fail with argparse's own
message, and the options the commands share (:mod:`tailstop.cli` builds the parser)."""

from __future__ import annotations

import argparse
import math
import os
import re
from typing import Any

from tailstop._report import MORE_TRIALS

# -- argument types -------------------------------------------------------------------------


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0.5, 1), got {text}")
    return value


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            noun = "whole number" if kind is int else "number"
            raise argparse.ArgumentTypeError(f"not a {noun}: {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _noise(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _plot_path(text: str) -> str:
    """An image path in an existing folder, whose extension matplotlib can write (checked
    when it is installed)."""
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):  # (found before the fit, not after it)
        raise argparse.ArgumentTypeError(f"no such folder for {text!r}: {folder!r}")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:  # reported by the command that draws, not by the parser
        return text
    suffix = text.rsplit(".", 1)[-1].lower() if "." in text else ""
    supported = FigureCanvasBase.get_supported_filetypes()
    if suffix not in supported:
        raise argparse.ArgumentTypeError(
            f"cannot tell the image format of {text!r}: use one of "
            f"{', '.join('.' + s for s in sorted(supported))}"
        )
    return text


def _add_source(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    parser.add_argument(
        "source",
        metavar="SOURCE",
        nargs="?" if optional else None,
        help="a CSV or JSON Lines file of scores, a Ray Tune experiment's folder, or an "
        "Optuna storage (sqlite:///search.db, postgresql://..., a .db or journal .log file, "
        "grpc://HOST:PORT for a gRPC storage proxy) with --study",
    )
    parser.add_argument(
        "--column", help="the column (CSV) or key (JSON Lines, Ray) of the score (default: "
        "score, or a one-column CSV file's only column); val/acc names a nested key"
    )
    parser.add_argument(
        "--direction",
        choices=("maximize", "minimize"),
        help="whether higher or lower scores are better (files: default maximize; "
        "studies: the study's own direction)",
    )
    parser.add_argument("--study", help="the study's name in an Optuna storage")
    _add_objective(parser)


def _objective(text: str) -> int | str:
    """``--objective``: an index from 0 (a negative one is refused by the study's check),
    or a metric name."""
    try:
        return int(text)
    except ValueError:
        return text


def _add_objective(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--objective", type=_objective,
        help="which objective of a multi-objective study: its index from 0, or its metric "
        "name (study.set_metric_names)",
    )


# Values argparse should read as numbers, not option names, though they start with "-":
# its own pattern knows only plain decimals ("-1", "-.5"), not "-inf" or "-1e9".
_NEGATIVE_NUMBER = re.compile(r"^-(inf(inity)?|(\d+\.?\d*|\.\d+)(e[-+]?\d+)?)$", re.IGNORECASE)


def _add_bounds(parser: argparse.ArgumentParser) -> None:
    parser._negative_number_matcher = _NEGATIVE_NUMBER
    parser.add_argument(
        "--bounds",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        help="known range of the score, e.g. 0 1 for an accuracy (inf for an open side); "
        "no forecast goes beyond it",
    )


def _add_noise(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--noise",
        type=_noise,
        metavar="STD",
        help="the seed noise's standard deviation, when known (the pooled std of several good "
        "configurations' scores over a few seeds each, as tailstop.seed_noise computes it; 0 "
        "for a deterministic objective): the point estimates "
        "come from fits that hold it fixed (the intervals span fits that estimate it too)",
    )
    parser.add_argument(
        "--resolution",
        type=_positive(float),
        metavar="STEP",
        help="the step of a metric that counts something, e.g. 0.002 for accuracy on 500 "
        "examples (also averaged over folds): scores are fitted rounded to its multiples, so "
        "near-ties are the ties they are",
    )


def _add_analysis(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--confidence",
        type=_confidence,
        default=0.9,
        help="level of every interval (default 0.9)",
    )
    _add_bounds(parser)
    _add_noise(parser)
    parser.add_argument(
        "--no-detect-deterministic",
        dest="detect_deterministic",
        action="store_false",
        help="an Optuna study whose search repeated configurations, every repeat scoring the "
        "same, is read as a deterministic objective (the seed noise held at 0, as --noise 0 "
        "would) unless --noise is given; this turns that off (needed when a seed is among "
        "the parameters)",
    )
    parser.add_argument(
        "--max-dimension",
        type=int,
        help="cap on the effective dimension (e.g. the number of hyperparameters searched)",
    )


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    """The report's own options (``analyze``, ``watch``)."""
    parser.add_argument(
        "--delta",
        type=_positive(float),
        help="the gain whose waiting time is reported (default: the seed noise)",
    )
    parser.add_argument(
        "--more",
        type=_positive(int),
        nargs="+",
        default=list(MORE_TRIALS),
        metavar="K",
        help="the numbers of further trials whose expected gain is reported (default: 10 100); "
        "the chance to gain delta is given for the last",
    )

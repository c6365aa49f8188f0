"""Exceptions raised by tailstop.

Every exception derives from :class:`TailstopError`, and also from the builtin a caller
would expect (``ValueError`` for bad input, ``RuntimeError`` for numerical failures),
so ``except ValueError`` keeps working for code that does not know tailstop.
"""

from __future__ import annotations

__all__ = [
    "ConstraintError",
    "FitError",
    "InvalidDataError",
    "InvalidParameterError",
    "NotEnoughTrials",
    "TailstopError",
]


class TailstopError(Exception):
    """Base class of every error tailstop raises on purpose."""


class InvalidParameterError(TailstopError, ValueError):
    """A distribution or function parameter is outside its domain."""


class InvalidDataError(TailstopError, ValueError):
    """Observations cannot be used: NaN or infinite values where they are not allowed,
    values outside the declared bounds, or the wrong shape."""


class NotEnoughTrials(InvalidDataError):
    """Fewer usable observations than the method needs; the message names the minimum."""


class ConstraintError(TailstopError, ValueError):
    """Fit constraints are unknown, malformed, or infeasible for the data."""


class FitError(TailstopError, RuntimeError):
    """The optimiser could not find a finite optimum of the fit objective."""

"""Run the examples in every public docstring of the installed package (issue 5: examples run).

Collected through :mod:`doctest` on the imported modules rather than pytest's
``--doctest-modules``, which imports ``src/tailstop`` a second time beside the installed copy.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tailstop

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["tailstop"]
    for info in pkgutil.walk_packages(tailstop.__path__, "tailstop."):
        if not info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith("__main__"):
            names.append(info.name)
    return sorted(set(names) - {"tailstop.__main__"})


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional framework that is not installed
        pytest.skip(f"{name} needs an optional dependency: {exc}")
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"

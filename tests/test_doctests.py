"""Run the examples in every public docstring of the installed package (issue 5: examples run).

Collected through :mod:`doctest` on the imported modules rather than pytest's
``--doctest-modules``, which imports ``src/tailstop`` a second time beside the installed copy.
The framework adapters live in private modules (``tailstop.callbacks._optuna``, ``._ray``)
behind the lazy ``tailstop.callbacks`` package, so they are listed by hand; each is skipped
when its framework is not installed.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import tailstop

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# module -> the optional framework it needs
ADAPTERS = {
    "tailstop.callbacks": None,
    "tailstop.callbacks._optuna": "optuna",
    "tailstop.callbacks._ray": "ray.tune",
}

# private modules whose functions are public under another name (tailstop.analyze,
# tailstop.rules.gain_interval,
# tailstop.plot.progress)
RE_EXPORTED = {"tailstop._analyze", "tailstop._gains", "tailstop._progress_plot"}


def _modules() -> list[str]:
    names = ["tailstop"]
    for info in pkgutil.walk_packages(tailstop.__path__, "tailstop."):
        if not info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith("__main__"):
            names.append(info.name)
    return sorted((set(names) | set(ADAPTERS) | RE_EXPORTED) - {"tailstop.__main__"})


def _framework_missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:  # the parent package (``ray`` for ``ray.tune``) is absent
        return True


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    framework = ADAPTERS.get(name)
    if framework is not None and _framework_missing(framework):
        pytest.skip(f"{name} needs {framework}, which is not installed")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional framework that is not installed
        pytest.skip(f"{name} needs an optional dependency: {exc}")
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


@pytest.mark.parametrize("name", [n for n, framework in ADAPTERS.items() if framework])
def test_adapters_have_examples(name):
    """The adapters' examples exist (a module without any would pass the test above)."""
    framework = ADAPTERS[name]
    if _framework_missing(framework):
        pytest.skip(f"{name} needs {framework}, which is not installed")
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder().find(module)
    assert sum(len(test.examples) for test in tests) >= 5, f"no examples found in {name}"

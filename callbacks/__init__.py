"""Framework adapters (Optuna, Ray Tune), imported lazily so the core needs neither.

``import tailstop.callbacks`` imports neither Optuna nor Ray: each name below loads its
module (and its framework) on first access.

- :class:`OptunaCallback` -- ``study.optimize(..., callbacks=[OptunaCallback()])``, and
  ``update(study)`` / ``should_stop(study)`` for ask-and-tell loops (needs ``optuna``).
- :class:`SamplerWarning` -- warned once when an Optuna study does not use random search.
- :class:`RayTuneStopper` -- ``tune.RunConfig(stop=stopper, callbacks=[stopper])`` (needs
  ``ray[tune]``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tailstop.callbacks._optuna import OptunaCallback, SamplerWarning
    from tailstop.callbacks._ray import RayTuneStopper

__all__ = ["OptunaCallback", "RayTuneStopper", "SamplerWarning"]

_WHERE = {
    "OptunaCallback": "._optuna",
    "SamplerWarning": "._optuna",
    "RayTuneStopper": "._ray",
}


def __getattr__(name: str) -> Any:
    try:
        module_name = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

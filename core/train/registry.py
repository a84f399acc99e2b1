"""Training tasks by name, imported lazily so listing them loads no model code.

The table names each task by a ``"module:factory"`` string, resolved with
``importlib`` when the task is created: the engine never imports a domain
package (the import contract in tests/core/test_layering.py), yet the CLI and
the GUI can list and start every task through it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# task name -> "module:factory", each task in its domain package
TASKS: dict[str, str] = {
    "scaleface": "core.detect.training.scaleface_task:ScaleFaceTask",
    "lmle": "core.attributes.lmle_task:LMLETask",
    "lmle_learned": "core.attributes.learned_task:LearnedTask",
    "dream": "core.cfp.dream_task:DreamTask",
}


def register_task(name: str, factory: str | Callable[[], Any]) -> None:
    """Register a task factory (``"module:attr"`` string or callable) under ``name``."""
    TASKS[name] = factory  # type: ignore[assignment]


def create_task(name: str) -> Any:
    """Instantiate a registered task; ``ValueError`` lists the known names."""
    try:
        factory = TASKS[name]
    except KeyError:
        raise ValueError(
            f"unknown training task {name!r}; choose one of {', '.join(sorted(TASKS))}"
        ) from None
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
    return factory()

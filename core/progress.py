"""One shape for progress reports, and helpers that drive progress generators.

Long work in core is a generator: it yields a :class:`Progress` now and then
and ``return``s its result. Whoever runs it (the GUI's job runner, a CLI, a
benchmark) either forwards the reports (``yield from``), hands them to a
callback (:func:`relay`), or ignores them (:func:`drain`).

Generators whose items are *data* (training metric records, per-image
results) yield those, not :class:`Progress`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Progress:
    """How far a piece of work has got.

    done: units finished so far. total: units in all, or ``None`` when unknown
    (a busy indicator). message: short human text ("stem features 1200/3226").
    """

    done: int = 0
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """0..1, or ``None`` while the total is unknown (or zero)."""
        return min(1.0, self.done / self.total) if self.total else None


def relay(gen: Generator[Item, Any, Result], on_item: Callable[[Item], None] | None = None) -> Result:
    """Run ``gen`` to the end, calling ``on_item`` with every item it yields; return its return value.

    An exception inside ``gen`` or ``on_item`` propagates; the generator is
    closed either way, so its ``finally`` blocks run.
    """
    try:
        while True:
            try:
                item = next(gen)
            except StopIteration as stop:
                return stop.value
            if on_item is not None:
                on_item(item)
    finally:
        gen.close()


def drain(gen: Generator[Any, Any, Result]) -> Result:
    """Run ``gen`` to the end ignoring what it yields; return its return value."""
    return relay(gen)


def relabelled(
    gen: Generator[Progress, Any, Result], describe: Callable[[Progress], str]
) -> Generator[Progress, None, Result]:
    """Forward ``gen``'s reports with ``describe(report)`` as their message; return ``gen``'s value.

    For a caller that words a sub-task's progress its own way. An exception
    thrown in at a yield (a cancel) is thrown into ``gen`` too, as ``yield from`` does.
    """
    try:
        item = next(gen)
        while True:
            try:
                sent = yield dataclasses.replace(item, message=describe(item))
            except GeneratorExit:
                raise
            except BaseException as exc:  # noqa: BLE001 - handed on to the sub-generator like `yield from`
                item = gen.throw(exc)
            else:
                item = gen.send(sent)
    except StopIteration as stop:
        return stop.value
    finally:
        gen.close()

"""The Training panel's job: a registered task trained in the worker, cancellable mid-evaluation.

:func:`core.train.launch.launch` with the job's cancel token as the task's
``should_stop``, so a long evaluation on a WIDER split stops when the user
presses Stop (the engine then writes its cancel checkpoint at the next yield).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the engine imports torch: the job imports it, not the window
    from core.train.loop import TrainSummary


def training_job(
    task_name: str,
    run_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    config_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    resume: bool = False,
    token=None,
) -> Generator[dict[str, Any], None, TrainSummary]:
    """Generator job yielding the engine's records; returns its :class:`TrainSummary`.

    token: the worker's :class:`~app.worker.CancelToken` (the runner passes it).
    """
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.train.launch import launch

    return (
        yield from launch(
            task_name,
            run_dir,
            data_dir=data_dir,
            config_file=config_file,
            overrides=overrides,
            resume=resume,
            should_stop=None if token is None else (lambda: token.cancelled),
        )
    )

"""The Training panel's job: a registered task trained in the worker, cancellable mid-evaluation.

Same steps as :func:`core.train.launch.launch` (task, configuration, engine
generator), plus what the GUI needs: the evaluation cadence default of
:func:`core.train.eval_hook.apply_eval_defaults` and the job's cancel token
handed to the task, so a long evaluation on a WIDER split stops when the user
presses Stop (the engine then writes its cancel checkpoint at the next yield).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from core.train.config import build_config
from core.train.eval_hook import apply_eval_defaults
from core.train.loop import TrainSummary, train
from core.train.registry import create_task


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

    token: the worker's :class:`~app.worker.CancelToken` (the runner passes it);
    tasks with a ``should_stop`` attribute poll it during evaluations.
    """
    task = create_task(task_name)
    config = build_config(
        task.config_cls,
        file=config_file,
        overrides=list(overrides),
        train_defaults=getattr(task, "train_defaults", None),
    )
    apply_eval_defaults(config)
    if token is not None and hasattr(task, "should_stop"):
        task.should_stop = lambda: token.cancelled
    return (yield from train(task, config, run_dir=run_dir, data_dir=data_dir, resume=resume))

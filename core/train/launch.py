"""Start a registered training task by name: what the CLI, the Training panel and the Attributes view share."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

from core.train.config import apply_eval_defaults, build_config
from core.train.loop import TrainSummary, train
from core.train.registry import create_task


def launch(
    task_name: str,
    run_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    config_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    resume: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> Generator[dict[str, Any], None, TrainSummary]:
    """Build the task and its configuration, then train (a generator of metric records).

    should_stop: polled by tasks that run long work between two yields (a
    WIDER evaluation at a checkpoint), so a cancel does not wait for it; the
    GUI passes its job's cancel token, the CLI its SIGINT flag.

    Raises ``ValueError`` / ``ConfigError`` for an unknown task or bad options
    before the first record, and whatever :func:`core.train.loop.train` raises.
    """
    task = create_task(task_name)
    config = build_config(
        task.config_cls,
        file=config_file,
        overrides=list(overrides),
        train_defaults=getattr(task, "train_defaults", None),
    )
    apply_eval_defaults(config)
    if should_stop is not None and hasattr(task, "should_stop"):
        task.should_stop = should_stop
    return (yield from train(task, config, run_dir=run_dir, data_dir=data_dir, resume=resume))

"""Start a registered training task by name: what the CLI and the GUI's Training panel share."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from core.train.config import build_config
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
) -> Generator[dict[str, Any], None, TrainSummary]:
    """Build the task and its configuration, then train (a generator of metric records).

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
    return (yield from train(task, config, run_dir=run_dir, data_dir=data_dir, resume=resume))

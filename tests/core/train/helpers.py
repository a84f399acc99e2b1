"""Helpers shared by the engine tests."""

from __future__ import annotations

from core.progress import relay
from core.train.config import build_config
from core.train.loop import train


def run_to_end(gen):
    """Drive a training generator; returns (records, summary)."""
    records: list = []
    return records, relay(gen, records.append)


def toy_config(*overrides: str):
    from tests.core.train.toy_task import ToyConfig, ToyTask

    return build_config(
        ToyConfig, overrides=("device=cpu", *overrides), train_defaults=ToyTask.train_defaults
    )


def toy_train(run_dir, *overrides: str, resume: bool = False, task=None):
    from tests.core.train.toy_task import ToyTask

    task = task or ToyTask()
    return train(task, toy_config(*overrides), run_dir=run_dir, resume=resume)

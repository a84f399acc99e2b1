"""Entry point of one process of the 2-process gloo tests (importable by spawn)."""

from __future__ import annotations

import importlib
import os

import torch
import torch.distributed as dist


def run_rank(
    rank: int,
    world_size: int,
    port: int,
    task_path: str,
    config_fn: str,
    opts: tuple,
    run_dir: str,
    out_dir: str,
) -> None:
    """Train ``task_path`` ("module:Class") in this rank and save what the parent test compares."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
    )
    torch.set_num_threads(1)
    from core.train.loop import train
    from tests.core.train.helpers import run_to_end

    module, _, name = task_path.partition(":")
    task = getattr(importlib.import_module(module), name)()
    cfg_module, _, cfg_name = config_fn.partition(":")
    config = getattr(importlib.import_module(cfg_module), cfg_name)(*opts)
    records, summary = run_to_end(train(task, config, run_dir=run_dir))
    assert not dist.is_initialized(), "train() must destroy the process group it created"
    torch.save(
        {
            "model": {k: v.detach().clone() for k, v in task.model.state_dict().items()},
            "params": [n for n, _ in task.model.named_parameters()],
            "losses": [r["loss"] for r in records if r["event"] == "step"],
            "step": summary.step,
            "world_size": summary.world_size,
        },
        os.path.join(out_dir, f"rank{rank}.pt"),
    )

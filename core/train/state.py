"""Run state: seeding, and packing/unpacking everything a checkpoint holds."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.train.checkpoint import capture_rng_state, restore_rng_state, save_checkpoint
from core.train.config import RunConfig
from core.train.distributed import DistInfo, all_gather_objects

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Counters of a run. ``batch_in_epoch``: batches of ``epoch`` already consumed (sampler position)."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and every CUDA device), NumPy's global generator and ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def save_state(
    path: Path,
    task_name: str,
    config: RunConfig,
    state: TrainState,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    info: DistInfo,
    *,
    gather_rng: bool = True,
) -> Path | None:
    """Write the checkpoint on rank 0 (returns its path; ``None`` on other ranks).

    gather_rng: collect every rank's RNG states (a collective: all ranks must
    call this at the same step). A cancel checkpoint under DDP skips it and
    stores rank 0's states only; the other ranks then re-seed on resume.
    """
    rng = capture_rng_state()
    rngs = all_gather_objects(info, rng) if gather_rng else [rng]
    if not info.is_main:
        return None
    payload = {
        "task": task_name,
        "config": config.to_dict(),
        "step": state.step,
        "epoch": state.epoch,
        "batch_in_epoch": state.batch_in_epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else {},
        "rng": rngs,
        "world_size": info.world_size,
    }
    return save_checkpoint(path, payload)


def restore_state(
    checkpoint: dict,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    info: DistInfo,
) -> TrainState:
    """Load a checkpoint into the freshly built objects and restore this rank's RNG states."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if checkpoint.get("scaler") and scaler.is_enabled():
        scaler.load_state_dict(checkpoint["scaler"])
    state = TrainState(int(checkpoint["step"]), int(checkpoint["epoch"]), int(checkpoint["batch_in_epoch"]))
    rngs = checkpoint.get("rng") or []
    saved_world = int(checkpoint.get("world_size", 1))
    if saved_world != info.world_size:
        log.warning(
            "checkpoint was written by %d process(es), resuming with %d: the sampler order changes",
            saved_world,
            info.world_size,
        )
    if info.rank < len(rngs) and saved_world == info.world_size:
        restore_rng_state(rngs[info.rank])
    else:
        log.warning(
            "no RNG state for rank %d in the checkpoint: re-seeding (not a bit-exact continuation)", info.rank
        )
        seed = int(checkpoint.get("config", {}).get("train", {}).get("seed", 0))
        seed_everything(seed + 7919 * state.step + info.rank)
    log.info("resumed at step %d (epoch %d, batch %d)", state.step, state.epoch, state.batch_in_epoch)
    return state

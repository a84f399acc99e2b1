"""torch.distributed set-up for training: one process per device, launched by ``torchrun``.

``torchrun --nproc_per_node N [--nnodes M ...] main.py train ...`` sets
``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``
for every process; :func:`setup_distributed` reads them, initialises the
default process group (NCCL on CUDA, Gloo on CPU) and picks the process's
device (``cuda:LOCAL_RANK``). A process group that the caller already
initialised (tests spawning processes themselves) is used as is and left to
the caller to destroy.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run. ``owns_group``: we initialised it and must destroy it."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def resolve_device(requested: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` → CUDA when available else CPU; plain ``"cuda"`` → ``cuda:LOCAL_RANK``."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(requested)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    return device


def setup_distributed(device: torch.device) -> DistInfo:
    """Join the process group described by the torchrun environment (or the existing one)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(
            dist.get_rank(),
            dist.get_world_size(),
            int(os.environ.get("LOCAL_RANK", 0)),
            dist.get_backend(),
            owns_group=False,
        )
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
    backend = "nccl" if device.type == "cuda" else "gloo"
    # torchvision imported *after* the group exists takes references to it that outlive
    # destroy_process_group; the group is then freed during interpreter shutdown, where gloo's
    # threads abort the process ("terminate called without an active exception").
    import torchvision.ops  # noqa: F401

    dist.init_process_group(backend=backend, init_method="env://")
    info = DistInfo(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), backend, True
    )
    log.info(
        "distributed: rank %d/%d (local %d), backend %s", info.rank, info.world_size, info.local_rank, backend
    )
    return info


def local_rank_from_env() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def cleanup_distributed(info: DistInfo) -> None:
    if info.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def all_gather_objects(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (a one-element list without distribution)."""
    if not info.enabled:
        return [obj]
    gathered: list[Any] = [None] * info.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def mean_across_ranks(info: DistInfo, values: torch.Tensor) -> torch.Tensor:
    """Element-wise mean of a 1-D tensor over ranks (a no-op alone)."""
    if not info.enabled:
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values / info.world_size

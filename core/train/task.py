"""What a training task provides to the engine.

A task (ScaleFace, DREAM, LMLE ...) is a small object that knows how to build
its model and data and how to turn a batch into losses; the engine
(:func:`core.train.loop.train`) does everything else (devices, AMP, DDP,
optimiser, schedule, checkpoints, metrics). Tasks are registered by name in
:mod:`core.train.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn


@runtime_checkable
class TrainTask(Protocol):
    """The contract between a training method and the engine.

    name: registry name (``"scaleface"``).
    config_cls: dataclass of the task's options (the ``[task]`` TOML section),
        or ``None`` when it has none.
    train_defaults: engine options this task prefers (``{"lr": 0.01}``), applied
        before the config file and the CLI overrides.

    Datasets are map-style (``__len__``, ``__getitem__``). A dataset that also
    defines ``sample(index, rng)`` gets a ``numpy.random.Generator`` seeded from
    (run seed, epoch, index), so its augmentation is reproducible whatever the
    number of loader workers and across resumes; ``group_ids()`` (one int per
    item) makes batches come from a single group (aspect-ratio grouping).
    """

    name: str
    config_cls: type | None
    train_defaults: Mapping[str, Any]

    def build_model(self, cfg: Any) -> nn.Module:
        """The network, on CPU, in train mode."""
        ...

    def build_dataset(self, cfg: Any, data_dir: Path | None) -> torch.utils.data.Dataset:
        """The training set (``data_dir`` is the ``--data`` folder, may be ``None``)."""
        ...

    def collate(self, items: list) -> Any:
        """Items → a batch (must be picklable for loader workers: a module-level method)."""
        ...

    def compute_losses(self, model: nn.Module, batch: Any, device: torch.device) -> dict[str, torch.Tensor]:
        """Move ``batch`` to ``device``, run ``model`` (possibly DDP-wrapped) and return
        named scalar losses; the engine minimises their sum."""
        ...


class SupportsEvaluate(Protocol):
    """Optional hook: ``evaluate(model, step) -> {metric: value}`` run on rank 0 every ``eval_every``."""

    def evaluate(self, model: nn.Module, step: int) -> Mapping[str, float]: ...


class SupportsSample(Protocol):
    def sample(self, index: int, rng: np.random.Generator) -> Any: ...

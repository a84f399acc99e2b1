"""Optimiser and learning-rate schedule from a :class:`~core.train.config.TrainConfig`."""

from __future__ import annotations

import bisect
import math

import torch
from torch import nn

from core.train.config import TrainConfig


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (momentum) or AdamW; no weight decay on biases and normalisation parameters
    (1-D tensors), the usual detection recipe."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of ``cfg.lr`` for optimiser step ``step`` (0-based): linear warm-up, then the schedule."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.scheduler == "constant":
        return 1.0
    if cfg.scheduler == "step":
        return cfg.gamma ** bisect.bisect_right(sorted(cfg.milestones), step)
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR stepped once per optimiser step. Its state dict holds only counters
    (the factor is a plain function of the step and the config), so it loads
    with ``weights_only=True``."""

    def factor(step: int) -> float:
        return lr_factor(step, cfg)

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

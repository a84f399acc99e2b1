"""A tiny regression task that exercises every engine feature in milliseconds.

Its dataset draws augmentation noise from the item generator *and* from the
global torch/NumPy/``random`` generators, and its model has dropout (torch RNG)
and a running-mean buffer, so any gap in what checkpoints save shows up as a
resume mismatch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class ToyConfig:
    num_items: int = 24
    hidden: int = 16
    nan_at_step: int = 0  # >0: the loss becomes NaN from that step on (1-based)


class ToyDataset:
    def __init__(self, num_items: int):
        gen = np.random.default_rng(123)
        self.x = gen.normal(size=(num_items, 8)).astype(np.float32)
        self.w = gen.normal(size=(8,)).astype(np.float32)

    def __len__(self) -> int:
        return len(self.x)

    def group_ids(self) -> list[int]:
        return [i % 2 for i in range(len(self.x))]

    def sample(self, index: int, rng: np.random.Generator):
        x = self.x[index] + rng.normal(scale=0.05, size=8).astype(np.float32)
        x = x + np.float32(np.random.rand() * 0.01) + np.float32(random.random() * 0.01)
        x = torch.from_numpy(x) + torch.rand(8) * 0.01
        y = torch.tensor([float(self.x[index] @ self.w)])
        return x, y


class ToyModel(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 1))
        self.register_buffer("running_mean", torch.zeros(8))  # a buffer, like BatchNorm's

    def forward(self, x):
        if self.training:
            self.running_mean.mul_(0.9).add_(0.1 * x.detach().mean(0))
        return self.net(x - self.running_mean)


class ToyTask:
    name = "toy"
    config_cls = ToyConfig
    train_defaults = {"lr": 0.02, "batch_size": 4, "checkpoint_every": 0, "log_every": 2}

    def __init__(self):
        self.steps_seen = 0
        self.nan_at_step = 0

    def build_model(self, cfg: ToyConfig) -> nn.Module:
        self.nan_at_step = cfg.nan_at_step
        self.model = ToyModel(cfg.hidden)  # kept so tests can compare every rank's weights
        return self.model

    def build_dataset(self, cfg: ToyConfig, data_dir):
        return ToyDataset(cfg.num_items)

    def collate(self, items):
        xs, ys = zip(*items, strict=True)
        return torch.stack(xs), torch.stack(ys)

    def compute_losses(self, model, batch, device):
        self.steps_seen += 1
        x, y = (t.to(device) for t in batch)
        pred = model(x)
        losses = {"mse": ((pred - y) ** 2).mean(), "l1": 0.1 * (pred - y).abs().mean()}
        if self.nan_at_step and self.steps_seen >= self.nan_at_step:
            losses["mse"] = losses["mse"] * float("nan")
        return losses

    def evaluate(self, model, step):
        return {"weight_norm": float(sum(p.norm() for p in model.parameters()))}

"""Learning-rate schedules and parameter groups."""

from __future__ import annotations

import pytest
from torch import nn

from core.train.config import TrainConfig
from core.train.optim import build_optimizer, lr_factor


def test_warmup_then_cosine_to_min_ratio():
    cfg = TrainConfig(max_steps=110, warmup_steps=10, scheduler="cosine", min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1) and lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(10, cfg) == pytest.approx(1.0)
    assert lr_factor(60, cfg) == pytest.approx(0.55)
    assert lr_factor(110, cfg) == pytest.approx(0.1)


def test_step_schedule_and_constant():
    cfg = TrainConfig(scheduler="step", milestones=(5, 8), gamma=0.5)
    assert [lr_factor(s, cfg) for s in (0, 4, 5, 7, 8, 100)] == [1, 1, 0.5, 0.5, 0.25, 0.25]
    assert lr_factor(999, TrainConfig(scheduler="constant")) == 1.0


def test_no_weight_decay_on_biases_and_norms():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    opt = build_optimizer(model, TrainConfig(weight_decay=0.01, optimizer="adamw"))
    decays = {len(g["params"]): g["weight_decay"] for g in opt.param_groups}
    assert decays == {1: 0.01, 3: 0.0}

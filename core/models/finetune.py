"""Fine-tuning a pretrained module with its own step size: ``weight = pretrained + ratio * delta``.

The training engine has one learning rate. A pretrained trunk stage wants a
smaller one than a fresh head, and Adam ignores gradient scale, so the stage
is reparameterised instead: only ``delta`` (zero at the start) is trained, and
``ratio`` scales its effect, which makes the stage's effective step
``ratio * lr``. The engine's weight decay on ``delta`` pulls the weights back
towards the pretrained ones (L2-SP), not towards zero.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call


class FineTuned(nn.Module):
    """``module`` with frozen pretrained parameters plus trainable, scaled deltas."""

    def __init__(self, module: nn.Module, ratio: float = 0.1) -> None:
        super().__init__()
        self.module = module.requires_grad_(False)
        self.ratio = ratio
        self.names = [name for name, _ in module.named_parameters()]
        self.deltas = nn.ParameterList(
            nn.Parameter(torch.zeros_like(p)) for _, p in module.named_parameters()
        )

    def tuned_parameters(self) -> dict[str, torch.Tensor]:
        base = dict(self.module.named_parameters())
        return {n: base[n] + self.ratio * d for n, d in zip(self.names, self.deltas, strict=True)}

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, self.tuned_parameters(), args)

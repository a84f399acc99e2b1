"""DREAM: Deep Residual EquivAriant Mapping (Cao et al., CVPR 2018), the block only.

The block maps a stem feature ``f`` of a face at yaw ``θ`` towards the
feature the same face would have frontally::

    R(f)  = ReLU(FC2(ReLU(FC1(f))))          # d → d → d, as in the authors' code
    Y(θ)  = sigmoid(10 · (|θ| / 45 − 1))     # yaw gate, fixed (not learned)
    f'    = f + Y(θ) · R(f)

Frontal faces (``|θ|`` ≪ 45°) get ``Y ≈ 0`` and keep their feature; full
profiles (``|θ|`` ≥ 70°) get ``Y ≈ 1``. The yaw is an *input* (degrees), estimated
elsewhere (:mod:`core.recognize.yaw`). Shapes: ``f`` ``(N, d)``, ``yaw`` ``(N,)``,
output ``(N, d)``; ``d = 128`` for face-api's descriptor. Pre/post-processing
(normalisation, which features to map) is in :mod:`core.recognize.dream`,
the stitching loss in :mod:`core.cfp.dream_task`.
"""

from __future__ import annotations

import torch
from torch import nn

#: Gate sharpness and centre of the authors' code: ``sigmoid(GATE_SLOPE · (|yaw| / GATE_CENTRE_DEG − 1))``.
GATE_SLOPE = 10.0
GATE_CENTRE_DEG = 45.0


def yaw_gate(yaw_deg: torch.Tensor) -> torch.Tensor:
    """``Y(θ) = sigmoid(10 · (|θ| / 45 − 1))`` elementwise (θ in degrees); 0.5 at 45°, ~0.0045 at 0°."""
    return torch.sigmoid(GATE_SLOPE * (yaw_deg.abs() / GATE_CENTRE_DEG - 1.0))


class DreamBlock(nn.Module):
    """``f + Y(yaw) · ReLU(FC(ReLU(FC(f))))`` with two ``dim × dim`` layers."""

    def __init__(self, dim: int = 128) -> None:
        super().__init__()
        self.dim = dim
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)

    def residual(self, features: torch.Tensor) -> torch.Tensor:
        """``R(f)``: ``(N, d)`` → ``(N, d)``."""
        return torch.relu(self.fc2(torch.relu(self.fc1(features))))

    def forward(self, features: torch.Tensor, yaw_deg: torch.Tensor) -> torch.Tensor:
        """``(N, d)`` features and ``(N,)`` yaw in degrees → ``(N, d)`` mapped features."""
        if features.ndim != 2 or features.shape[1] != self.dim:
            raise ValueError(f"expected (N, {self.dim}) features, got {tuple(features.shape)}")
        gate = yaw_gate(yaw_deg.to(features.dtype).reshape(-1, 1))
        return features + gate * self.residual(features)

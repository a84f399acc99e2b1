"""face-api's AgeGenderNet: a "TinyXception" with 2 middle blocks and two FC heads.

Input: ``(N, 3, 112, 112)`` float32, normalised as
``(x - [122.782, 117.001, 104.298]) / 255``. Output: ``(age (N,), gender
logits (N, 2))``; the age is a raw regression in years, the gender logits are
in ``[male, female]`` order (face-api applies a softmax; done in
:mod:`core.recognize.age_gender`).

Architecture (ARCHITECTURES.md §7): entry conv 3x3 s2 SAME + ReLU; reduction
blocks ``[relu] -> sep -> relu -> sep -> maxPool 3x3 s2 SAME`` plus a 1x1
stride-2 ``expansion_conv`` shortcut on the raw block input (the first block
does not pre-activate its input); middle blocks ``relu-sep`` x3 + identity;
exit separable conv 256 -> 512 + ReLU; global mean (face-api's 7x7 avgPool).
Note the reduction-block outputs are *not* rectified.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from core.models.faceapi_layers import SeparableConv, TfConv2d, TfjsReader, max_pool_same


class ReductionBlock(nn.Module):
    """``(N, cin, H, W) -> (N, cout, ceil(H/2), ceil(W/2))``, no output activation."""

    def __init__(self, cin: int, cout: int, activate_input: bool = True):
        super().__init__()
        self.activate_input = activate_input
        self.separable_conv0 = SeparableConv(cin, cout)
        self.separable_conv1 = SeparableConv(cout, cout)
        self.expansion_conv = TfConv2d(cin, cout, 1, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(x) if self.activate_input else x
        out = self.separable_conv1(F.relu(self.separable_conv0(out)))
        return max_pool_same(out, 3, 2) + self.expansion_conv(x)

    def load_tfjs(self, reader: TfjsReader, prefix: str) -> None:
        reader.separable(self.separable_conv0, f"{prefix}/separable_conv0")
        reader.separable(self.separable_conv1, f"{prefix}/separable_conv1")
        reader.conv(self.expansion_conv, f"{prefix}/expansion_conv/filters", f"{prefix}/expansion_conv/bias")


class MainBlock(nn.Module):
    """``x + sep2(relu(sep1(relu(sep0(relu(x))))))``; shape-preserving."""

    def __init__(self, channels: int):
        super().__init__()
        self.convs = nn.ModuleList(SeparableConv(channels, channels) for _ in range(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for conv in self.convs:
            out = conv(F.relu(out))
        return out + x

    def load_tfjs(self, reader: TfjsReader, prefix: str) -> None:
        for i, conv in enumerate(self.convs):
            reader.separable(conv, f"{prefix}/separable_conv{i}")


class AgeGenderNet(nn.Module):
    """``(N, 3, 112, 112) -> (age (N,), gender_logits (N, 2))`` (see module docstring)."""

    INPUT_SIZE = 112
    NUM_MAIN_BLOCKS = 2

    def __init__(self) -> None:
        super().__init__()
        self.conv_in = TfConv2d(3, 32, 3, stride=2)
        self.reduction_block_0 = ReductionBlock(32, 64, activate_input=False)
        self.reduction_block_1 = ReductionBlock(64, 128)
        self.main_blocks = nn.ModuleList(MainBlock(128) for _ in range(self.NUM_MAIN_BLOCKS))
        self.exit_reduction = ReductionBlock(128, 256)
        self.exit_separable = SeparableConv(256, 512)
        self.fc_age = nn.Linear(512, 1)
        self.fc_gender = nn.Linear(512, 2)

    def forward(
        self, x: torch.Tensor, taps: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        def tap(name: str, t: torch.Tensor) -> torch.Tensor:
            if taps is not None:
                taps[name] = t
            return t

        out = tap("entry_flow/conv_in", F.relu(self.conv_in(x)))
        out = tap("entry_flow/reduction_block_0", self.reduction_block_0(out))
        out = tap("entry_flow/reduction_block_1", self.reduction_block_1(out))
        for i, block in enumerate(self.main_blocks):
            out = tap(f"middle_flow/main_block_{i}", block(out))
        out = tap("exit_flow/reduction_block", self.exit_reduction(out))
        out = tap("exit_flow/separable_conv", F.relu(self.exit_separable(out)))
        pooled = tap("avgpool", out.mean(dim=(2, 3)))
        age = tap("age", self.fc_age(pooled)[:, 0])
        gender = tap("gender_logits", self.fc_gender(pooled))
        return age, gender

    @classmethod
    def from_tfjs(cls, tensors: dict[str, torch.Tensor]) -> AgeGenderNet:
        """Build from ``load_weights("faceapi_age_gender")`` tensors."""
        net = cls()
        reader = TfjsReader(tensors, "age_gender")
        reader.conv(net.conv_in, "entry_flow/conv_in/filters", "entry_flow/conv_in/bias")
        net.reduction_block_0.load_tfjs(reader, "entry_flow/reduction_block_0")
        net.reduction_block_1.load_tfjs(reader, "entry_flow/reduction_block_1")
        for i, block in enumerate(net.main_blocks):
            block.load_tfjs(reader, f"middle_flow/main_block_{i}")
        net.exit_reduction.load_tfjs(reader, "exit_flow/reduction_block")
        reader.separable(net.exit_separable, "exit_flow/separable_conv")
        reader.linear(net.fc_age, "fc/age/weights", "fc/age/bias")
        reader.linear(net.fc_gender, "fc/gender/weights", "fc/gender/bias")
        reader.finish()
        return net.eval()

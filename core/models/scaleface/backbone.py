"""ScaleFace's shared trunk and the CenterFace neck its small/medium branches may fuse.

:class:`ScaleFaceBackbone` cuts a torchvision ResNet-50 or MobileNetV2 (or a
tiny plain CNN for tests) into three stages whose outputs are the stride-8, 16
and 32 feature maps. :class:`FusionNeck` is CenterFace's top-down path up to
stride 8: the stride-32 map reduced to 24 channels, upsampled ×2 and added to a
1×1 lateral of the stride-16 map, and again to stride 8 — ScaleFace's feature
fusion for small faces, here with weights CenterFace learnt on WIDER.
"""

from __future__ import annotations

import torch
import torchvision
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchvision.ops.misc import FrozenBatchNorm2d

from core.models.centerface import NECK_CHANNELS, ConvReLU, Deconv
from core.models.scaleface.config import ScaleFaceConfig


class ScaleFaceBackbone(nn.Module):
    """Three stages → feature maps at strides 8, 16, 32 with ``out_channels`` channels."""

    def __init__(self, cfg: ScaleFaceConfig) -> None:
        super().__init__()
        pretrained = cfg.backbone_weights is not None
        norm = cfg.norm if cfg.norm != "auto" else ("frozen" if pretrained else "bn")
        norm_layer = FrozenBatchNorm2d if norm == "frozen" else nn.BatchNorm2d
        if cfg.backbone == "resnet50":
            net = torchvision.models.resnet50(weights=None, norm_layer=norm_layer)
            _load_imagenet(net, cfg.backbone_weights)
            self.stages = nn.ModuleList(
                [
                    nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2),
                    net.layer3,
                    net.layer4,
                ]
            )
            self.out_channels = (512, 1024, 2048)
            if pretrained:  # the usual detection recipe: stem and first stage stay ImageNet features
                for module in (net.conv1, net.bn1, net.layer1):
                    module.requires_grad_(False)
        elif cfg.backbone == "tiny":
            if pretrained:
                raise ValueError("the tiny backbone has no ImageNet weights")
            self.stages = nn.ModuleList(
                [
                    _plain_stage(norm_layer, (3, 16, 2), (16, 32, 2), (32, 32, 2), (32, 32, 1)),
                    _plain_stage(norm_layer, (32, 64, 2), (64, 64, 1)),
                    _plain_stage(norm_layer, (64, 96, 2), (96, 96, 1), (96, 96, 1)),
                ]
            )
            self.out_channels = (32, 64, 96)
        else:
            net = torchvision.models.mobilenet_v2(
                weights=None, width_mult=cfg.width_mult, norm_layer=norm_layer
            )
            _load_imagenet(net, cfg.backbone_weights)
            features = net.features
            # features 0-6 end at stride 8, 7-13 at 16, 14-17 at 32; 18 (the 1280-channel conv) is unused
            self.stages = nn.ModuleList([features[0:7], features[7:14], features[14:18]])
            self.out_channels = tuple(features[i].out_channels for i in (6, 13, 17))
            if cfg.init_from_centerface:
                # CenterFace's trunk uses ReLU; its weights are copied in by the builder
                # (core.detect.scaleface.build_scaleface), since a model file loads no weights.
                _relu6_to_relu(self)
        if norm == "syncbn":
            nn.SyncBatchNorm.convert_sync_batchnorm(self)

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def _plain_stage(norm_layer, *convs: tuple[int, int, int]) -> nn.Sequential:
    """3×3 conv + norm + ReLU per ``(in, out, stride)``."""
    layers: list[nn.Module] = []
    for cin, cout, stride in convs:
        layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), norm_layer(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


def _load_imagenet(net: nn.Module, path: str | None) -> None:
    """Load a torchvision ImageNet state dict (``weights_only``); the classifier is not needed."""
    if path is None:
        return
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(("fc.", "classifier."))}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith(("fc.", "classifier."))]
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit the backbone: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )


def _relu6_to_relu(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU6):
            setattr(module, name, nn.ReLU(inplace=True))
        else:
            _relu6_to_relu(child)


def init_from_centerface(backbone: ScaleFaceBackbone, source: nn.Module) -> None:
    """Copy a CenterFace MobileNetV2 backbone ``source`` into ``backbone`` (×1.0, ReLU).

    CenterFace's export folded each BatchNorm into its conv (weight + bias), so
    every conv here gets the folded weight and its BatchNorm becomes the
    identity plus that bias (running mean 0, running var ``1 - eps``, γ 1, β bias).
    """
    src_convs = [m for m in source.modules() if isinstance(m, nn.Conv2d)]
    pairs: list[tuple[nn.Conv2d, nn.Module]] = []
    pending: nn.Conv2d | None = None
    for module in backbone.stages.modules():
        if isinstance(module, nn.Conv2d):
            pending = module
        elif isinstance(module, (nn.BatchNorm2d, FrozenBatchNorm2d)) and pending is not None:
            pairs.append((pending, module))
            pending = None
    if len(pairs) != len(src_convs):
        raise ValueError(f"CenterFace backbone has {len(src_convs)} convs, ScaleFace's {len(pairs)}")
    with torch.no_grad():
        for (conv, bn), src in zip(pairs, src_convs, strict=True):
            if conv.weight.shape != src.weight.shape:
                raise ValueError(f"shape mismatch {tuple(conv.weight.shape)} vs {tuple(src.weight.shape)}")
            conv.weight.copy_(src.weight)
            bn.weight.fill_(1.0)
            bn.bias.copy_(src.bias)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)


class FusionNeck(nn.Module):
    """CenterFace's neck levels at strides 16 and 8 (24 channels each).

    Input: the trunk's ``[s8 (N, 32, H/8, W/8), s16 (N, 96, ..), s32 (N, 320, ..)]``.
    Output: ``[fused s8 (N, 24, H/8, W/8), fused s16 (N, 24, H/16, W/16)]``.
    Module names follow :class:`core.models.centerface.Neck` (levels 1 and 2), so its
    weights copy across by name.
    """

    def __init__(self, tap_channels: tuple[int, int, int] = (32, 96, 320)) -> None:
        super().__init__()
        self.reduce = ConvReLU(tap_channels[2], NECK_CHANNELS)
        self.deconv_layers = nn.ModuleList(Deconv(NECK_CHANNELS) for _ in range(3))
        self.lateral = nn.ModuleList(ConvReLU(c, NECK_CHANNELS) for c in (24, *tap_channels[:2]))

    def forward(self, feats: list[Tensor]) -> list[Tensor]:
        s16 = self.deconv_layers[2](self.reduce(feats[2])) + self.lateral[2](feats[1])
        s8 = self.deconv_layers[1](s16) + self.lateral[1](feats[0])
        return [s8, s16]


def fold_batchnorm(module: nn.Module) -> None:
    """For inference: fold every BatchNorm that follows a conv in a ``Sequential`` into it.

    A frozen trunk's BatchNorms are fixed affine maps (CenterFace's are identity plus
    a bias), so folding changes no output and halves the trunk's time on a CPU. The
    module must then stay in eval mode (its state dict no longer matches a checkpoint's).
    """
    for child in module.children():
        if isinstance(child, nn.Sequential):
            items = list(child._modules.items())
            for (conv_name, conv), (bn_name, bn) in zip(items, items[1:], strict=False):
                if isinstance(conv, nn.Conv2d) and isinstance(bn, (nn.BatchNorm2d, FrozenBatchNorm2d)):
                    child._modules[conv_name] = fuse_conv_bn_eval(conv.eval(), _as_batchnorm(bn).eval())
                    child._modules[bn_name] = nn.Identity()
        fold_batchnorm(child)


def _as_batchnorm(bn: nn.Module) -> nn.BatchNorm2d:
    if isinstance(bn, nn.BatchNorm2d):
        return bn
    plain = nn.BatchNorm2d(bn.weight.numel(), eps=bn.eps)
    with torch.no_grad():
        plain.weight.copy_(bn.weight)
        plain.bias.copy_(bn.bias)
        plain.running_mean.copy_(bn.running_mean)
        plain.running_var.copy_(bn.running_var)
    return plain


def init_neck_from_centerface(neck: FusionNeck, source: nn.Module) -> None:
    """Copy CenterFace's ``neck`` weights (levels 0-2; level 0 is kept only so names match)."""
    missing, unexpected = neck.load_state_dict(source.state_dict(), strict=False)
    if missing or unexpected:
        raise ValueError(f"CenterFace neck does not fit: missing {missing[:3]}, unexpected {unexpected[:3]}")

"""ScaleFace (Yang et al., arXiv 1706.02863): three scale-variant detectors on one shared backbone.

Backbone (:class:`ScaleFaceBackbone`): torchvision ResNet-50 (random init or
ImageNet weights from a user file) or MobileNetV2 (optionally initialised from
the bundled CenterFace weights), cut into three stages whose outputs are the
stride-8, 16 and 32 feature maps.

Branches (:class:`ScaleBranch`, one per range of :mod:`core.scale_ranges`):
small faces on stride 8, medium on stride 16, large on stride 32 — deeper
features and larger RoI pooling for larger faces. Each branch has a 1×1
reduction, its own RPN (:class:`core.models.scaleface.anchors.BranchRPN`,
anchors sized for its range) and its own RoI head (torchvision ``RoIAlign`` →
two FC layers → one face logit + class-agnostic box regression). Each branch
learns only from faces in its range; the others are ignore regions.

Input: ``images (N, 3, H, W)`` float RGB in [0, 1], H and W multiples of 32
(zero padding at the bottom/right), ``image_sizes`` the unpadded ``(h, w)``
of each. Normalisation (ImageNet mean/std) happens inside.

* train mode, ``forward(images, image_sizes, targets)`` with ``targets[i] =
  {"boxes": (K, 4) x1 y1 x2 y2 input pixels, "invalid": (K,) bool}`` → dict of
  losses ``"<branch>/rpn_cls"``, ``rpn_box``, ``roi_cls``, ``roi_box``;
* eval mode → one :class:`~core.models.scaleface.postprocess.ScaleFaceOutput`
  per image: detections per branch and merged (NMS), and each branch's
  response map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchvision
from torch import Tensor, nn
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops import RoIAlign
from torchvision.ops.misc import FrozenBatchNorm2d

from core.models.scaleface.anchors import BranchRPN, BranchSpec, default_branch_specs, split_targets
from core.models.scaleface.loss import label_rois, ohem_select_batch, per_roi_loss, roi_losses
from core.models.scaleface.postprocess import (
    ScaleFaceOutput,
    decode_rois,
    merge_branches,
    response_map,
    select_branch,
)
from core.ranges import check_ranges

BACKBONES = ("resnet50", "mobilenet_v2", "tiny")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


_IOU = (0.0, 1.0)
_COUNT = (1, 100_000)
# Ranges a checkpoint or TOML file may ask for: far beyond any sensible model, short of
# allocations that exhaust memory (roi_hidden=2,000,000 alone asks for 12.8 GB).
CONFIG_RANGES: dict[str, tuple[float, float]] = {
    "width_mult": (0.1, 4.0),
    "branch_channels": (0, 2048),
    "roi_hidden": (0, 8192),
    "pool_sizes": (1, 32),
    "anchors_per_branch": (1, 16),
    "anchor_ratio": (0.1, 10.0),
    "large_anchor_max": (1.0, 10_000.0),
    "min_face_height": (0.0, 10_000.0),
    "ignore_iou": _IOU,
    "rpn_fg_iou": _IOU,
    "rpn_bg_iou": _IOU,
    "rpn_batch_per_image": _COUNT,
    "rpn_pre_nms_train": _COUNT,
    "rpn_post_nms_train": _COUNT,
    "rpn_pre_nms_test": _COUNT,
    "rpn_post_nms_test": _COUNT,
    "rpn_nms_iou": _IOU,
    "roi_fg_iou": _IOU,
    "ohem_rois_per_image": _COUNT,
    "ohem_nms_iou": _IOU,
    "score_thresh": _IOU,
    "nms_iou": _IOU,
    "max_per_branch": _COUNT,
    "max_detections": _COUNT,
}


@dataclass
class ScaleFaceConfig:
    """Architecture and detection hyper-parameters (the ``[task.model]`` TOML table).

    backbone: ``"resnet50"``, ``"mobilenet_v2"`` (``width_mult`` applies to it) or
        ``"tiny"`` (a 9-conv plain CNN for tests and smoke runs, not for real training).
    backbone_weights: a torchvision ImageNet state-dict file (``resnet50-*.pth`` /
        ``mobilenet_v2-*.pth``) to start from; ``None`` = random init.
    init_from_centerface: MobileNetV2 ×1.0 only: copy the bundled CenterFace
        backbone (BatchNorm folded into its convs: BN set to identity + bias).
    norm: ``"bn"``, ``"frozen"`` (FrozenBatchNorm2d), ``"syncbn"`` (DDP), or
        ``"auto"`` = frozen with ImageNet weights, trainable BN otherwise.
    branch_channels / roi_hidden: 0 = 256 / 1024 (ResNet-50) or 64 / 256 (the others).
    pool_sizes: RoIAlign output size of the small, medium, large branch.
    """

    backbone: str = "resnet50"
    width_mult: float = 1.0
    backbone_weights: str | None = None
    init_from_centerface: bool = False
    norm: str = "auto"
    branch_channels: int = 0
    roi_hidden: int = 0
    pool_sizes: tuple[int, int, int] = (5, 7, 9)
    anchors_per_branch: int = 3
    anchor_ratio: float = 1.25
    large_anchor_max: float = 560.0
    min_face_height: float = 10.0
    ignore_iou: float = 0.3
    rpn_fg_iou: float = 0.6
    rpn_bg_iou: float = 0.3
    rpn_batch_per_image: int = 256
    rpn_pre_nms_train: int = 2000
    rpn_post_nms_train: int = 500
    rpn_pre_nms_test: int = 1000
    rpn_post_nms_test: int = 300
    rpn_nms_iou: float = 0.7
    roi_fg_iou: float = 0.5
    ohem_rois_per_image: int = 128
    ohem_nms_iou: float = 0.7
    score_thresh: float = 0.05
    nms_iou: float = 0.3
    max_per_branch: int = 300
    max_detections: int = 750

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, not {self.backbone!r}")
        if self.norm not in ("auto", "bn", "frozen", "syncbn"):
            raise ValueError(f"norm must be auto, bn, frozen or syncbn, not {self.norm!r}")
        if self.init_from_centerface and (self.backbone != "mobilenet_v2" or self.width_mult != 1.0):
            raise ValueError("init_from_centerface needs backbone mobilenet_v2 with width_mult 1.0")
        check_ranges("ScaleFace model", vars(self), CONFIG_RANGES)


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


class ScaleBranch(nn.Module):
    """One scale-variant detector: reduction, RPN and RoI head on one feature map."""

    def __init__(
        self, spec: BranchSpec, in_channels: int, cfg: ScaleFaceConfig, channels: int, hidden: int, pool: int
    ) -> None:
        super().__init__()
        self.spec = spec
        self.reduce = nn.Sequential(nn.Conv2d(in_channels, channels, 1), nn.ReLU(inplace=True))
        self.rpn = BranchRPN(
            spec.anchor_generator(),
            RPNHead(channels, len(spec.anchor_heights)),
            cfg.rpn_fg_iou,
            cfg.rpn_bg_iou,
            cfg.rpn_batch_per_image,
            0.5,
            {"training": cfg.rpn_pre_nms_train, "testing": cfg.rpn_pre_nms_test},
            {"training": cfg.rpn_post_nms_train, "testing": cfg.rpn_post_nms_test},
            cfg.rpn_nms_iou,
            ignore_iou=cfg.ignore_iou,
        )
        self.roi_align = RoIAlign(pool, spatial_scale=1.0 / spec.stride, sampling_ratio=2, aligned=True)
        self.box_head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * pool * pool, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.cls_logit = nn.Linear(hidden, 1)
        self.box_delta = nn.Linear(hidden, 4)
        nn.init.normal_(self.cls_logit.weight, std=0.01)
        nn.init.normal_(self.box_delta.weight, std=0.001)
        nn.init.zeros_(self.cls_logit.bias)
        nn.init.zeros_(self.box_delta.bias)

    def head(self, feature: Tensor, rois: list[Tensor]) -> tuple[Tensor, Tensor]:
        """RoIs (per image, ``(R_i, 4)`` input pixels) → logits ``(ΣR,)`` and deltas ``(ΣR, 4)``."""
        x = self.box_head(self.roi_align(feature, rois))
        return self.cls_logit(x).squeeze(1), self.box_delta(x)


class ScaleFace(nn.Module):
    """The whole detector (see the module docstring for inputs and outputs)."""

    SIZE_MULTIPLE = 32

    def __init__(self, cfg: ScaleFaceConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ScaleFaceConfig()
        mobile = cfg.backbone != "resnet50"
        channels = cfg.branch_channels or (64 if mobile else 256)
        hidden = cfg.roi_hidden or (256 if mobile else 1024)
        self.specs = default_branch_specs(cfg.large_anchor_max, cfg.anchors_per_branch, cfg.anchor_ratio)
        self.backbone = ScaleFaceBackbone(cfg)
        self.branches = nn.ModuleList(
            ScaleBranch(spec, cin, cfg, channels, hidden, pool)
            for spec, cin, pool in zip(self.specs, self.backbone.out_channels, cfg.pool_sizes, strict=True)
        )
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def branch_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def forward(
        self,
        images: Tensor,
        image_sizes: list[tuple[int, int]] | None = None,
        targets: list[dict[str, Tensor]] | None = None,
        min_score: float | None = None,
    ) -> dict[str, Tensor] | list[ScaleFaceOutput]:
        n, _, h, w = images.shape
        if h % self.SIZE_MULTIPLE or w % self.SIZE_MULTIPLE:
            raise ValueError(f"input {h}x{w} is not a multiple of {self.SIZE_MULTIPLE} (pad it)")
        sizes = [tuple(int(v) for v in s) for s in image_sizes] if image_sizes is not None else [(h, w)] * n
        image_list = ImageList(images, sizes)
        feats = self.backbone((images - self.mean) / self.std)
        if self.training:
            if targets is None:
                raise ValueError("ScaleFace needs targets in train mode")
            losses: dict[str, Tensor] = {}
            for branch, feat in zip(self.branches, feats, strict=True):
                for key, value in self._branch_losses(
                    branch, branch.reduce(feat), image_list, targets
                ).items():
                    losses[f"{branch.spec.name}/{key}"] = value
            return losses
        return self._detect(feats, image_list, self.cfg.score_thresh if min_score is None else min_score)

    def _branch_losses(
        self, branch: ScaleBranch, feat: Tensor, image_list: ImageList, targets: list[dict[str, Tensor]]
    ) -> dict[str, Tensor]:
        cfg = self.cfg
        split = [
            split_targets(t["boxes"], t.get("invalid"), branch.spec, cfg.min_face_height) for t in targets
        ]
        rpn_targets = [{"boxes": mine, "ignore": ignore} for mine, ignore in split]
        proposals, _, losses, _ = branch.rpn(image_list, feat, rpn_targets)
        labelled = [
            label_rois(p, mine, ignore, fg_iou=cfg.roi_fg_iou, ignore_iou=cfg.ignore_iou)
            for p, (mine, ignore) in zip(proposals, split, strict=True)
        ]
        # OHEM, read-only pass: score every candidate without building a graph ...
        with torch.no_grad():
            logits, deltas = branch.head(feat, [t.rois for t in labelled])
            cls, box = per_roi_loss(
                logits,
                deltas,
                torch.cat([t.labels for t in labelled]),
                torch.cat([t.box_targets for t in labelled]),
            )
            hardness = (cls + box).split([t.rois.shape[0] for t in labelled])
        picks = ohem_select_batch(
            [t.rois for t in labelled], list(hardness), cfg.ohem_rois_per_image, cfg.ohem_nms_iou
        )
        # ... then the hardest RoIs again, with gradients
        logits, deltas = branch.head(feat, [t.rois[i] for t, i in zip(labelled, picks, strict=True)])
        labels = torch.cat([t.labels[i] for t, i in zip(labelled, picks, strict=True)])
        box_targets = torch.cat([t.box_targets[i] for t, i in zip(labelled, picks, strict=True)])
        roi_cls, roi_box = roi_losses(logits, deltas, labels, box_targets, int(labels.numel()))
        return {**losses, "roi_cls": roi_cls, "roi_box": roi_box}

    def _detect(self, feats: list[Tensor], image_list: ImageList, min_score: float) -> list[ScaleFaceOutput]:
        cfg, names = self.cfg, self.branch_names
        n = len(image_list.image_sizes)
        per_image: list[dict[str, tuple[Tensor, Tensor]]] = [{} for _ in range(n)]
        maps: list[dict[str, Tensor]] = [{} for _ in range(n)]
        for branch, feat in zip(self.branches, feats, strict=True):
            feat = branch.reduce(feat)
            proposals, _, _, logits_map = branch.rpn(image_list, feat)
            logits, deltas = branch.head(feat, proposals)
            counts = [p.shape[0] for p in proposals]
            for i, (p, lg, dl) in enumerate(
                zip(proposals, logits.split(counts), deltas.split(counts), strict=True)
            ):
                size = image_list.image_sizes[i]
                boxes, scores = decode_rois(p, lg, dl, size)
                per_image[i][branch.spec.name] = select_branch(
                    boxes, scores, min_score=min_score, nms_iou=cfg.nms_iou, max_keep=cfg.max_per_branch
                )
                maps[i][branch.spec.name] = response_map(logits_map[i], size, branch.spec.stride)
        outputs = []
        for i in range(n):
            boxes, scores, index = merge_branches(
                per_image[i], names, nms_iou=cfg.nms_iou, max_keep=cfg.max_detections
            )
            outputs.append(ScaleFaceOutput(names, per_image[i], boxes, scores, index, maps[i]))
        return outputs

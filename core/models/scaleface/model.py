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
of each. Normalisation (``input_norm``: ImageNet mean/std, or back to 0..255
for CenterFace's trunk) happens inside.

:meth:`ScaleFace.features` gives each branch's input map and
:meth:`ScaleFace.forward_features` runs the branches on them, so a frozen
trunk's features can be computed once and cached for training.

* train mode, ``forward(images, image_sizes, targets)`` with ``targets[i] =
  {"boxes": (K, 4) x1 y1 x2 y2 input pixels, "invalid": (K,) bool}`` → dict of
  losses ``"<branch>/rpn_cls"``, ``rpn_box``, ``roi_cls``, ``roi_box``;
* eval mode → one :class:`~core.models.scaleface.postprocess.ScaleFaceOutput`
  per image: detections per branch and merged (NMS), and each branch's
  response map.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RPNHead
from torchvision.ops import RoIAlign

from core.models.centerface import NECK_CHANNELS
from core.models.scaleface.anchors import BranchRPN, BranchSpec, default_branch_specs, split_targets
from core.models.scaleface.backbone import FusionNeck, ScaleFaceBackbone
from core.models.scaleface.config import FUSED_BRANCHES, IMAGENET_MEAN, IMAGENET_STD, ScaleFaceConfig
from core.models.scaleface.loss import (
    label_rois,
    ohem_select_batch,
    per_roi_loss,
    random_select_batch,
    roi_losses,
)
from core.models.scaleface.postprocess import (
    ScaleFaceOutput,
    decode_rois,
    merge_branches,
    response_map,
    select_branch,
)


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
            min_score_test=cfg.rpn_min_score_test,
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
        self.fused_branches = FUSED_BRANCHES[cfg.fusion]
        self.neck = FusionNeck() if self.fused_branches else None
        in_channels = [
            c + (NECK_CHANNELS if i < self.fused_branches else 0)
            for i, c in enumerate(self.backbone.out_channels)
        ]
        self.branches = nn.ModuleList(
            ScaleBranch(spec, cin, cfg, channels, hidden, pool)
            for spec, cin, pool in zip(self.specs, in_channels, cfg.pool_sizes, strict=True)
        )
        if cfg.input_norm == "raw255":
            mean, std = (0.0, 0.0, 0.0), (1 / 255.0,) * 3
        else:
            mean, std = IMAGENET_MEAN, IMAGENET_STD
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        if cfg.freeze_trunk:
            for module in (self.backbone, self.neck):
                if module is not None:
                    module.requires_grad_(False)
            if cfg.tune_last_stage:
                self.backbone.stages[-1].requires_grad_(True)

    def train(self, mode: bool = True) -> ScaleFace:
        super().train(mode)
        if self.cfg.freeze_trunk:  # a frozen trunk keeps its BatchNorm statistics
            self.backbone.eval()
            if self.neck is not None:
                self.neck.eval()
        return self

    @property
    def branch_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.specs)

    def features(self, images: Tensor) -> list[Tensor]:
        """Each branch's input map: ``[(N, C_b, H/s_b, W/s_b)]`` for strides 8, 16, 32.

        With ``fusion`` the small (and medium) map is the trunk's concatenated with the
        neck's. Under ``freeze_trunk`` no graph is built, except through a tuned last stage."""
        n, _, h, w = images.shape
        if h % self.SIZE_MULTIPLE or w % self.SIZE_MULTIPLE:
            raise ValueError(f"input {h}x{w} is not a multiple of {self.SIZE_MULTIPLE} (pad it)")
        fused = self.__dict__.get("_fused_trunk")
        if fused is not None and not self.training and images.device.type == "cpu":
            return list(fused(images))
        tune = self.cfg.tune_last_stage
        stages = self.backbone.stages[:-1] if tune else self.backbone.stages
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.cfg.freeze_trunk):
            x, taps = (images - self.mean) / self.std, []
            for stage in stages:
                x = stage(x)
                taps.append(x)
            if not tune:
                return self._fuse(taps)
        return self._fuse([*taps, self.backbone.stages[-1](taps[-1])])

    def use_fused_trunk(self, fused: Callable[[Tensor], tuple[Tensor, ...]] | None) -> None:
        """Inference on the CPU: :meth:`features` in eval mode becomes ``fused(images)``.

        ``fused`` is the frozen trunk and neck compiled for the CPU (``core.zoo.fusion``).
        It is kept outside the module registry, so the state dict and ``.to()`` never see it."""
        object.__setattr__(self, "_fused_trunk", fused)

    def _fuse(self, taps: list[Tensor]) -> list[Tensor]:
        """The trunk's three maps → the branches' inputs (the neck's maps concatenated)."""
        if self.neck is None:
            return taps
        neck = self.neck(taps)
        return [torch.cat([f, neck[i]], 1) if i < self.fused_branches else f for i, f in enumerate(taps)]

    def from_pool(self, levels: list[Tensor]) -> list[Tensor]:
        """Branch inputs from a feature pool's maps (what :meth:`features` computed once).

        A pool may hold more channels than this model reads: a fusion-free model reads
        a fused pool's trunk channels, which come first. A tuned last stage reruns on
        the pooled stride-16 map, and the neck after it."""
        trunk = [level[:, :c] for level, c in zip(levels, self.backbone.out_channels, strict=True)]
        if self.cfg.tune_last_stage:
            return self._fuse([trunk[0], trunk[1], self.backbone.stages[-1](trunk[1])])
        if self.neck is None:
            return trunk
        return [level if i < self.fused_branches else trunk[i] for i, level in enumerate(levels)]

    def forward(
        self,
        images: Tensor,
        image_sizes: list[tuple[int, int]] | None = None,
        targets: list[dict[str, Tensor]] | None = None,
        min_score: float | None = None,
    ) -> dict[str, Tensor] | list[ScaleFaceOutput]:
        n, _, h, w = images.shape
        sizes = [tuple(int(v) for v in s) for s in image_sizes] if image_sizes is not None else [(h, w)] * n
        return self.forward_features(self.features(images), (h, w), sizes, targets, min_score)

    def forward_features(
        self,
        feats: list[Tensor],
        input_size: tuple[int, int],
        image_sizes: list[tuple[int, int]],
        targets: list[dict[str, Tensor]] | None = None,
        min_score: float | None = None,
    ) -> dict[str, Tensor] | list[ScaleFaceOutput]:
        """The branches on :meth:`features`' maps of a padded ``input_size`` ``(H, W)`` batch.

        Train mode (``targets`` given) → the losses; eval mode → one output per image."""
        n = feats[0].shape[0]
        # the anchor generator reads only the padded input's shape: a broadcast view, no memory
        shape_only = feats[0].new_zeros(()).expand(n, 3, *input_size)
        image_list = ImageList(shape_only, [tuple(int(v) for v in s) for s in image_sizes])
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
        rois = [t.rois for t in labelled]
        if cfg.ohem:
            picks = ohem_select_batch(
                rois, self._hardness(branch, feat, labelled), cfg.ohem_rois_per_image, cfg.ohem_nms_iou
            )
        else:
            picks = random_select_batch([t.labels for t in labelled], cfg.ohem_rois_per_image)
        # the selected RoIs again, with gradients
        logits, deltas = branch.head(feat, [t.rois[i] for t, i in zip(labelled, picks, strict=True)])
        labels = torch.cat([t.labels[i] for t, i in zip(labelled, picks, strict=True)])
        box_targets = torch.cat([t.box_targets[i] for t, i in zip(labelled, picks, strict=True)])
        roi_cls, roi_box = roi_losses(logits, deltas, labels, box_targets, int(labels.numel()))
        return {**losses, "roi_cls": roi_cls, "roi_box": roi_box}

    @staticmethod
    def _hardness(branch: ScaleBranch, feat: Tensor, labelled: list) -> list[Tensor]:
        """OHEM's read-only pass: every candidate's loss, without building a graph."""
        with torch.no_grad():
            logits, deltas = branch.head(feat, [t.rois for t in labelled])
            cls, box = per_roi_loss(
                logits,
                deltas,
                torch.cat([t.labels for t in labelled]),
                torch.cat([t.box_targets for t in labelled]),
            )
        return list((cls + box).split([t.rois.shape[0] for t in labelled]))

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

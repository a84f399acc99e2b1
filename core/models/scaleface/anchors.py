"""ScaleFace branches: scale ranges, anchors, which faces each branch learns from, and its RPN.

ScaleFace (Yang et al., arXiv 1706.02863) splits faces by height into the
ranges of :mod:`core.scale_ranges` and gives each range its own
detector on the backbone stage whose stride suits it: small faces on stride 8,
medium on stride 16, large on stride 32.

*Branch assignment.* A face is a training target of the branch whose range
holds its height (``x2 - x1``/``y2 - y1`` in input pixels, after
augmentation). For every other branch it is an *ignore* box: anchors and RoIs
that overlap it (IoU ≥ ``ignore_iou``) are neither positives nor negatives,
so a branch is never taught that a face slightly outside its range is
background. Faces flagged invalid, and faces smaller than
``min_face_height``, are ignore boxes for every branch.

*Anchors.* Each branch has ``len(heights)`` anchors per location, one aspect
ratio (height / width, faces are taller than wide), heights spaced
geometrically inside the branch's range (:func:`range_anchor_heights`).
Boxes are ``x1 y1 x2 y2`` in input-tensor pixels throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RegionProposalNetwork, concat_box_prediction_layers
from torchvision.ops import box_iou

from core.scale_ranges import BRANCH_NAMES, SCALE_RANGES

BRANCH_STRIDES: dict[str, int] = {"small": 8, "medium": 16, "large": 32}


def range_anchor_heights(low: float, high: float, count: int = 3) -> tuple[float, ...]:
    """``count`` heights geometrically centred in bins of ``[low, high)``: e.g. 10–40 → 12.6, 20, 31.7."""
    ratio = high / low
    return tuple(round(low * ratio ** ((2 * k + 1) / (2 * count)), 1) for k in range(count))


@dataclass(frozen=True)
class BranchSpec:
    """One scale branch: its name, face-height range ``[low, high)``, stride and anchors."""

    name: str
    low: float
    high: float
    stride: int
    anchor_heights: tuple[float, ...]
    aspect_ratio: float = 1.25

    def anchor_generator(self) -> AnchorGenerator:
        # torchvision's anchor of "size" s and ratio r has height s*sqrt(r): pass s = height/sqrt(r)
        sizes = tuple(h / math.sqrt(self.aspect_ratio) for h in self.anchor_heights)
        return AnchorGenerator(sizes=(sizes,), aspect_ratios=((self.aspect_ratio,),))

    def in_range(self, heights: Tensor) -> Tensor:
        return (heights >= self.low) & (heights < self.high)


def default_branch_specs(
    large_max: float = 560.0, anchors_per_branch: int = 3, aspect_ratio: float = 1.25
) -> tuple[BranchSpec, ...]:
    """The three paper branches over :data:`SCALE_RANGES`; ``large_max`` bounds the large anchors only
    (larger faces still belong to the large branch)."""
    specs = []
    for name in BRANCH_NAMES:
        low, high = SCALE_RANGES[name]
        top = large_max if math.isinf(high) else high
        heights = range_anchor_heights(low, top, anchors_per_branch)
        specs.append(BranchSpec(name, low, high, BRANCH_STRIDES[name], heights, aspect_ratio))
    return tuple(specs)


def split_targets(
    boxes: Tensor, invalid: Tensor | None, spec: BranchSpec, min_face_height: float
) -> tuple[Tensor, Tensor]:
    """``(K, 4)`` boxes of one image → (this branch's targets ``(P, 4)``, its ignore boxes ``(Q, 4)``)."""
    heights = boxes[:, 3] - boxes[:, 1]
    usable = heights >= min_face_height
    if invalid is not None:
        usable &= ~invalid.bool()
    mine = usable & spec.in_range(heights)
    return boxes[mine], boxes[~mine]


class BranchRPN(RegionProposalNetwork):
    """torchvision's RPN for one feature map, with ignore boxes and its objectness map exposed.

    ``targets[i]`` holds ``"boxes"`` (this branch's faces) and ``"ignore"``
    (boxes whose overlapping anchors must not become negatives).
    """

    def __init__(self, *args, ignore_iou: float = 0.3, min_score_test: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ignore_iou = ignore_iou
        self.min_score_test = min_score_test

    def assign_targets_to_anchors(
        self, anchors: list[Tensor], targets: list[dict[str, Tensor]]
    ) -> tuple[list[Tensor], list[Tensor]]:
        labels, matched_gt_boxes = super().assign_targets_to_anchors(anchors, targets)
        for labels_i, anchors_i, target in zip(labels, anchors, targets, strict=True):
            ignore = target.get("ignore")
            if ignore is not None and ignore.numel():
                overlap = box_iou(ignore, anchors_i).amax(dim=0)
                labels_i[(labels_i == 0) & (overlap >= self.ignore_iou)] = -1.0
        return labels, matched_gt_boxes

    def forward(  # type: ignore[override]
        self, images: ImageList, feature: Tensor, targets: list[dict[str, Tensor]] | None = None
    ) -> tuple[list[Tensor], list[Tensor], dict[str, Tensor], Tensor]:
        """Proposals for one feature map ``(N, C, Hf, Wf)``.

        Returns per-image proposals ``(R, 4)`` and objectness probabilities
        ``(R,)``, the losses (train mode: ``rpn_cls``, ``rpn_box``) and the raw
        objectness logits ``(N, A, Hf, Wf)`` (the branch's response map).
        """
        self.score_thresh = 0.0 if self.training else self.min_score_test  # read by filter_proposals
        objectness, deltas = self.head([feature])
        anchors = self.anchor_generator(images, [feature])
        num_images = len(anchors)
        logits_map = objectness[0]
        num_anchors_per_level = [logits_map[0].numel()]
        flat_objectness, flat_deltas = concat_box_prediction_layers(objectness, deltas)
        proposals = self.box_coder.decode(flat_deltas.detach(), anchors).view(num_images, -1, 4)
        boxes, scores = self.filter_proposals(
            proposals, flat_objectness, images.image_sizes, num_anchors_per_level
        )
        losses: dict[str, Tensor] = {}
        if self.training:
            if targets is None:
                raise ValueError("targets are required in training mode")
            labels, matched = self.assign_targets_to_anchors(anchors, targets)
            regression_targets = self.box_coder.encode(matched, anchors)
            loss_cls, loss_box = self.compute_loss(flat_objectness, flat_deltas, labels, regression_targets)
            losses = {"rpn_cls": loss_cls, "rpn_box": loss_box}
        return boxes, scores, losses, logits_map

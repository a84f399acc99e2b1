"""ScaleFace inference post-processing: RoI outputs → per-branch and merged detections, response maps.

Per branch: decode the RoI head's regression on its proposals, clip to the
image, keep scores ≥ ``min_score``, NMS within the branch, keep the best
``max_per_branch``. Merged: all branches' survivors together, NMS again (a
face near a range boundary may be found by two branches), best
``max_detections``. NMS is :func:`core.models.box_ops.nms`, the project's
only NMS. Boxes are ``x1 y1 x2 y2`` in input-tensor pixels; the detector
rescales them to the original image.

A branch's *response map* is its RPN objectness: the sigmoid of the logits,
max over the branch's anchors at each location, cropped to the valid (unpadded)
part of the image: ``(ceil(h / stride), ceil(w / stride))`` float32 in [0, 1],
one cell per ``stride`` pixels. The GUI draws it as a heat map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torchvision.ops import clip_boxes_to_image

from core.models.box_ops import nms
from core.models.scaleface.loss import ROI_BOX_CODER


@dataclass
class ScaleFaceOutput:
    """Detections of one image (CPU tensors).

    branches: name → ``(boxes (K, 4), scores (K,))`` after the branch's own NMS.
    boxes / scores / branch_index: the merged detections ``(M, 4)``, ``(M,)``
        and the index (into ``branch_names``) of the branch each came from.
    response_maps: name → ``(Hb, Wb)`` objectness probability map.
    """

    branch_names: tuple[str, ...]
    branches: dict[str, tuple[Tensor, Tensor]]
    boxes: Tensor
    scores: Tensor
    branch_index: Tensor
    response_maps: dict[str, Tensor] = field(default_factory=dict)


def decode_rois(
    proposals: Tensor, logits: Tensor, deltas: Tensor, image_size: tuple[int, int]
) -> tuple[Tensor, Tensor]:
    """RoI head outputs → boxes ``(R, 4)`` clipped to ``image_size`` ``(h, w)`` and scores ``(R,)``."""
    if proposals.shape[0] == 0:
        return proposals.new_zeros((0, 4)), proposals.new_zeros((0,))
    boxes = ROI_BOX_CODER.decode_single(deltas.float(), proposals.float())
    return clip_boxes_to_image(boxes, image_size), torch.sigmoid(logits.float())


def select_branch(
    boxes: Tensor, scores: Tensor, *, min_score: float, nms_iou: float, max_keep: int, min_size: float = 1.0
) -> tuple[Tensor, Tensor]:
    """Score threshold, tiny-box removal, NMS, top ``max_keep``; returns CPU tensors."""
    boxes, scores = boxes.detach().float().cpu(), scores.detach().float().cpu()
    wh = boxes[:, 2:] - boxes[:, :2]
    keep = (scores >= min_score) & (wh >= min_size).all(dim=1)
    boxes, scores = boxes[keep], scores[keep]
    order = torch.as_tensor(nms(boxes, scores, nms_iou), dtype=torch.long)[:max_keep]
    return boxes[order], scores[order]


def merge_branches(
    branches: dict[str, tuple[Tensor, Tensor]], names: tuple[str, ...], *, nms_iou: float, max_keep: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Concatenate the branches' detections and NMS them together → boxes, scores, branch index."""
    boxes = torch.cat([branches[n][0] for n in names]) if names else torch.zeros((0, 4))
    scores = torch.cat([branches[n][1] for n in names]) if names else torch.zeros((0,))
    index = torch.cat(
        [torch.full((branches[n][1].shape[0],), i, dtype=torch.long) for i, n in enumerate(names)]
    )
    order = torch.as_tensor(nms(boxes, scores, nms_iou), dtype=torch.long)[:max_keep]
    return boxes[order], scores[order], index[order]


def response_map(logits: Tensor, image_size: tuple[int, int], stride: int) -> Tensor:
    """``(A, Hf, Wf)`` objectness logits of one image → ``(ceil(h/stride), ceil(w/stride))`` probabilities."""
    h, w = image_size
    prob = torch.sigmoid(logits.detach().float()).amax(dim=0)
    return prob[: math.ceil(h / stride), : math.ceil(w / stride)].cpu()

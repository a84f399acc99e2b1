"""ScaleFace RoI-head training: RoI labelling with ignore boxes, OHEM selection, losses.

Per image and branch the candidate RoIs are the RPN proposals plus the
branch's ground-truth boxes. A candidate is

* positive when its best IoU with a branch target is ≥ ``fg_iou``;
* negative when that IoU is < ``fg_iou``, unless it overlaps an ignore box
  (a face of another range, an invalid or too-small face) by ≥ ``ignore_iou``:
  then it is dropped (neither positive nor negative).

Online hard example mining (Shrivastava et al. 2016): the head scores every
candidate without gradients, the per-RoI loss (classification + box
regression for positives) ranks them, near-duplicate RoIs are suppressed
(NMS over the RoIs with the loss as score, so one hard region is not counted
many times), and only the ``rois_per_image`` hardest are run again with
gradients. Classification is one face logit (binary cross-entropy); box
regression is class-agnostic, Fast R-CNN encoding with weights (10, 10, 5, 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import box_iou

from core.detect.postprocess import nms

ROI_BOX_CODER = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
SMOOTH_L1_BETA = 1.0 / 9.0


@dataclass
class RoiTargets:
    """Labelled candidate RoIs of one image: ``rois (R, 4)``, ``labels (R,)`` 1/0 float,
    ``box_targets (R, 4)`` encoded regression targets (meaningful where label is 1)."""

    rois: Tensor
    labels: Tensor
    box_targets: Tensor


def label_rois(
    proposals: Tensor,
    targets: Tensor,
    ignore: Tensor,
    *,
    fg_iou: float = 0.5,
    ignore_iou: float = 0.3,
) -> RoiTargets:
    """Label one image's candidates (proposals ``(R, 4)`` plus ``targets (P, 4)``); drop ignored ones."""
    rois = torch.cat([proposals.detach(), targets]) if targets.numel() else proposals.detach()
    labels = torch.zeros(rois.shape[0], dtype=torch.float32, device=rois.device)
    matched = torch.zeros_like(rois)
    keep = torch.ones(rois.shape[0], dtype=torch.bool, device=rois.device)
    if targets.numel():
        best_iou, best = box_iou(targets, rois).max(dim=0)
        labels = (best_iou >= fg_iou).float()
        matched = targets[best]
    if ignore.numel():
        overlap = box_iou(ignore, rois).amax(dim=0)
        keep &= (labels > 0) | (overlap < ignore_iou)
    rois, labels, matched = rois[keep], labels[keep], matched[keep]
    if not rois.numel() or not targets.numel():
        return RoiTargets(rois, labels, torch.zeros_like(rois))
    # negatives get zero targets: their "matched" box may be degenerate (log 0 = -inf, and inf * 0 = nan)
    box_targets = torch.where(labels[:, None] > 0, ROI_BOX_CODER.encode_single(matched, rois), 0.0)
    return RoiTargets(rois, labels, box_targets)


def per_roi_loss(
    logits: Tensor, deltas: Tensor, labels: Tensor, box_targets: Tensor
) -> tuple[Tensor, Tensor]:
    """Per-RoI classification loss ``(R,)`` and box loss ``(R,)`` (zero for negatives)."""
    cls = F.binary_cross_entropy_with_logits(logits.float(), labels, reduction="none")
    box = F.smooth_l1_loss(deltas.float(), box_targets, beta=SMOOTH_L1_BETA, reduction="none").sum(dim=1)
    return cls, box * labels


def ohem_select(rois: Tensor, losses: Tensor, rois_per_image: int, nms_iou: float = 0.7) -> Tensor:
    """Indices of the ``rois_per_image`` hardest RoIs (highest loss) of one image, after
    suppressing RoIs that overlap a harder one by more than ``nms_iou`` (``nms_iou >= 1``
    disables the suppression)."""
    if rois.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=rois.device)
    if nms_iou < 1.0:
        order = torch.as_tensor(nms(rois.detach().float().cpu(), losses.detach().float().cpu(), nms_iou))
        order = order.to(rois.device)
    else:
        order = torch.argsort(losses.detach(), descending=True, stable=True)
    return order[:rois_per_image]


def roi_losses(
    logits: Tensor, deltas: Tensor, labels: Tensor, box_targets: Tensor, num_rois: int
) -> tuple[Tensor, Tensor]:
    """Mean classification loss and box loss (sum over positives / ``num_rois``, as Fast R-CNN)
    over the selected RoIs of all images of the batch."""
    cls, box = per_roi_loss(logits, deltas, labels, box_targets)
    denom = max(1, num_rois)
    return cls.sum() / denom, box.sum() / denom

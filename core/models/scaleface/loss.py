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
from torchvision.ops import batched_nms, box_iou

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


def ohem_select_batch(
    rois: list[Tensor], losses: list[Tensor], rois_per_image: int, nms_iou: float = 0.7
) -> list[Tensor]:
    """Per image, indices of the ``rois_per_image`` hardest RoIs (highest loss), after
    suppressing RoIs that overlap a harder one of the same image by more than ``nms_iou``
    (``nms_iou >= 1`` disables the suppression).

    All images in one pass on the RoIs' device (torchvision's batched NMS, the same
    NMS as :func:`core.models.box_ops.nms`, offset per image), so the training
    step does not stop for a host round trip per image and branch.
    """
    counts = [r.shape[0] for r in rois]
    device = rois[0].device if rois else torch.device("cpu")
    if sum(counts) == 0:
        return [torch.zeros(0, dtype=torch.long, device=device) for _ in counts]
    all_rois = torch.cat(rois).detach().float()
    all_losses = torch.cat(losses).detach().float()
    image = torch.repeat_interleave(
        torch.arange(len(counts), device=device), torch.as_tensor(counts, device=device)
    )
    if nms_iou < 1.0:
        order = batched_nms(all_rois, all_losses, image, nms_iou)  # descending loss
    else:
        order = torch.argsort(all_losses, descending=True, stable=True)
    order = order[torch.argsort(image[order], stable=True)]  # group by image, hardest first
    owner = image[order]
    per_image = torch.bincount(owner, minlength=len(counts))
    rank = torch.arange(order.numel(), device=device) - (torch.cumsum(per_image, 0) - per_image)[owner]
    chosen = rank < rois_per_image
    offsets = torch.cumsum(torch.as_tensor([0, *counts[:-1]], device=device), 0)
    local = order[chosen] - offsets[owner[chosen]]
    sizes = torch.bincount(owner[chosen], minlength=len(counts)).tolist()
    return list(local.split(sizes))


def ohem_select(rois: Tensor, losses: Tensor, rois_per_image: int, nms_iou: float = 0.7) -> Tensor:
    """:func:`ohem_select_batch` for one image."""
    return ohem_select_batch([rois], [losses], rois_per_image, nms_iou)[0]


def random_select_batch(
    labels: list[Tensor],
    rois_per_image: int,
    fg_fraction: float = 0.25,
    generator: torch.Generator | None = None,
) -> list[Tensor]:
    """Per image, indices of a random sample of ``rois_per_image`` RoIs with at most
    ``fg_fraction`` of them positive (Fast R-CNN's sampling; the no-OHEM baseline)."""
    picks = []
    for lab in labels:
        pos = torch.nonzero(lab > 0).flatten()
        neg = torch.nonzero(lab <= 0).flatten()
        n_pos = min(pos.numel(), int(rois_per_image * fg_fraction))
        n_neg = min(neg.numel(), rois_per_image - n_pos)
        pos = pos[torch.randperm(pos.numel(), generator=generator, device=lab.device)[:n_pos]]
        neg = neg[torch.randperm(neg.numel(), generator=generator, device=lab.device)[:n_neg]]
        picks.append(torch.cat([pos, neg]))
    return picks


def roi_losses(
    logits: Tensor, deltas: Tensor, labels: Tensor, box_targets: Tensor, num_rois: int
) -> tuple[Tensor, Tensor]:
    """Mean classification loss and box loss (sum over positives / ``num_rois``, as Fast R-CNN)
    over the selected RoIs of all images of the batch."""
    cls, box = per_roi_loss(logits, deltas, labels, box_targets)
    denom = max(1, num_rois)
    return cls.sum() / denom, box.sum() / denom

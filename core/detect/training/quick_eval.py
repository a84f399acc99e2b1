"""Quick detection metrics used while training (not the official WIDER protocol).

For the eval hook at checkpoints: greedy matching by descending score at
IoU ≥ 0.5, one detection per face, invalid faces ignored (a detection on one
is neither a hit nor a false positive); AP is VOC AP over all images
(:func:`core.wider.evaluation.voc_ap`). Per scale range: recall of that
range's faces, and the *branch recall* — the share of a range's faces hit by
a detection of the branch of that range, which shows whether each branch
fires on its own range. Boxes ``x1 y1 x2 y2`` pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import box_iou

from core.scale_ranges import BRANCH_NAMES, scale_range_of
from core.wider.evaluation import voc_ap


@dataclass
class ImageEval:
    """One image: detections (boxes ``(D, 4)``, scores ``(D,)``, branch names) and ground truth."""

    boxes: np.ndarray
    scores: np.ndarray
    branches: Sequence[str]
    gt_boxes: np.ndarray
    gt_invalid: np.ndarray


def _match(item: ImageEval, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Per detection: +1 hit, 0 false positive, -1 ignored; per face: index of its detection or -1."""
    d, g = len(item.scores), len(item.gt_boxes)
    status = np.zeros(d, dtype=np.int64)
    owner = np.full(g, -1, dtype=np.int64)
    if d == 0 or g == 0:
        return status, owner
    overlaps = box_iou(
        torch.as_tensor(item.boxes, dtype=torch.float32), torch.as_tensor(item.gt_boxes, dtype=torch.float32)
    ).numpy()
    for det in np.argsort(-item.scores, kind="stable"):
        candidates = np.where(owner < 0, overlaps[det], -1.0)
        best = int(np.argmax(candidates))
        if candidates[best] >= iou:
            if item.gt_invalid[best]:
                status[det] = -1
            else:
                status[det] = 1
                owner[best] = det
        elif overlaps[det].max() >= iou:  # a duplicate on an already found face
            status[det] = -1 if item.gt_invalid[int(np.argmax(overlaps[det]))] else 0
    return status, owner


def quick_eval(items: Sequence[ImageEval], iou: float = 0.5) -> dict[str, float]:
    """``{"ap", "recall_<range>", "branch_recall_<range>", "faces_<range>"}`` over ``items``."""
    scores, hits = [], []
    found = {name: 0 for name in BRANCH_NAMES}
    by_branch = {name: 0 for name in BRANCH_NAMES}
    total = {name: 0 for name in BRANCH_NAMES}
    for item in items:
        status, owner = _match(item, iou)
        counted = status >= 0
        scores.append(item.scores[counted])
        hits.append(status[counted])
        for face, det in enumerate(owner):
            if item.gt_invalid[face]:
                continue
            x1, y1, x2, y2 = item.gt_boxes[face]
            name = scale_range_of(float(y2 - y1))
            total[name] += 1
            if det >= 0:
                found[name] += 1
                by_branch[name] += int(item.branches[det] == name)
    num_faces = sum(total.values())
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    all_hits = np.concatenate(hits) if hits else np.zeros(0)
    order = np.argsort(-all_scores, kind="stable")
    tp = np.cumsum(all_hits[order] == 1)
    precision = tp / np.arange(1, len(tp) + 1) if len(tp) else np.zeros(0)
    recall = tp / max(1, num_faces)
    out = {"ap": voc_ap(recall, precision) if len(tp) else 0.0}
    for name in BRANCH_NAMES:
        out[f"faces_{name}"] = float(total[name])
        out[f"recall_{name}"] = found[name] / total[name] if total[name] else float("nan")
        out[f"branch_recall_{name}"] = by_branch[name] / total[name] if total[name] else float("nan")
    return out

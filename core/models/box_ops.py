"""Box operations shared by the networks' own post-processing and every detector.

One NMS for the whole project (``torchvision.ops.nms``); it lives beside the
networks because ScaleFace's proposal stage (a part of the model) needs it too.
"""

from __future__ import annotations

import numpy as np
import torch
from torchvision.ops import nms as _tv_nms


def nms(
    boxes: np.ndarray | torch.Tensor, scores: np.ndarray | torch.Tensor, iou_threshold: float
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, by descending score.

    boxes: ``(N, 4)`` x1 y1 x2 y2; scores: ``(N,)``.
    """
    boxes_t = torch.as_tensor(boxes, dtype=torch.float32)
    scores_t = torch.as_tensor(scores, dtype=torch.float32)
    if boxes_t.numel() == 0:
        return np.zeros((0,), dtype=np.int64)
    return _tv_nms(boxes_t, scores_t, float(iou_threshold)).cpu().numpy()

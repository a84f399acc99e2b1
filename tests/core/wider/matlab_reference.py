"""A literal, loop-by-loop Python transcription of the official eval_tools
(``norm_score.m``, ``evaluation.m`` incl. ``image_evaluation`` /
``image_pr_info`` / ``dataset_pr_info``, ``boxoverlap.m``, ``VOCap.m``),
written from their published behaviour for the tests only: slow and obvious,
so the vectorised engine can be compared with it on random cases.

MATLAB's int32 semantics are spelled out with explicit helpers
(``_i32`` = convert a double, rounding half away from zero).
"""

from __future__ import annotations

import math

import numpy as np


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _i32(x: float) -> int:
    return int(_round_half_away(x))


def boxoverlap(gt_xyxy: list[tuple], pred_xyxy: tuple, integer: bool) -> list[float]:
    bx1, by1, bx2, by2 = pred_xyxy
    barea = (bx2 - bx1 + 1) * (by2 - by1 + 1)
    out = []
    for ax1, ay1, ax2, ay2 in gt_xyxy:
        if integer:
            x1, y1 = max(ax1, _i32(bx1)), max(ay1, _i32(by1))
            x2, y2 = min(ax2, _i32(bx2)), min(ay2, _i32(by2))
            w, h = x2 - x1 + 1, y2 - y1 + 1
            inter = w * h
            aarea = (ax2 - ax1 + 1) * (ay2 - ay1 + 1)
            union = _i32(aarea + barea) - inter
            o = _i32(inter / union) if union else (0 if inter == 0 else math.copysign(2**31 - 1, inter))
        else:
            x1, y1, x2, y2 = max(ax1, bx1), max(ay1, by1), min(ax2, bx2), min(ay2, by2)
            w, h = x2 - x1 + 1, y2 - y1 + 1
            inter = w * h
            aarea = (ax2 - ax1 + 1) * (ay2 - ay1 + 1)
            o = inter / (aarea + barea - inter)
        out.append(0.0 if (w <= 0 or h <= 0) else float(o))
    return out


def norm_scores(all_scores: list[float]) -> tuple[float, float]:
    lo = np.float32(np.finfo(np.float32).max)
    hi = np.float32(np.finfo(np.float32).tiny)
    for s in all_scores:
        hi = max(hi, np.float32(s))
        lo = min(lo, np.float32(s))
    return lo, hi


def evaluate_reference(
    gt_images: list[np.ndarray],
    keep: list[list[int]],
    preds: list[np.ndarray],
    integer: bool = True,
    best_match: bool = False,
) -> tuple[float, np.ndarray]:
    """gt_images[j]: (G, 4) x y w h; keep[j]: 1-based kept indices; preds[j]: (N, 5) (file order).

    Returns (AP, pr_curve (1000, 2) = [precision, recall]).
    """
    flat = [float(s) for p in preds for s in p[:, 4]]
    lo, hi = norm_scores(flat)
    thresh_num = 1000
    org = np.zeros((thresh_num, 2))
    count_face = 0
    for gt, kept, pred in zip(gt_images, keep, preds, strict=True):
        count_face += len(kept)
        if len(gt) == 0 or len(pred) == 0:
            continue
        order = sorted(range(len(pred)), key=lambda k: -pred[k, 4])  # stable, descending
        pred = pred[order]
        scores = [float((np.float32(s) - lo) / (hi - lo)) for s in pred[:, 4]]
        ignore = [0] * len(gt)
        for k in kept:
            ignore[k - 1] = 1
        g = [(x, y, x + w, y + h) for x, y, w, h in gt.tolist()]
        if integer:
            g = [tuple(int(v) for v in box) for box in g]
        recall_list = [0] * len(gt)
        proposal = [1] * len(pred)
        pred_recall = [0] * len(pred)
        for h, (x, y, w, hh, _s) in enumerate(pred.tolist()):
            ov = boxoverlap(g, (x, y, x + w, y + hh), integer and not best_match)
            m = max(ov)
            idx = ov.index(m)  # first maximum
            if m >= 0.5:
                if ignore[idx] == 0:
                    recall_list[idx] = -1
                    proposal[h] = -1
                elif recall_list[idx] == 0:
                    recall_list[idx] = 1
            pred_recall[h] = sum(1 for r in recall_list if r == 1)
        for t in range(1, thresh_num + 1):
            thresh = 1 - t / thresh_num
            passing = [k for k, s in enumerate(scores) if s >= thresh]
            if passing:
                r = passing[-1]
                org[t - 1, 0] += sum(1 for p in proposal[: r + 1] if p == 1)
                org[t - 1, 1] += pred_recall[r]
    with np.errstate(divide="ignore", invalid="ignore"):
        pr = np.column_stack([org[:, 1] / org[:, 0], org[:, 1] / count_face])
    return voc_ap(pr[:, 1], pr[:, 0]), pr


def voc_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    mrec = [0.0, *rec.tolist(), 1.0]
    mpre = [0.0, *prec.tolist(), 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        a, b = mpre[i], mpre[i + 1]
        mpre[i] = b if math.isnan(a) else (a if math.isnan(b) else max(a, b))
    ap = 0.0
    for i in range(1, len(mrec)):
        if mrec[i] != mrec[i - 1]:
            ap += (mrec[i] - mrec[i - 1]) * mpre[i]
    return ap

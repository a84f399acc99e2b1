"""Box overlap as the official WIDER tool computes it, and the corrected IoU.

All functions take ground truth ``(G, 4)`` and predictions ``(P, 4)`` as
``x y w h`` pixels and return a ``(P, G)`` overlap matrix.

Official (``boxoverlap.m`` from voc-release, called by ``evaluation.m``):
boxes become ``x1 y1 x2 y2`` with ``x2 = x + w`` and areas use the ``+1``
pixel convention. The eval_tools ground truth is **int32**, and MATLAB/Octave
arithmetic between an int32 and a double yields int32, rounded half away from
zero. So the prediction corners are rounded when compared with the ground
truth, ``inter`` and the ground-truth area are integers, the union is rounded
to an integer, and the ratio ``inter ./ union`` is an int32 division, rounded
to 0 or 1. A prediction "overlaps" a face when the real IoU (on rounded
corners) is at least 0.5, and ``max()`` then picks the *first* such face in
file order, not the best one. With double ground truth MATLAB keeps real
values, and :func:`official_overlap` does too (``integer_gt=False``).

Corrected mode uses the same formula in real arithmetic
(``integer_gt=False``): same ``+1`` box convention, real IoU, so the
best-overlapping face wins.
"""

from __future__ import annotations

import numpy as np

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def round_half_away(x: np.ndarray) -> np.ndarray:
    """MATLAB's ``round`` (and double -> int conversion): halves go away from zero.

    ``np.rint`` rounds halves to even; only those exact ties are moved
    (avoiding the ``floor(x + 0.5)`` trap for 0.49999999999999994).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.rint(x)
    fix = (np.abs(x - out) == 0.5) & (np.abs(out) < np.abs(x))
    if fix.any():
        out[fix] += np.sign(x[fix])
    return out


def _to_int32(x: np.ndarray) -> np.ndarray:
    """double -> int32 as MATLAB converts finite values: round half away, saturate (kept in int64)."""
    return np.clip(round_half_away(x), _INT32_MIN, _INT32_MAX).astype(np.int64)


def _int32_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``int32 ./ int32``: rounded quotient; x/0 saturates (0/0 = 0)."""
    zero = den == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = num / np.where(zero, 1, den).astype(np.float64)
    if zero.any():
        q[zero] = np.sign(num[zero]) * float(_INT32_MAX)
    return _to_int32(q)


def overlap_pairs(gt_xywh: np.ndarray, pred_xywh: np.ndarray, integer_gt: bool = True) -> np.ndarray:
    """Official overlap of ground-truth and prediction boxes that broadcast against each other.

    ``gt_xywh[..., 4]`` and ``pred_xywh[..., 4]`` (``x y w h``): ``(K, 4)`` with
    ``(K, 4)`` gives ``(K,)`` pairwise values; ``(1, G, 4)`` with ``(P, 1, 4)``
    gives a ``(P, G)`` matrix. See :func:`official_overlap` for the arithmetic.
    """
    gt = np.asarray(gt_xywh, dtype=np.float64)
    pred = np.asarray(pred_xywh, dtype=np.float64)
    # corners as evaluation.m forms them: x2 = x + w (in the class of each operand)
    px1, py1 = pred[..., 0], pred[..., 1]
    px2, py2 = px1 + pred[..., 2], py1 + pred[..., 3]
    barea = (px2 - px1 + 1) * (py2 - py1 + 1)  # double even with int32 ground truth
    if not integer_gt:
        gx1, gy1 = gt[..., 0], gt[..., 1]
        gx2, gy2 = gx1 + gt[..., 2], gy1 + gt[..., 3]
        w = np.minimum(gx2, px2) - np.maximum(gx1, px1) + 1
        h = np.minimum(gy2, py2) - np.maximum(gy1, py1) + 1
        inter = w * h
        aarea = (gx2 - gx1 + 1) * (gy2 - gy1 + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            o = inter / (aarea + barea - inter)
        return np.where((w <= 0) | (h <= 0), 0.0, o)
    g = gt.astype(np.int64)
    gx1, gy1 = g[..., 0], g[..., 1]
    gx2, gy2 = gx1 + g[..., 2], gy1 + g[..., 3]
    # max/min(int32, double): the double is converted (rounded) first
    w = np.minimum(gx2, _to_int32(px2)) - np.maximum(gx1, _to_int32(px1)) + 1
    h = np.minimum(gy2, _to_int32(py2)) - np.maximum(gy1, _to_int32(py1)) + 1
    inter = w * h
    aarea = (gx2 - gx1 + 1) * (gy2 - gy1 + 1)
    union = _to_int32(aarea + barea) - inter  # (int32 + double) -> int32, then - int32
    o = _int32_div(inter, union)
    return np.where((w <= 0) | (h <= 0), 0.0, o.astype(np.float64))


def official_overlap(gt_xywh: np.ndarray, pred_xywh: np.ndarray, integer_gt: bool = True) -> np.ndarray:
    """``(P, G)`` overlap exactly as ``boxoverlap.m`` in the official evaluation.

    integer_gt: the ground truth is int32 (the eval_tools ``.mat``): integer
        arithmetic, values in {0, 1} for ordinary boxes. ``False``: double
        arithmetic (real IoU with the ``+1`` convention).
    """
    gt = np.asarray(gt_xywh, dtype=np.float64).reshape(1, -1, 4)
    pred = np.asarray(pred_xywh, dtype=np.float64).reshape(-1, 1, 4)
    return overlap_pairs(gt, pred, integer_gt).reshape(pred.shape[0], gt.shape[1])

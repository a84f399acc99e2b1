"""Score normalisation and prediction-to-face matching for the whole split.

The official per-image loop (``image_evaluation`` in ``evaluation.m``) binds
each prediction, in descending score order, to one face (the first whose
overlap passes 0.5), marks the first prediction on each face as its hit and
leaves later ones as duplicates. None of that depends on the easy/medium/hard
keep lists, so it is computed once here into flat per-prediction arrays
(:class:`MatchTable`); each setting then only re-weights those arrays
(:mod:`core.wider.evaluation`). This is what makes the evaluation fast and
exactly equal to the official loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.wider.groundtruth import WiderGroundTruth
from core.wider.overlap import overlap_pairs

log = logging.getLogger(__name__)

Mode = Literal["official", "corrected"]
IOU_THRESHOLD = 0.5
_MAX_PAIRS = 4_000_000  # overlap matrix cells per chunk (bounds memory in crowded images)

_REALMIN_SINGLE = np.float32(np.finfo(np.float32).tiny)
_REALMAX_SINGLE = np.float32(np.finfo(np.float32).max)


def normalise_scores(scores: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Official ``norm_score.m``: one min-max normalisation over all predictions, in single precision.

    MATLAB starts from ``max = realmin('single')`` and ``min = realmax('single')``;
    mixing a single with doubles makes everything single, so the scores are
    rounded to float32 and normalised with float32 arithmetic (all negative
    scores would therefore be normalised against ``realmin``, as in MATLAB).

    Returns (float64 array holding the float32 results, min used, max used).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return np.zeros(0), float(_REALMAX_SINGLE), float(_REALMIN_SINGLE)
    s32 = scores.astype(np.float32)
    hi = np.maximum(_REALMIN_SINGLE, s32.max())
    lo = np.minimum(_REALMAX_SINGLE, s32.min())
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        norm = (s32 - lo) / (hi - lo)  # float32 throughout, NaN when hi == lo (as MATLAB)
    return norm.astype(np.float64), float(lo), float(hi)


@dataclass(frozen=True)
class MatchTable:
    """Every evaluated prediction of a split, in per-image descending-score order.

    All arrays have length ``N`` (predictions of images that have ground-truth rows):
    image: image index into ``gt.keys``.
    row: the prediction's row in its file (file order), for review tools.
    rows: ``(N, 5)`` the original ``x y w h score`` rows.
    score: normalised score (float32 values held in float64).
    face: global ground-truth row bound to the prediction, or -1.
    first: the prediction is the first (highest-scoring) one bound to its face.
    mode: "official" or "corrected".
    score_min, score_max: the normalisation range.
    """

    image: np.ndarray
    row: np.ndarray
    rows: np.ndarray
    score: np.ndarray
    face: np.ndarray
    first: np.ndarray
    mode: str
    score_min: float
    score_max: float

    def __len__(self) -> int:
        return int(self.image.shape[0])


_KEY_SPAN = 4.0e6  # per-image key band for the x sweep; coordinates clipped to +-1e6 px
_KEY_LIMIT = 1.0e6


def _bind(gt: WiderGroundTruth, rows: np.ndarray, image: np.ndarray, mode: Mode) -> np.ndarray:
    """Global face row bound to each prediction (or -1), for predictions of many images at once.

    rows: ``(N, 5)`` predictions sorted by image; image: ``(N,)`` their image
    indices (every image has ground-truth rows).

    Equivalent to ``[m, idx] = max(boxoverlap(gt, pred))`` per prediction,
    without forming every (prediction, face) pair: an overlap can only be
    non-zero for faces whose ``x1`` lies in ``[px1 - 2 - wmax, px2 + 2]``
    (``wmax`` = widest face of the image; rounding moves corners by at most
    0.5 px), a contiguous range once faces are sorted by ``x1``. Faces outside
    it have overlap 0 and cannot reach 0.5, so the first maximum among the
    candidates, in file order, is MATLAB's ``idx`` whenever ``m >= 0.5``.
    """
    n = len(rows)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return out
    integer = gt.integer_boxes and mode == "official"  # corrected: real arithmetic, best face
    boxes = gt.boxes
    face_image = gt.image_of_row
    widest = np.zeros(gt.num_images)
    np.maximum.at(widest, face_image, np.maximum(boxes[:, 2], 0.0))
    face_x = np.clip(boxes[:, 0], -_KEY_LIMIT, _KEY_LIMIT)
    by_x = np.lexsort((face_x, face_image))
    keys = (face_image * _KEY_SPAN + face_x)[by_x]
    px1, px2 = rows[:, 0], rows[:, 0] + rows[:, 2]
    band = image * _KEY_SPAN
    lo = np.searchsorted(keys, band + np.clip(px1 - 2.0 - widest[image], -_KEY_LIMIT, _KEY_LIMIT), "left")
    hi = np.searchsorted(keys, band + np.clip(px2 + 2.0, -_KEY_LIMIT, _KEY_LIMIT), "right")
    count = np.maximum(hi - lo, 0)
    ends = np.cumsum(count)
    cuts = np.searchsorted(ends, np.arange(_MAX_PAIRS, int(ends[-1]), _MAX_PAIRS))
    bounds = np.unique(np.concatenate([[0], cuts, [n]]))
    gy1, gy2 = boxes[:, 1], boxes[:, 1] + boxes[:, 3]
    py1, py2 = rows[:, 1], rows[:, 1] + rows[:, 3]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        c = count[a:b]
        total = int(c.sum())
        if total == 0:
            continue
        pair_pred = a + np.repeat(np.arange(b - a), c)
        starts = np.cumsum(c) - c
        pair_face = by_x[lo[pair_pred] + (np.arange(total) - starts[pair_pred - a])]
        # exact x test, and the y test the sweep does not do (same 2 px margin)
        near = (
            np.minimum(boxes[pair_face, 0] + boxes[pair_face, 2], px2[pair_pred])
            > np.maximum(boxes[pair_face, 0], px1[pair_pred]) - 2.0
        ) & (np.minimum(gy2[pair_face], py2[pair_pred]) > np.maximum(gy1[pair_face], py1[pair_pred]) - 2.0)
        pair_pred, pair_face = pair_pred[near], pair_face[near]
        if pair_pred.size == 0:
            continue
        o = overlap_pairs(boxes[pair_face], rows[pair_pred, :4], integer)
        o[np.isnan(o)] = -np.inf  # MATLAB's max() skips NaN
        # per prediction: highest overlap, then lowest face row (file order) among equals
        order = np.lexsort((pair_face, -o, pair_pred))
        pair_pred, pair_face, o = pair_pred[order], pair_face[order], o[order]
        lead = np.concatenate([[True], pair_pred[1:] != pair_pred[:-1]])
        hit = lead & (o >= IOU_THRESHOLD)
        out[pair_pred[hit]] = pair_face[hit]
    return out


def match_predictions(
    gt: WiderGroundTruth, predictions: Mapping[str, np.ndarray], mode: Mode = "official"
) -> MatchTable:
    """Normalise scores and bind predictions to faces for every image of ``gt``.

    predictions: image key ``"<event>/<stem>"`` -> ``(N, 5)`` ``x y w h score``
        rows in any order (absent key = no detections). Keys not in ``gt`` are ignored.
    mode: ``"official"`` (integer overlap when the ground truth is integer,
        first face passing 0.5) or ``"corrected"`` (real IoU with the same
        ``+1`` box convention, best face).

    Scores are normalised over the predictions of all ``gt`` images (the
    official ``norm_score`` runs over everything ``read_pred`` read), then
    each image is sorted by descending raw score (stable, as MATLAB's sort).
    Images without ground-truth rows or without predictions are skipped, as
    in ``evaluation.m``.
    """
    if mode not in ("official", "corrected"):
        raise ValueError(f"unknown evaluation mode {mode!r}")
    per_image: list[np.ndarray] = []
    for key in gt.keys:
        rows = predictions.get(key)
        rows = np.zeros((0, 5)) if rows is None else np.asarray(rows, dtype=np.float64).reshape(-1, 5)
        per_image.append(rows)
    counts = np.array([len(r) for r in per_image], dtype=np.int64)
    all_rows = np.concatenate(per_image) if per_image else np.zeros((0, 5))
    norm, lo, hi = normalise_scores(all_rows[:, 4])

    image_idx = np.repeat(np.arange(len(per_image)), counts)
    file_row = np.arange(len(all_rows)) - np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    # per-image descending raw score, stable: sort by (image, -score) keeping file order for ties
    order = np.lexsort((-all_rows[:, 4], image_idx))
    has_gt = np.diff(gt.offsets) > 0
    order = order[has_gt[image_idx[order]]]

    image_sorted = image_idx[order]
    face = _bind(gt, all_rows[order], image_sorted, mode)

    first = np.zeros(len(order), dtype=bool)
    bound = np.flatnonzero(face >= 0)
    if bound.size:
        _, first_pos = np.unique(face[bound], return_index=True)  # earliest = highest score
        first[bound[first_pos]] = True
    log.debug("matched %d predictions (%d bound to faces) in %s mode", len(order), bound.size, mode)
    return MatchTable(
        image=image_sorted,
        row=file_row[order],
        rows=all_rows[order],
        score=norm[order],
        face=face,
        first=first,
        mode=mode,
        score_min=lo,
        score_max=hi,
    )

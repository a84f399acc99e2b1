"""The official WIDER protocol on hand-built cases (no ../shared needed).

APs here are worked out by hand in the comments, and random cases are compared
with a literal loop transcription of the MATLAB code (matlab_reference.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from matlab_reference import evaluate_reference

from core.wider.evaluation import THRESHOLDS, evaluate, threshold_bins, voc_ap
from core.wider.groundtruth import ALL_FACES, from_labels
from core.wider.labels import LabelArrays
from core.wider.matching import normalise_scores
from core.wider.overlap import official_overlap, round_half_away
from core.wider.report import result_to_json, review_queue


def make_gt(images: list[list[list[float]]], keep: list[list[int]] | None = None, event: str = "0--E"):
    """Ground truth from per-image x y w h boxes; keep lists (1-based) for the 'hard' setting."""
    names = tuple(f"{event}/img_{j}.jpg" for j in range(len(images)))
    counts = [len(b) for b in images]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    boxes = np.array([b for im in images for b in im], dtype=np.float64).reshape(-1, 4)
    labels = LabelArrays(names, offsets, boxes, np.zeros((len(boxes), 6), dtype=np.uint8))
    if keep is None:
        keep = [list(range(1, n + 1)) for n in counts]
    return from_labels(labels, {n: {"hard": k} for n, k in zip(names, keep, strict=True)})


def key(j: int, event: str = "0--E") -> str:
    return f"{event}/img_{j}"


def ap(gt, preds, mode="official", setting="hard"):
    return evaluate(gt, preds, settings=[setting], mode=mode, breakdown=False).settings[setting].ap


def test_round_half_away_from_zero():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, 2.4999999999999996, -1.4, 7.0])
    np.testing.assert_array_equal(round_half_away(x), [1, 2, 3, -1, -3, 0, 2, -1, 7])


def test_hand_computed_ap_five_sixths():
    # faces A, B kept; predictions: A (0.9), a false positive (0.5), B (0.1).
    # normalised scores 1.0, ~0.5, 0.0 -> A counts from t=1, the FP from t~500, B only at t=1000.
    # P/R: (1, 1/2) ... (1/2, 1/2) ... (2/3, 1) at t=1000. VOC AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    gt = make_gt([[[0, 0, 10, 10], [100, 100, 10, 10]]])
    preds = {key(0): [[0, 0, 10, 10, 0.9], [50, 50, 10, 10, 0.5], [100, 100, 10, 10, 0.1]]}
    result = evaluate(gt, preds, settings=["hard"], breakdown=False).settings["hard"]
    assert result.ap == pytest.approx(5 / 6, abs=1e-12)
    assert result.recall[0] == 0.5 and result.precision[0] == 1.0
    assert result.recall[-1] == 1.0 and result.precision[-1] == pytest.approx(2 / 3)
    assert result.proposals[-1] == 3 and result.hits[-1] == 2
    # row order in the file does not matter (the official reader sorts by score)
    shuffled = {key(0): [preds[key(0)][k] for k in (2, 0, 1)]}
    assert ap(gt, shuffled) == result.ap
    # neither does an affine change of the scores that keeps their order
    scaled = {key(0): [[*r[:4], 10 * r[4] - 3] for r in preds[key(0)]]}
    assert ap(gt, scaled) == pytest.approx(result.ap, abs=1e-12)


def test_ignored_face_is_neither_hit_nor_false_positive():
    # face 2 is outside the keep list: a prediction on it changes nothing
    gt = make_gt([[[0, 0, 10, 10], [100, 100, 10, 10]]], keep=[[1]])
    only_a = {key(0): [[0, 0, 10, 10, 0.9], [300, 300, 5, 5, 0.2]]}
    with_b = {key(0): [[0, 0, 10, 10, 0.9], [100, 100, 10, 10, 0.5], [300, 300, 5, 5, 0.2]]}
    r1 = evaluate(gt, only_a, settings=["hard"], breakdown=False).settings["hard"]
    r2 = evaluate(gt, with_b, settings=["hard"], breakdown=False).settings["hard"]
    assert r1.ap == r2.ap == pytest.approx(1.0)  # the FP comes after the only hit
    assert r2.proposals[-1] == 2  # the prediction on the ignored face is not counted
    assert r1.num_faces == r2.num_faces == 1


def test_duplicate_is_a_false_positive():
    gt = make_gt([[[0, 0, 10, 10]]])
    r = evaluate(gt, {key(0): [[0, 0, 10, 10, 0.9], [0, 0, 10, 11, 0.1]]}, settings=["hard"], breakdown=False)
    s = r.settings["hard"]
    assert s.hits[-1] == 1 and s.proposals[-1] == 2 and s.ap == pytest.approx(1.0)


def test_first_match_quirk_of_the_integer_overlap():
    # F1 and F2 overlap heavily (IoU 0.83 -> rounded to 1): the official tool
    # binds a prediction equal to F2 to F1, the first face in file order.
    # F1 is not kept, so officially the prediction is ignored and F2 is missed.
    gt = make_gt([[[0, 0, 20, 20], [2, 0, 20, 20]]], keep=[[2]])
    preds = {key(0): [[2, 0, 20, 20, 0.9], [500, 500, 4, 4, 0.1]]}
    assert ap(gt, preds, "official") == 0.0
    assert ap(gt, preds, "corrected") == pytest.approx(1.0)
    ov = official_overlap(gt.boxes, np.array([[2, 0, 20, 20]]))
    np.testing.assert_array_equal(ov, [[1.0, 1.0]])


def test_integer_overlap_rounds_corners_and_ratio():
    gt = np.array([[0, 0, 9, 9]])  # +1 convention: 10 x 10 pixels
    # real IoU 0.45 (miss), but y2 = 3.5 rounds to 4: inter 50, union round(145) - 50 = 95 -> 0.526 -> 1
    pred = np.array([[0, 0, 9, 3.5]])
    assert official_overlap(gt, pred, integer_gt=True)[0, 0] == 1.0
    assert official_overlap(gt, pred, integer_gt=False)[0, 0] == pytest.approx(0.45)
    # a far box: 0 in both
    assert official_overlap(gt, np.array([[50, 50, 5, 5]]))[0, 0] == 0.0
    g1 = make_gt([[[0, 0, 9, 9]]])
    assert ap(g1, {key(0): [[0, 0, 9, 3.5, 0.9], [99, 99, 3, 3, 0.0]]}, "official") == pytest.approx(1.0)
    assert ap(g1, {key(0): [[0, 0, 9, 3.5, 0.9], [99, 99, 3, 3, 0.0]]}, "corrected") == 0.0


def test_missing_and_empty_predictions_are_no_detections():
    gt = make_gt([[[0, 0, 10, 10]], [[0, 0, 10, 10]]])
    full = {key(0): [[0, 0, 10, 10, 0.9]], key(1): [[0, 0, 10, 10, 0.5]]}
    assert ap(gt, full) == pytest.approx(1.0)
    missing = {key(0): [[0, 0, 10, 10, 0.9], [40, 40, 5, 5, 0.1]]}
    empty = {**missing, key(1): np.zeros((0, 5))}
    assert ap(gt, missing) == ap(gt, empty) == pytest.approx(0.5)  # half the faces can never be found


def test_images_without_kept_faces_still_count_false_positives():
    # evaluation.m skips an image only when it has no ground-truth rows or no
    # predictions; with rows but an empty keep list, unmatched predictions are FPs.
    gt = make_gt([[[0, 0, 10, 10]], [[0, 0, 10, 10]]], keep=[[1], []])
    preds = {key(0): [[0, 0, 10, 10, 0.5]], key(1): [[60, 60, 10, 10, 0.9]]}
    s = evaluate(gt, preds, settings=["hard"], breakdown=False).settings["hard"]
    assert s.proposals[-1] == 2 and s.ap == pytest.approx(0.5)


def test_image_without_faces_keeps_the_placeholder_row():
    # the eval_tools .mat gives a face-less image one [0 0 0 0] row, so it is evaluated
    # and its detections are false positives (unlike an image with no row at all)
    gt = make_gt([[[0, 0, 10, 10]], []])
    assert gt.num_faces == 1 and len(gt.boxes) == 2 and gt.placeholder.tolist() == [False, True]
    preds = {key(0): [[0, 0, 10, 10, 0.5]], key(1): [[60, 60, 10, 10, 0.9]]}
    assert ap(gt, preds) == pytest.approx(0.5)


def test_score_normalisation_is_single_precision_and_starts_at_realmin():
    norm, lo, hi = normalise_scores(np.array([0.1, 0.3, 0.7]))
    expected = (np.float32([0.1, 0.3, 0.7]) - np.float32(0.1)) / (np.float32(0.7) - np.float32(0.1))
    np.testing.assert_array_equal(norm, expected.astype(np.float64))
    # all scores negative: the maximum stays at realmin('single') as in norm_score.m
    norm, lo, hi = normalise_scores(np.array([-2.0, -1.0]))
    assert hi == float(np.finfo(np.float32).tiny) and norm.max() == pytest.approx(0.5)
    # all scores equal: 0/0 = NaN, no prediction passes any threshold (official behaviour)
    gt = make_gt([[[0, 0, 10, 10]]])
    assert ap(gt, {key(0): [[0, 0, 10, 10, 0.7]]}) == 0.0


def test_threshold_bins_match_the_matlab_comparison():
    scores = np.array([1.0, 0.999, 0.9985, 0.5, 0.0005, 0.0, np.nan, np.float32(0.7)])
    bins = threshold_bins(scores)
    for s, b in zip(scores, bins, strict=True):
        passes = [t for t in range(1, 1001) if s >= 1 - t / 1000]  # MATLAB: score >= 1 - t/1000
        assert b == (passes[0] - 1 if passes else 1000)
    assert THRESHOLDS[0] == 1 - 1 / 1000 and THRESHOLDS[-1] == 0.0


def test_voc_ap_skips_nan_like_matlab_max():
    rec = np.array([0.0, 0.0, 0.5, 1.0])
    prec = np.array([np.nan, np.nan, 1.0, 0.5])
    assert voc_ap(rec, prec) == pytest.approx(0.5 * 1.0 + 0.5 * 0.5)


def random_case(rng: np.random.Generator, num_images: int = 6):
    images, keep, preds = [], [], {}
    for j in range(num_images):
        n = int(rng.integers(0, 9))
        xy = rng.integers(0, 60, size=(n, 2))
        wh = rng.integers(1, 25, size=(n, 2))
        boxes = np.concatenate([xy, wh], axis=1).astype(float)
        if n > 2:
            boxes[1] = boxes[0] + [1, 0, 0, 1]  # crowded: near-duplicate faces
        images.append(boxes.tolist())
        keep.append(
            sorted(rng.choice(np.arange(1, n + 1), size=int(rng.integers(0, n + 1)), replace=False).tolist())
        )
        hits = boxes[rng.random(n) < 0.8]
        jitter = np.round(rng.normal(0, 2.0, size=hits.shape) * 2) / 2  # half-pixel ties
        rows = np.concatenate([hits + jitter, rng.random((len(hits), 1))], axis=1)
        dups = rows[: int(rng.integers(0, 3))] + [0.5, 0, 0, 0, -0.01]
        fp_xy = rng.random((int(rng.integers(0, 4)), 2)) * 80
        fps = np.concatenate(
            [fp_xy, rng.integers(2, 20, size=(len(fp_xy), 2)), rng.random((len(fp_xy), 1))], axis=1
        )
        all_rows = np.concatenate([rows, dups, fps])
        if rng.random() < 0.15:
            continue  # missing file
        preds[key(j)] = all_rows[rng.permutation(len(all_rows))]
    return images, keep, preds


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("mode", ["official", "corrected"])
def test_vectorised_engine_equals_the_literal_matlab_loop(seed, mode):
    rng = np.random.default_rng(seed)
    images, keep, preds = random_case(rng)
    if not any(len(k) for k in keep):
        keep[0] = [1] if images[0] else keep[0]
    gt = make_gt(images, keep)
    ours = evaluate(gt, preds, settings=["hard"], mode=mode, breakdown=False).settings["hard"]
    # the reference sees the placeholder row for face-less images, as the .mat has it
    ref_gt = [np.array(b) if len(b) else np.zeros((1, 4)) for b in images]
    ref_preds = [np.asarray(preds.get(key(j), np.zeros((0, 5)))) for j in range(len(images))]
    ref_ap, ref_pr = evaluate_reference(ref_gt, keep, ref_preds, integer=(mode == "official"))
    np.testing.assert_array_equal(ours.precision, ref_pr[:, 0])
    np.testing.assert_array_equal(ours.recall, ref_pr[:, 1])
    assert ours.ap == pytest.approx(ref_ap, abs=1e-14) or (np.isnan(ours.ap) and np.isnan(ref_ap))


def test_all_faces_setting_breakdown_and_json(tmp_path):
    gt = make_gt([[[0, 0, 10, 10], [100, 100, 50, 50]]], keep=[[1]])
    preds = {key(0): [[0, 0, 10, 10, 0.9], [100, 100, 50, 50, 0.5], [300, 300, 5, 5, 0.1]]}
    result = evaluate(gt, preds, settings=["hard", ALL_FACES], breakdown=True)
    assert result.settings[ALL_FACES].num_faces == 2
    by = {(e.setting, e.group, e.value): e for e in result.breakdown}
    assert by[("hard", "size", "10-20")].num_faces == 1  # heights 10 and 50
    assert by[("all_faces", "size", "40-140")].num_faces == 1
    assert by[("all_faces", "scaleface", "medium")].recall == 1.0
    assert by[("hard", "size", ">=140")].num_faces == 0 and np.isnan(by[("hard", "size", ">=140")].ap)
    data = result_to_json(result)
    text = json.dumps(data, allow_nan=False)  # NaN must have become null
    back = json.loads(text)
    assert back["hard"] == pytest.approx(result.settings["hard"].ap)
    assert len(back["curves"]["hard"]["precision"]) == 1000
    assert back["breakdown"]["hard"]["size"][">=140"]["ap"] is None


def test_review_queue_lists_tp_fp_fn_per_image():
    gt = make_gt([[[0, 0, 10, 10], [100, 100, 10, 10], [200, 200, 10, 10]]], keep=[[1, 2]])
    preds = {
        key(0): [
            [300, 300, 5, 5, 0.8],  # row 0: false positive
            [0, 0, 10, 10, 0.9],  # row 1: hit on face 0
            [0, 0, 10, 10, 0.7],  # row 2: duplicate of face 0
            [200, 200, 10, 10, 0.6],  # row 3: on face 2, outside the keep list
            [0, 0, 1, 1, 0.0],  # row 4: background, below the threshold used
        ]
    }
    result = evaluate(gt, preds, settings=["hard"], breakdown=False)
    (item,) = review_queue(result, gt, "hard", threshold=0.1)
    assert item.true_positives == [1]
    assert sorted(item.false_positives) == [0, 2]
    assert item.duplicates == [2]
    assert item.ignored == [3]
    assert item.missed == [1]

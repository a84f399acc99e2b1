"""WIDER AP on the dev subsets (bench/wider_ap.py): ground-truth wiring and an accuracy floor.

The dev subsets hold a few val images, so AP is over those images only; the
keep lists are the official easy/medium/hard ones (the 416 set's own file,
the full val lists for the native set). The AP floors sit well under the
measured values (see FLOORS) so they catch a broken decoder or evaluator
wiring, not noise.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.wider_ap import DATA, SETTINGS, dev_set, keep_lists, run_split, take_images
from core.wider.evaluation import evaluate
from core.wider.labels import read_label_arrays

pytestmark = pytest.mark.shared_data

DEV_416 = DATA / "wider_val_416_dev"
NATIVE = DATA / "wider_val_native_dev"
FULL_LABELS = DATA / "wider_val_gt" / "wider_face_val_bbx_gt.txt"
LIMIT = 12
# CenterFace on the first 12 images of wider_val_416_dev (15 / 52 / 259 kept faces; official
# mode, score floor 0.05) measured easy 0.913, medium 0.663, hard 0.273; floors leave a wide margin
FLOORS = {"easy": 0.75, "medium": 0.50, "hard": 0.20}


def _gt_rows(gt, scores=None) -> dict[str, np.ndarray]:
    """Every annotated face as a prediction (x y w h score), distinct scores."""
    out = {}
    rng = np.random.default_rng(0)
    for i, key in enumerate(gt.keys):
        rows = gt.rows(i)
        boxes = gt.boxes[rows][~gt.placeholder[rows]]
        s = rng.uniform(0.1, 1.0, len(boxes)) if scores is None else np.full(len(boxes), scores)
        out[key] = np.column_stack([boxes, s])
    return out


def test_416_dev_uses_its_own_keep_lists():
    gt, dataset = dev_set(DEV_416)
    assert gt.num_images == len(dataset) == 100
    assert {s: int(gt.keep[s].sum()) for s in SETTINGS} == {"easy": 239, "medium": 546, "hard": 1954}
    assert not gt.integer_boxes  # rescaled boxes: the overlap runs in double precision


def test_native_dev_takes_the_full_val_keep_lists_and_official_labels():
    gt, dataset = dev_set(NATIVE)
    assert gt.num_images == len(dataset) == 5
    assert {s: int(gt.keep[s].sum()) for s in SETTINGS} == {"easy": 1, "medium": 6, "hard": 153}
    assert gt.integer_boxes  # native boxes: the official int32 overlap applies
    full = read_label_arrays(FULL_LABELS)
    index = {n: i for i, n in enumerate(full.names)}
    for i, name in enumerate(gt.names):
        j = index[name]
        ours = gt.boxes[gt.rows(i)]
        theirs = full.boxes[int(full.offsets[j]) : int(full.offsets[j + 1])]
        np.testing.assert_array_equal(ours, theirs)


def test_keep_lists_refuse_images_without_entries(tmp_path):
    with pytest.raises(ValueError, match="no keep lists"):
        keep_lists(tmp_path, ["0--Parade/not_a_val_image.jpg"])


def test_limit_cuts_labels_and_keep_lists_alike():
    gt, dataset = dev_set(DEV_416, limit=3)
    labels = read_label_arrays(DEV_416 / "wider_face_val_bbx_gt.txt")
    first3 = take_images(labels, range(3))
    assert gt.names == first3.names == labels.names[:3] and len(dataset) == 3
    assert gt.num_faces == first3.num_faces == int(labels.offsets[3])
    keep = keep_lists(DEV_416, first3.names)
    assert int(gt.keep["hard"].sum()) == sum(len(k["hard"]) for k in keep.values())


@pytest.mark.parametrize("path", [DEV_416, NATIVE], ids=["416", "native"])
def test_ground_truth_as_predictions_scores_ap_one(path):
    gt, _ = dev_set(path, limit=20)
    aps = evaluate(gt, _gt_rows(gt), settings=SETTINGS, breakdown=False).ap()
    assert all(aps[s] == pytest.approx(1.0) for s in SETTINGS), aps
    # no predictions at all: nothing found anywhere
    empty = {k: np.zeros((0, 5)) for k in gt.keys}
    assert evaluate(gt, empty, settings=SETTINGS, breakdown=False).ap() == dict.fromkeys(SETTINGS, 0.0)


def test_centerface_ap_floor_on_the_416_dev_subset():
    from core.detect.registry import create_detector

    gt, dataset = dev_set(DEV_416, limit=LIMIT)
    split = run_split(create_detector("centerface", device="cpu"), dataset, min_score=0.05)
    assert not split.errors and len(split.predictions) == LIMIT
    aps = evaluate(gt, split.predictions, settings=SETTINGS, breakdown=False).ap()
    for setting, floor in FLOORS.items():
        assert aps[setting] > floor, (setting, aps)
    assert aps["easy"] > aps["hard"]  # hard adds small, blurred, occluded faces

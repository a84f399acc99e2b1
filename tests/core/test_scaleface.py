"""ScaleFace: branch ranges and anchors, ignore regions, OHEM, losses, eval outputs, detector."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_iou

from core.detect.training.data import AugmentConfig, DetectionAugment, collate_detection
from core.detect.training.quick_eval import ImageEval, quick_eval
from core.models.scaleface.anchors import BranchRPN, default_branch_specs, range_anchor_heights, split_targets
from core.models.scaleface.config import ScaleFaceConfig
from core.models.scaleface.loss import label_rois, ohem_select, ohem_select_batch
from core.models.scaleface.model import ScaleFace
from core.scale_ranges import SCALE_RANGES

TINY = dict(
    backbone="tiny", rpn_post_nms_train=64, ohem_rois_per_image=16, rpn_pre_nms_test=200, rpn_post_nms_test=40
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_branches_cover_the_ranges_at_their_strides():
    specs = default_branch_specs()
    assert [(s.name, s.stride) for s in specs] == [("small", 8), ("medium", 16), ("large", 32)]
    for spec in specs:
        low, high = SCALE_RANGES[spec.name]
        assert (spec.low, spec.high) == (low, high)
        assert all(low < h < min(high, 560) for h in spec.anchor_heights)
    assert range_anchor_heights(10, 40) == (12.6, 20.0, 31.7)
    # torchvision draws anchors with the requested heights and height/width ratio
    gen = specs[1].anchor_generator()
    anchors = gen(ImageList(torch.zeros(1, 3, 64, 64), [(64, 64)]), [torch.zeros(1, 8, 4, 4)])[0]
    heights = (anchors[:3, 3] - anchors[:3, 1]).tolist()
    widths = (anchors[:3, 2] - anchors[:3, 0]).tolist()
    for h, w, want in zip(heights, widths, specs[1].anchor_heights, strict=True):
        assert abs(h - want) <= 1 and abs(h / w - 1.25) < 0.05
    assert anchors.shape == (4 * 4 * 3, 4)


def test_each_face_is_a_target_of_exactly_its_own_branch():
    boxes = torch.tensor(
        [
            [0, 0, 8, 12],
            [0, 0, 20, 25],
            [0, 0, 30, 39.5],
            [0, 0, 32, 40],
            [0, 0, 90, 139],
            [0, 0, 150, 140],
            [0, 0, 300, 400],
            [0, 0, 40, 60],
        ],
        dtype=torch.float32,
    )
    invalid = torch.tensor([0, 0, 0, 0, 0, 0, 0, 1], dtype=torch.bool)
    got = {}
    for spec in default_branch_specs():
        mine, ignore = split_targets(boxes, invalid, spec, min_face_height=10)
        got[spec.name] = [float(h) for h in mine[:, 3]]
        assert len(mine) + len(ignore) == len(boxes)
    # ranges are by box height: the 8x12 face is 12 px tall, hence small; 39.5 small, 40 medium
    assert got == {"small": [12.0, 25.0, 39.5], "medium": [40.0, 139.0], "large": [140.0, 400.0]}
    mine, ignore = split_targets(boxes, invalid, default_branch_specs()[0], min_face_height=13)
    assert [float(h) for h in mine[:, 3]] == [25.0, 39.5]  # too small: ignored everywhere
    # the invalid 60-px face is nobody's target
    assert all(60.0 not in v for v in got.values())


def _rpn(spec):
    from torchvision.models.detection.rpn import RPNHead

    return BranchRPN(
        spec.anchor_generator(),
        RPNHead(4, 3),
        0.6,
        0.3,
        256,
        0.5,
        {"training": 100, "testing": 100},
        {"training": 50, "testing": 50},
        0.7,
        ignore_iou=0.3,
    )


def test_anchors_on_ignored_faces_are_not_negatives():
    spec = default_branch_specs()[1]  # medium, stride 16
    rpn = _rpn(spec)
    anchors = [
        spec.anchor_generator()(
            ImageList(torch.zeros(1, 3, 128, 128), [(128, 128)]), [torch.zeros(1, 4, 8, 8)]
        )[0]
    ]
    near_small = torch.tensor([[40.0, 40.0, 70.0, 78.0]])  # a 38-px face: small branch's, ignored here
    plain = rpn.assign_targets_to_anchors(
        anchors, [{"boxes": torch.zeros(0, 4), "ignore": torch.zeros(0, 4)}]
    )[0][0]
    ignored = rpn.assign_targets_to_anchors(anchors, [{"boxes": torch.zeros(0, 4), "ignore": near_small}])[0][
        0
    ]
    assert (plain == 0).all()
    close = box_iou(near_small, anchors[0])[0] >= 0.3
    assert close.any() and (ignored[close] == -1).all() and (ignored[~close] == 0).all()
    positive = rpn.assign_targets_to_anchors(anchors, [{"boxes": near_small, "ignore": torch.zeros(0, 4)}])[
        0
    ][0]
    assert (positive == 1).any()


def test_roi_labels_drop_ignored_candidates_and_never_produce_nan():
    proposals = torch.tensor([[10, 10, 30, 35], [11, 10, 31, 36], [100, 100, 140, 150], [0, 0, 5, 5.0]])
    targets = torch.tensor([[10.0, 10.0, 30.0, 35.0]])
    ignore = torch.tensor([[100.0, 100.0, 141.0, 150.0]])
    out = label_rois(proposals, targets, ignore, fg_iou=0.5, ignore_iou=0.3)
    assert out.rois.shape[0] == 4  # 4 proposals + 1 gt - 1 ignored
    assert out.labels.tolist() == [1.0, 1.0, 0.0, 1.0]
    assert torch.isfinite(out.box_targets).all() and (out.box_targets[2] == 0).all()
    empty = label_rois(proposals, torch.zeros(0, 4), torch.zeros(0, 4))
    assert empty.labels.sum() == 0 and torch.isfinite(empty.box_targets).all()


def test_ohem_keeps_the_hardest_and_suppresses_duplicates():
    rois = torch.tensor(
        [[0, 0, 10, 10], [0, 0, 10, 10.5], [50, 50, 60, 60], [80, 80, 90, 90], [20, 20, 30, 30.0]]
    )
    losses = torch.tensor([0.9, 0.8, 0.1, 0.5, 0.7])
    assert ohem_select(rois, losses, 3, nms_iou=1.0).tolist() == [0, 1, 4]
    assert ohem_select(rois, losses, 3, nms_iou=0.7).tolist() == [0, 4, 3]  # roi 1 duplicates roi 0
    assert ohem_select(rois[:0], losses[:0], 3).numel() == 0


def test_batched_ohem_matches_a_per_image_reference():
    from core.detect.postprocess import nms

    gen = torch.Generator().manual_seed(0)
    rois, losses = [], []
    for n in (30, 0, 17, 5):
        xy = torch.rand(n, 2, generator=gen) * 60
        rois.append(torch.cat([xy, xy + 8 + torch.rand(n, 2, generator=gen) * 20], dim=1))
        losses.append(torch.rand(n, generator=gen))
    picks = ohem_select_batch(rois, losses, 6, nms_iou=0.5)
    for r, lo, got in zip(rois, losses, picks, strict=True):
        want = torch.as_tensor(nms(r, lo, 0.5), dtype=torch.long)[:6]
        assert got.tolist() == want.tolist()


def test_train_mode_losses_reach_every_parameter():
    torch.manual_seed(0)
    model = ScaleFace(ScaleFaceConfig(**TINY))
    images = torch.rand(2, 3, 192, 192)
    targets = [
        {
            "boxes": torch.tensor([[10.0, 10, 30, 35], [50, 50, 120, 140], [20, 10, 150, 180]]),
            "invalid": torch.tensor([False, False, False]),
        },
        {"boxes": torch.zeros(0, 4), "invalid": torch.zeros(0, dtype=torch.bool)},  # no face at all
    ]
    losses = model(images, [(192, 192), (160, 170)], targets)
    assert set(losses) == {
        f"{b}/{k}" for b in ("small", "medium", "large") for k in ("rpn_cls", "rpn_box", "roi_cls", "roi_box")
    }
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, unused  # DDP runs without find_unused_parameters


def test_eval_mode_returns_branches_merged_and_response_maps():
    torch.manual_seed(0)
    model = ScaleFace(ScaleFaceConfig(**TINY)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 96, 128), [(96, 128), (70, 100)], min_score=0.0)
    assert len(outs) == 2
    out = outs[1]
    assert out.branch_names == ("small", "medium", "large")
    assert {k: tuple(v.shape) for k, v in out.response_maps.items()} == {
        "small": (math.ceil(70 / 8), math.ceil(100 / 8)),
        "medium": (5, 7),
        "large": (3, 4),
    }
    assert all(0 <= float(m.min()) and float(m.max()) <= 1 for m in out.response_maps.values())
    assert out.boxes.shape[0] == out.scores.shape[0] == out.branch_index.shape[0] > 0
    assert (out.boxes[:, 2] <= 100).all() and (out.boxes[:, 3] <= 70).all()
    assert (out.scores[:-1] >= out.scores[1:]).all()
    for i, name in enumerate(out.branch_names):  # merged detections come from the branches' own lists
        mine = out.boxes[out.branch_index == i]
        assert all((out.branches[name][0] == b).all(dim=1).any() for b in mine)


def test_config_validation():
    with pytest.raises(ValueError, match="backbone"):
        ScaleFaceConfig(backbone="vgg")
    with pytest.raises(ValueError, match="width_mult 1.0"):
        ScaleFaceConfig(backbone="mobilenet_v2", width_mult=0.5, init_from_centerface=True)


def test_augmentation_moves_boxes_with_the_pixels():
    image = np.zeros((300, 400, 3), dtype=np.uint8)
    boxes = np.array([[50, 60, 110, 140], [300, 100, 380, 200]], dtype=np.float32)
    for x1, y1, x2, y2 in boxes.astype(int):
        image[y1:y2, x1:x2] = 255
    augment = DetectionAugment(AugmentConfig(crop_size=256, min_scale=0.6, max_scale=1.4, photometric=False))
    seen = 0
    for seed in range(12):
        out, out_boxes, invalid = augment(image, boxes, np.array([False, True]), np.random.default_rng(seed))
        assert out.shape == (256, 256, 3) and len(out_boxes) == len(invalid)
        for x1, y1, x2, y2 in out_boxes:
            inner = out[int(y1) + 2 : int(y2) - 2, int(x1) + 2 : int(x2) - 2]
            if inner.size:
                assert inner.mean() > 200
                seen += 1
    assert seen >= 6


def test_collate_pads_to_multiples_of_32():
    items = [
        (torch.full((3, 50, 70), 7, dtype=torch.uint8), torch.zeros(0, 4), torch.zeros(0, dtype=torch.bool)),
        (torch.ones((3, 64, 33), dtype=torch.uint8), torch.ones(1, 4), torch.zeros(1, dtype=torch.bool)),
    ]
    batch = collate_detection(items)
    assert batch["images"].shape == (2, 3, 64, 96) and batch["image_sizes"] == [(50, 70), (64, 33)]
    assert int(batch["images"][0, :, 50:].sum()) == 0 and int(batch["images"][0, 0, :50, :70].min()) == 7


def test_quick_eval_counts_hits_per_range_and_branch():
    gt = np.array([[0, 0, 16, 20], [50, 50, 90, 110], [0, 100, 10, 112]], dtype=np.float64)
    item = ImageEval(
        boxes=np.array([[0, 0, 16, 20], [50, 50, 90, 110], [51, 50, 90, 110], [200, 200, 220, 220.0]]),
        scores=np.array([0.9, 0.8, 0.7, 0.6]),
        branches=["small", "small", "medium", "small"],
        gt_boxes=gt,
        gt_invalid=np.array([False, False, True]),
    )
    out = quick_eval([item])
    assert out["recall_small"] == 1.0 and out["recall_medium"] == 1.0
    assert out["branch_recall_small"] == 1.0 and out["branch_recall_medium"] == 0.0
    assert out["faces_small"] == 1 and out["faces_medium"] == 1  # the invalid face does not count
    assert 0.6 < out["ap"] <= 1.0

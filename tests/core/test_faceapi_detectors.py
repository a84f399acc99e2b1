"""face-api detector ports: SSD MobileNetV1 and the tiny face detector.

These run on the bundled weights and the in-repo demo photos only; the parity
tests against node face-api are in ``test_faceapi_detectors_parity.py``.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from core.detect.faceapi_input import ReshapedDims, detector_batch
from core.detect.postprocess import nms
from core.detect.protocol import Detector
from core.detect.registry import DETECTORS, create_detector
from core.detect.ssd import SsdDetector, decode_boxes, layer_groups
from core.detect.tiny import TinyFaceDetector
from core.models.ssd_mobilenet import NUM_ANCHORS, PREDICTION_LAYERS, SsdMobileNetV1
from core.models.tf_ops import pad_to_square, resize_bilinear_legacy
from core.models.tiny_face_detector import TinyFaceDetectorNet
from core.paths import MODELS_DIR, SHARED_DIR
from core.zoo.weights import WeightsError, load_weights

REF = SHARED_DIR / "data" / "faceapi_ref" / "ref"
IMAGES = [f"sample{i}" for i in range(1, 7)]


# ---------------------------------------------------------------- no ../shared needed


def test_ssd_network_shapes(ssd):
    model = ssd.model
    assert model.anchors.shape == (NUM_ANCHORS, 4) == (5118, 4)
    taps: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        boxes, logits = model(torch.zeros(1, 3, 512, 512), taps)
    assert len(boxes) == len(logits) == 6
    for (_, n, fm), b, c in zip(PREDICTION_LAYERS, boxes, logits, strict=True):
        assert b.shape == (1, fm * fm * n, 4) and c.shape == (1, fm * fm * n, 3)
    assert sum(b.shape[1] for b in boxes) == 5118
    assert taps["mobilenetv1/conv_11/pointwise"].shape == (1, 512, 32, 32)
    assert taps["prediction_layer/conv_7"].shape == (1, 128, 1, 1)


def test_ssd_fused_relu6_matches_plain(ssd, sample1):
    x = ssd.preprocess(sample1)
    with torch.inference_mode():
        fused_on = ssd.model.fuse_relu6(True)
        enc_a, log_a = ssd.model(x)
        assert ssd.model.fuse_relu6(False) is False
        enc_b, log_b = ssd.model(x)
        ssd.model.fuse_relu6(fused_on)
    for a, b in zip(enc_a + log_a, enc_b + log_b, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_ssd_loader_rejects_bad_shapes():
    tensors, _ = load_weights("faceapi_ssd_mobilenetv1")
    broken = dict(tensors)
    broken["Prediction/BoxPredictor_3/ClassPredictor/biases"] = torch.zeros(7)
    with pytest.raises(ValueError, match="class_heads.3.bias"):
        SsdMobileNetV1.from_tfjs(broken)
    del broken["Output/extra_dim"]
    with pytest.raises(KeyError):
        SsdMobileNetV1.from_tfjs(broken)


def test_tiny_loader_rejects_bad_shapes():
    tensors, _ = load_weights("faceapi_tiny_face_detector")
    broken = dict(tensors)
    broken["conv3/bias"] = torch.zeros(3)
    with pytest.raises(ValueError, match="blocks.2.pointwise.bias"):
        TinyFaceDetectorNet.from_tfjs(broken)


@pytest.mark.parametrize("size", [416, 608])
def test_tiny_network_shapes(tiny416, tiny608, size):
    model = (tiny416 if size == 416 else tiny608).model
    taps: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        out = model(torch.zeros(1, 3, size, size), taps)
    s = size // 32
    assert out.shape == (1, 25, s, s)
    assert taps["conv0"].shape[-1] == size - 2  # VALID first conv
    assert taps["maxpool1"].shape[-1] == -(-(size - 2) // 4)  # SAME pools round up (207 -> 104)
    assert taps["maxpool5"].shape[-1] == s  # the last pool has stride 1


@pytest.mark.parametrize(
    ("h", "w", "size"),
    [(1280, 1920, 512), (1920, 1280, 512), (300, 512, 512), (77, 77, 608), (416, 416, 416), (481, 640, 416)],
)
def test_detector_batch_equals_pad_then_legacy_resize(h, w, size):
    image = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    image.setflags(write=False)  # load_image returns read-only arrays
    fast = detector_batch(image, size)
    x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float()
    slow = resize_bilinear_legacy(pad_to_square(x, centered=False), (size, size))
    assert fast.shape == (1, 3, size, size)
    assert torch.equal(fast, slow)


def test_reshaped_dims_round_half_up():
    assert ReshapedDims.of(1920, 1280, 512) == ReshapedDims(512, 341)
    assert ReshapedDims.of(1280, 1920, 512) == ReshapedDims(341, 512)
    # 341 * 512/1024 = 170.5: JS Math.round gives 171, Python round() 170
    assert ReshapedDims.of(1024, 341, 512) == ReshapedDims(512, 171)


def test_decode_boxes_matches_hand_computation():
    anchors = torch.tensor([[0.1, 0.2, 0.3, 0.6]])
    enc = torch.tensor([[10.0, -5.0, 5.0 * np.log(2.0), 0.0]])  # ty tx th tw
    out = decode_boxes(enc, anchors)[0].tolist()
    # centre (0.2, 0.4) size (0.2, 0.4): cy' = 0.2 + 0.2 = 0.4, cx' = 0.4 - 0.2 = 0.2, h doubled
    assert out == pytest.approx([0.4 - 0.2, 0.2 - 0.2, 0.4 + 0.2, 0.2 + 0.2], abs=1e-6)


def _faceapi_ssd_nms(boxes: np.ndarray, scores: np.ndarray, max_out: int, iou_thr: float, score_thr: float):
    """face-api's ssdMobilenetv1/nonMaxSuppression.ts, transcribed (float64, yxyx boxes)."""

    def iou(i, j):
        a, b = boxes[i], boxes[j]
        ya0, xa0, ya1, xa1 = min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3])
        yb0, xb0, yb1, xb1 = min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])
        area_a, area_b = (ya1 - ya0) * (xa1 - xa0), (yb1 - yb0) * (xb1 - xb0)
        if area_a <= 0 or area_b <= 0:
            return 0.0
        inter = max(min(ya1, yb1) - max(ya0, yb0), 0.0) * max(min(xa1, xb1) - max(xa0, xb0), 0.0)
        return inter / (area_a + area_b - inter)

    out_size = min(max_out, len(boxes))
    cands = sorted(((s, i) for i, s in enumerate(scores) if s > score_thr), key=lambda c: -c[0])
    selected: list[int] = []
    for score, idx in cands:
        if len(selected) >= out_size:
            break
        cur = score
        for j in reversed(selected):
            v = iou(idx, j)
            if v == 0.0:
                continue
            cur *= 1 if v <= iou_thr else 0
            if cur <= score_thr:
                break
        if cur == score:
            selected.append(idx)
    return selected


@pytest.mark.parametrize("seed", range(5))
def test_torchvision_nms_selects_what_faceapi_selects(seed):
    rng = np.random.default_rng(seed)
    n = 150
    centre = rng.uniform(0, 1, (n, 2))
    size = rng.uniform(0.02, 0.3, (n, 2))
    yxyx = np.concatenate([centre - size / 2, centre + size / 2], axis=1).astype(np.float32)
    scores = rng.uniform(0, 1, n).astype(np.float32)
    max_out = 10 if seed == 0 else 100  # seed 0 exercises the maxResults cut
    expected = _faceapi_ssd_nms(yxyx.astype(np.float64), scores.astype(np.float64), max_out, 0.5, 0.2)
    cand = np.nonzero(scores > 0.2)[0]
    keep = nms(yxyx[cand][:, [1, 0, 3, 2]], scores[cand], 0.5)[:max_out]
    assert cand[keep].tolist() == expected


def test_layer_groups_rule(ssd):
    nominal = ssd.nominal_sizes
    assert nominal * 512 == pytest.approx([81.3, 184.6, 261.7, 338.6, 415.5, 488.5], abs=0.1)
    assert layer_groups(nominal, 640, 480) == ("medium",) + ("large",) * 5
    assert layer_groups(nominal, 416, 416) == ("medium",) + ("large",) * 5
    assert layer_groups(nominal, 200, 150) == ("small", "medium", "medium", "medium", "large", "large")
    assert layer_groups(nominal, 1920, 1280) == ("large",) * 6
    assert layer_groups(nominal, 100, 100) == ("small", "small", "medium", "medium", "medium", "medium")


def test_ssd_detects_sample_faces_with_branches(ssd, sample1, ssd_sample1):
    assert isinstance(ssd, Detector)
    found = ssd_sample1
    result = ssd.detect(sample1, 0.2)
    h, w = sample1.shape[:2]
    assert len(result.faces) == len(found.boxes) == 3
    assert result.branch_kind == "branch" and result.model == "ssd"
    assert set(result.branches) == {"small", "medium", "large"}
    assert set(result.timings_ms) == {"preprocess", "forward", "postprocess"}
    for face, layer in zip(result.faces, found.layers, strict=True):
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert face.branch == found.groups[layer]
        assert 100 < face.height < 400 and face.score > 0.9
    assert sum(len(v) for v in result.branches.values()) == 3
    assert ssd.min_score == 0.5  # face-api's default minConfidence


def test_ssd_small_image_uses_small_branch(ssd, sample1):
    small = np.ascontiguousarray(sample1[::8, ::8])  # 240x160: faces ~25-30 px
    found = ssd.locate(small, 0.2)
    result = ssd.detect(small, 0.2)
    assert found.groups[0] == "small"
    assert len(result.faces) >= 1
    assert {f.branch for f in result.faces} <= {"small", "medium"}


@pytest.mark.parametrize("value", [0, 128, 255])
def test_blank_image_has_no_faces(ssd, tiny416, value):
    blank = np.full((480, 640, 3), value, dtype=np.uint8)
    assert ssd.detect(blank).faces == []
    assert tiny416.detect(blank).faces == []


def test_tiny_detects_sample_faces(tiny416, sample1):
    result = tiny416.detect(sample1, 0.3)
    assert isinstance(tiny416, Detector)
    assert result.branch_kind == "scale_range" and result.model == "tiny"
    assert len(result.faces) == 3
    for face in result.faces:
        assert face.branch == "large"  # ~250-300 px boxes
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= sample1.shape[1] and 0 <= y1 < y2 <= sample1.shape[0]


def test_bad_input_is_a_value_error(ssd, tiny416):
    for det in (ssd, tiny416):
        with pytest.raises(ValueError):
            det.detect(np.zeros((10, 10), dtype=np.uint8))
        with pytest.raises(ValueError):
            det.detect(np.zeros((0, 10, 3), dtype=np.uint8))
    with pytest.raises(ValueError):
        TinyFaceDetector(device="cpu", max_side=400)


def test_registry_knows_both():
    det = create_detector("tiny", device="cpu", max_side=608)
    assert det.name == "tiny" and det.max_side == 608 and det.min_score == 0.5
    assert {"ssd", "tiny"} <= set(DETECTORS)


@pytest.mark.parametrize("name", ["faceapi_ssd_mobilenetv1", "faceapi_tiny_face_detector"])
def test_corrupt_weights_raise_weights_error(tmp_path, name):
    src = MODELS_DIR / f"{name}.pt"
    dst = tmp_path / f"{name}.pt"
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    data = bytearray(dst.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))
    cls = SsdDetector if "ssd" in name else TinyFaceDetector
    with pytest.raises(WeightsError) as err:
        cls(weights=str(dst), device="cpu")
    assert str(dst) in str(err.value) and "convert_faceapi" in str(err.value)
    dst.unlink()
    with pytest.raises(WeightsError, match="missing"):
        cls(weights=str(dst), device="cpu")

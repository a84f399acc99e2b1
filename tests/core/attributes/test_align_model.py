"""CelebA frame alignment, the shipped-model container round trip, and the feature cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.attributes.align import (
    FRAME_HEIGHT,
    FRAME_WIDTH,
    TEMPLATE,
    align_face,
    similarity_to_template,
    to_frame,
)
from core.attributes.clustering import ClusterLayout
from core.attributes.features import FEATURE_DIM, FEATURE_VERSION, FeatureCache
from core.attributes.model import AttributeModel
from core.models.lmle import LinearAttributeClassifier, LMLEHead
from core.progress import Progress
from core.zoo.weights import WeightsError, save_weights


def _landmarks_at(points: np.ndarray) -> np.ndarray:
    """68 landmarks whose eye and mouth centres are the 3 given points."""
    lm = np.zeros((68, 2))
    lm[36:42], lm[42:48], lm[48:68] = points[0], points[1], points[2]
    lm[:36] = points.mean(0)
    return lm


def test_similarity_maps_a_scaled_rotated_copy_exactly():
    angle, scale, shift = 0.3, 2.5, np.array([40.0, -7.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = (TEMPLATE @ rot.T) * scale + shift
    matrix = similarity_to_template(src)
    mapped = src @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(mapped, TEMPLATE, atol=1e-9)
    with pytest.raises(ValueError):
        similarity_to_template(np.ones((3, 2)))


def test_align_face_puts_a_marked_eye_at_the_template():
    # a large image with a bright dot at the left-eye position of a face 4x the frame size
    points = TEMPLATE * 4 + np.array([100.0, 50.0])
    image = np.zeros((700, 600, 3), np.uint8)
    x, y = points[0].round().astype(int)
    image[y - 6 : y + 7, x - 6 : x + 7] = 255
    frame = align_face(image, _landmarks_at(points))
    assert frame.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3) and frame.dtype == np.uint8
    ys, xs = np.nonzero(frame[..., 0] > 128)
    assert abs(xs.mean() - TEMPLATE[0, 0]) < 1.0 and abs(ys.mean() - TEMPLATE[0, 1]) < 1.0
    with pytest.raises(ValueError, match="finite"):
        align_face(image, np.full((68, 2), np.nan))


def test_to_frame_halves_native_celeba():
    native = np.zeros((218, 178, 3), np.uint8)
    assert to_frame(native).shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)
    same = np.zeros((FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)
    assert to_frame(same) is same


NAMES = ("Bald", "Smiling", "Young")


def _lmle_model() -> AttributeModel:
    torch.manual_seed(0)
    head = LMLEHead(FEATURE_DIM, len(NAMES), hidden=0, dim=4)
    head.norm.fit(torch.randn(50, FEATURE_DIM))
    centroids = torch.nn.functional.normalize(torch.randn(len(NAMES), 4, 4), dim=-1)
    label = torch.tensor([[1, 1, 0, 0], [1, 0, 0, -1], [1, 0, -1, -1]], dtype=torch.int8)
    layout = ClusterLayout(centroids, label, torch.zeros(0, 3, dtype=torch.int64))
    return AttributeModel("lmle", NAMES, head=head, layout=layout, knn_k=2, meta={"train_range": "1-50"})


def test_lmle_model_round_trip(tmp_path):
    model = _lmle_model()
    path = tmp_path / "lmle_test.pt"
    model.save(path, {"description": "test", "regenerate": "pytest"})
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["regenerate"] == "pytest" and len(side["sha256"]) == 64
    loaded = AttributeModel.load(path)
    assert loaded.method == "lmle" and loaded.names == NAMES and loaded.knn_k == 2
    assert (
        loaded.meta["train_range"] == "1-50" and loaded.layout.centroid_label.dtype == torch.int8
    )  # stored as int32
    feats = np.random.default_rng(0).normal(size=(6, FEATURE_DIM)).astype(np.float32)
    p0, m0 = model.decide(feats)
    p1, m1 = loaded.decide(feats)
    np.testing.assert_array_equal(p0, p1)
    np.testing.assert_allclose(m0, m1, atol=2e-2)  # float16 weights in the container
    preds = loaded.predict(feats[:2])
    assert len(preds) == 2 and set(preds[0].to_json()) == set(NAMES)
    assert preds[0].present() == [n for n, p in zip(NAMES, p1[0], strict=True) if p]
    assert all(np.sign(m) == (1 if p else -1) for p, m in zip(p1.ravel(), m1.ravel(), strict=True) if m != 0)


def test_linear_model_round_trip_and_bad_files(tmp_path):
    linear = LinearAttributeClassifier(FEATURE_DIM, len(NAMES))
    model = AttributeModel("linear", NAMES, linear=linear)
    model.save(tmp_path / "lin.pt", {})
    feats = np.ones((2, FEATURE_DIM), np.float32)
    np.testing.assert_array_equal(
        AttributeModel.load(tmp_path / "lin.pt").decide(feats)[0], model.decide(feats)[0]
    )
    save_weights(tmp_path / "other.pt", tensors={"x": torch.zeros(1)}, meta={"method": "lmle"})
    with pytest.raises(WeightsError, match="made for features"):
        AttributeModel.load(tmp_path / "other.pt")
    meta = {"method": "lmle", "feature_version": FEATURE_VERSION, "attributes": json.dumps(NAMES)}
    save_weights(tmp_path / "broken.pt", tensors={"x": torch.zeros(1)}, meta=meta)
    with pytest.raises(WeightsError, match="not a valid lmle model"):
        AttributeModel.load(tmp_path / "broken.pt")
    with pytest.raises(WeightsError, match="missing"):
        AttributeModel.load(tmp_path / "absent.pt")


class _FakeExtractor:
    """Stands in for the trunk: a feature row made from the file name."""

    def __init__(self):
        self.calls = []

    def iter_paths(self, paths, batch=64):
        self.calls.append([p.name for p in paths])
        yield Progress(len(paths), len(paths))
        return np.stack([np.full(FEATURE_DIM, float(p.stem), np.float32) for p in paths])


def test_feature_cache_computes_only_missing_and_persists(tmp_path, monkeypatch):
    from core.attributes import features

    monkeypatch.setattr(features, "FeatureExtractor", _FakeExtractor)
    fake = _FakeExtractor()
    cache = FeatureCache(tmp_path / "images", tmp_path / "cache")
    out = cache.get(["1.jpg", "2.jpg"], fake)
    assert out[:, 0].tolist() == [1.0, 2.0] and out.dtype == np.float32
    again = FeatureCache(tmp_path / "images", tmp_path / "cache")
    assert again.missing(["2.jpg", "3.jpg"]) == ["3.jpg"]
    out = again.get(["3.jpg", "1.jpg"], fake)
    assert out[:, 0].tolist() == [3.0, 1.0] and fake.calls == [["1.jpg", "2.jpg"], ["3.jpg"]]
    cache.path.write_bytes(b"torn")  # a damaged cache is ignored, not fatal
    assert FeatureCache(tmp_path / "images", tmp_path / "cache").missing(["1.jpg"]) == ["1.jpg"]

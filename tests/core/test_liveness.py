"""LivenessChecker engine API: crop geometry, batching, NaN handling, thresholds, weight errors."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from core.models.antispoof import AntiSpoofNet, LivenessNet
from core.paths import MODELS_DIR
from core.recognize.liveness import (
    CROP_SIZE,
    LivenessChecker,
    LivenessResult,
    crop_faces,
    human_face_box,
)
from core.zoo.weights import WeightsError, load_weights


@pytest.fixture(scope="module")
def checker() -> LivenessChecker:
    return LivenessChecker(device="cpu")


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A 480x640 test frame: smooth colour ramps plus seeded noise (not a face)."""
    yy, xx = np.mgrid[0:480, 0:640]
    base = np.stack([xx * 255 / 639, yy * 255 / 479, (xx + yy) * 255 / 1118], axis=-1)
    noise = np.random.default_rng(3).normal(0, 12, base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def test_human_face_box_grows_squares_and_rounds_half_up() -> None:
    # 100x50 box centred at (150, 75): grown 1.4x -> 140x70, squared on the long side -> 140
    assert human_face_box((100, 50, 200, 100)) == (80, 5, 220, 145)
    # centre 10.25, half 1.4 * 1.5 / 2 = 1.05 -> corners 9.2 / 11.3 -> 9 / 11
    assert human_face_box((9.5, 9.5, 11.0, 11.0)) == (9, 9, 11, 11)
    # corners at exactly -3.5 / 3.5: JS Math.round gives -3 / 4 (Python's round: -4 / 4)
    assert human_face_box((-2.5, -2.5, 2.5, 2.5)) == (-3, -3, 4, 4)


def test_crop_of_a_constant_image_is_constant() -> None:
    image = np.full((100, 120, 3), (51, 102, 204), dtype=np.uint8)
    crops = crop_faces(image, [(40, 30, 80, 70)])  # the grown square (32..88, 22..78) lies inside
    assert crops.shape == (1, 3, CROP_SIZE, CROP_SIZE) and crops.dtype == torch.float32
    expected = torch.tensor([51, 102, 204], dtype=torch.float32) / 255
    assert torch.equal(crops[0].amax(dim=(1, 2)), expected)
    assert torch.equal(crops[0].amin(dim=(1, 2)), expected)


def test_crop_outside_the_image_is_zero() -> None:
    image = np.full((100, 100, 3), 255, dtype=np.uint8)
    crop = crop_faces(image, [(-50, -50, 50, 50)])[0]  # grown square (-70..70) covers the top-left
    assert torch.all(crop[:, :50, :50] == 0)  # source positions < 0 -> tfjs's extrapolation value 0
    assert torch.all(crop[:, -40:, -40:] == 1)


def test_crop_rejects_a_grey_image() -> None:
    with pytest.raises(ValueError, match="RGB"):
        crop_faces(np.zeros((10, 10), dtype=np.uint8), [(0, 0, 5, 5)])


def test_batch_equals_single(checker: LivenessChecker, frame: np.ndarray) -> None:
    boxes = [(100, 80, 260, 280), (400, 100, 520, 250), (-30, 300, 90, 470)]
    batch = checker.score_batch(frame, boxes)
    singles = [checker.score(frame, b) for b in boxes]
    for a, b in zip(batch, singles, strict=True):
        assert a.antispoof == pytest.approx(b.antispoof, abs=1e-6)
        assert a.liveness == pytest.approx(b.liveness, abs=1e-6)
    for r in batch:
        assert isinstance(r, LivenessResult)
        assert 0 <= r.antispoof <= 1 and 0 <= r.liveness <= 1
        assert r.real_probability == min(r.antispoof, r.liveness)
        assert r.passed == (r.real_probability >= 0.6) and r.threshold == 0.6


def test_empty_and_degenerate_boxes(checker: LivenessChecker, frame: np.ndarray) -> None:
    assert checker.score_batch(frame, np.zeros((0, 4))) == []
    bad, good = checker.score_batch(frame, [(50, 50, 50, 90), (100, 80, 260, 280)])
    assert math.isnan(bad.real_probability) and not bad.passed
    assert not math.isnan(good.real_probability)
    assert set(bad.to_json()) == {"real_probability", "antispoof", "liveness", "passed", "threshold"}


def test_threshold_decides(frame: np.ndarray) -> None:
    low = LivenessChecker(threshold=0.0, device="cpu").score(frame, (100, 80, 260, 280))
    high = LivenessChecker(threshold=1.01, device="cpu").score(frame, (100, 80, 260, 280))
    assert low.passed and not high.passed
    assert low.real_probability == high.real_probability


def test_batches_larger_than_max_batch(checker: LivenessChecker) -> None:
    faces = torch.rand(
        checker.max_batch + 3, 3, CROP_SIZE, CROP_SIZE, generator=torch.Generator().manual_seed(0)
    )
    real, live = checker.forward(faces)
    assert real.shape == (checker.max_batch + 3,) and live.shape == (checker.max_batch + 3, 2)
    torch.testing.assert_close(live.sum(dim=1), torch.ones(len(faces)))
    last, _ = checker.forward(faces[-1:])
    torch.testing.assert_close(real[-1:], last, rtol=0, atol=1e-6)


def test_missing_weights_name_the_regenerate_command(tmp_path) -> None:
    shutil.copy(MODELS_DIR / "liveness.json", tmp_path / "liveness.json")  # sidecar only, no .pt
    with pytest.raises(WeightsError, match="convert_human_liveness.py") as info:
        LivenessChecker(liveness_weights=tmp_path / "liveness.pt", device="cpu")
    assert "missing" in str(info.value)


def test_corrupt_weights_are_refused(tmp_path) -> None:
    shutil.copy(MODELS_DIR / "antispoof.json", tmp_path / "antispoof.json")
    data = bytearray((MODELS_DIR / "antispoof.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "antispoof.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        LivenessChecker(antispoof_weights=tmp_path / "antispoof.pt", device="cpu")


def test_modules_refuse_incomplete_or_foreign_weights() -> None:
    tensors, meta = load_weights("antispoof")
    assert "kaggle" not in meta["description"].lower() and meta["input"].startswith("NHWC")
    assert tensors["conv0/kernel"].shape == (3, 3, 3, 64) and tensors["conv0/kernel"].dtype == torch.float32
    with pytest.raises(ValueError, match="missing"):
        AntiSpoofNet.from_weights({k: v for k, v in tensors.items() if k != "fc1/bias"})
    with pytest.raises(ValueError, match="missing|shape"):
        LivenessNet.from_weights(tensors)
    live, _ = load_weights("liveness")
    with pytest.raises(ValueError, match="unused"):
        LivenessNet.from_weights({**live, "extra/kernel": torch.zeros(1)})


def test_a_blank_grey_frame_passes_the_rule(checker: LivenessChecker) -> None:
    """Pins ADR 0014's warning: the 0.6 rule accepts a frame with no face at all.

    antispoof scores flat grey 0.76 (above the median real face, ~0.63) and
    liveness 0.62; a GUI must not present a pass as "a live person".
    """
    result = checker.score(np.full((480, 640, 3), 128, dtype=np.uint8), (220, 140, 420, 340))
    assert result.antispoof == pytest.approx(0.757, abs=0.01)
    assert result.liveness == pytest.approx(0.62, abs=0.01)
    assert result.passed

"""The DREAM block: gate values, shapes, and the identity where the gate is (numerically) 0."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.models.dream import DreamBlock, yaw_gate
from core.recognize.dream import (
    DreamMapper,
    bucket_of,
    from_dream_space,
    gate_value,
    l2_normalize,
    to_dream_space,
)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.mark.parametrize("yaw", [0.0, 20.0, 45.0, -45.0, 50.0, 70.0, 90.0, -90.0])
def test_gate_is_the_papers_sigmoid(yaw):
    expected = _sigmoid(10.0 * (abs(yaw) / 45.0 - 1.0))
    assert yaw_gate(torch.tensor([yaw], dtype=torch.float64)).item() == pytest.approx(expected, rel=1e-12)


def test_gate_landmarks():
    g = yaw_gate(torch.tensor([0.0, 20.0, 45.0, 90.0], dtype=torch.float64)).numpy()
    assert g[0] < 1e-4 and g[1] < 0.01 and g[2] == pytest.approx(0.5) and g[3] > 0.9999
    assert gate_value(float("nan")) == 0.0  # an unknown pose leaves the feature alone
    assert gate_value(np.array([0.0, 90.0])).shape == (2,)


def test_block_shape_and_formula():
    torch.manual_seed(0)
    block = DreamBlock(128)
    f = torch.randn(5, 128)
    yaw = torch.tensor([0.0, 30.0, 45.0, 60.0, 90.0])
    out = block(f, yaw)
    assert out.shape == (5, 128)
    expected = f + yaw_gate(yaw)[:, None] * torch.relu(block.fc2(torch.relu(block.fc1(f))))
    torch.testing.assert_close(out, expected)
    assert (block.residual(f) >= 0).all()
    with pytest.raises(ValueError, match="128"):
        block(torch.randn(2, 64), torch.zeros(2))


def test_identity_when_the_gate_is_zero():
    torch.manual_seed(1)
    block = DreamBlock(16)
    f = torch.randn(4, 16)
    # frontal: gate = sigmoid(-10) ~ 4.5e-5, the residual is bounded, so the output is f to ~1e-4
    torch.testing.assert_close(
        block(f, torch.zeros(4)), f, atol=1e-3 * block.residual(f).abs().max().item(), rtol=0
    )
    with torch.no_grad():  # a zero residual branch is an exact identity at any yaw
        block.fc2.weight.zero_()
        block.fc2.bias.fill_(-1.0)
    assert torch.equal(block(f, torch.full((4,), 90.0)), f)


def test_mapper_keeps_frontal_and_unknown_pose_features():
    torch.manual_seed(2)
    rng = np.random.default_rng(0)
    center = rng.normal(size=16).astype(np.float32)
    mapper = DreamMapper(block=DreamBlock(16), center=center)
    raw = rng.normal(size=(3, 16)).astype(np.float32) + center
    out = mapper.map(raw, np.array([np.nan, np.nan, np.nan]))
    np.testing.assert_allclose(out, l2_normalize(raw), atol=1e-6)
    prof = mapper.map(raw, np.array([90.0, 90.0, 90.0]))
    np.testing.assert_allclose(np.linalg.norm(prof, axis=1), 1.0, atol=1e-6)
    assert mapper.map(np.zeros((0, 16), np.float32), np.zeros(0)).shape == (0, 16)


def test_dream_space_round_trip():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(4, 8)).astype(np.float32)
    c = rng.normal(size=8).astype(np.float32)
    fc, norm = to_dream_space(f, c)
    np.testing.assert_allclose(np.linalg.norm(fc, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(from_dream_space(fc * 3.0, norm, c), f, atol=1e-5)


def test_pose_buckets():
    assert bucket_of(5.0, -12.0) == "FF"
    assert bucket_of(5.0, 60.0) == "FP" and bucket_of(-70.0, 2.0) == "FP"
    assert bucket_of(35.0, 0.0) == "FP" and bucket_of(34.9, 0.0) == "FF"
    assert bucket_of(float("nan"), 3.0) == "FF"


def test_shipped_block_loads_with_calibration():
    from core.recognize.dream import shared_mapper
    from core.zoo.weights import load_weights

    mapper = shared_mapper()
    assert mapper.block.dim == 128 and mapper.center.shape == (128,) and mapper.form == "centred"
    tensors, _ = load_weights("dream_faceapi")
    assert torch.equal(mapper.block.fc1.weight, tensors["fc1.weight"])
    for mode in ("stem", "dream"):
        for bucket in ("FF", "FP"):
            cal = mapper.thresholds(mode, bucket)
            assert 0 < cal.accuracy_threshold < 1
            op = cal.at_far(1e-2)
            assert op.supported and op.measured_far <= 1e-2 and op.impostors > 100_000
    # with the gate at 0 the shipped block leaves descriptors as they are
    raw = mapper.center[None] + np.linspace(-0.1, 0.1, 128, dtype=np.float32)[None]
    np.testing.assert_allclose(mapper.map(raw, np.array([np.nan])), l2_normalize(raw), atol=1e-6)


def test_raw_form_is_f_plus_gate_times_residual_on_a_hand_made_vector():
    # R(f) = ReLU(W2 ReLU(W1 f + b1) + b2) with hand-picked 2x2 weights; f is already a unit vector
    block = DreamBlock(2)
    with torch.no_grad():
        block.fc1.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
        block.fc1.bias.copy_(torch.tensor([0.0, 1.0]))
        block.fc2.weight.copy_(torch.tensor([[0.0, 2.0], [1.0, 1.0]]))
        block.fc2.bias.copy_(torch.tensor([0.5, -0.2]))
    f = np.array([0.6, 0.8])
    hidden = np.maximum([0.6, -0.8 + 1.0], 0.0)  # [0.6, 0.2]
    residual = np.maximum([2.0 * hidden[1] + 0.5, hidden[0] + hidden[1] - 0.2], 0.0)  # [0.9, 0.6]
    gate = _sigmoid(10.0 * (60.0 / 45.0 - 1.0))
    expected = f + gate * residual
    mapper = DreamMapper(block=block, center=None, form="raw")
    # the input's length does not matter (the raw form works on the unit embedding); the output is unit
    out = mapper.map(np.array([[3.0, 4.0]], np.float32), np.array([-60.0]))[0]
    np.testing.assert_allclose(out, expected / np.linalg.norm(expected), atol=1e-6)
    assert mapper.center.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="form"):
        DreamMapper(block=block, center=None, form="sideways")


def test_shipped_faceres_block_loads_in_raw_form_with_calibration():
    from core.recognize.dream import shared_mapper
    from core.recognize.stems import stem_spec
    from core.zoo.weights import load_weights, read_sidecar, resolve

    spec = stem_spec("faceres")
    mapper = shared_mapper(spec.dream_weights)
    assert mapper.form == "raw" and mapper.block.dim == spec.dim == 1024
    assert mapper.meta["train_folds"] == "1-7" and mapper.meta["val_folds"] == "8"
    for mode in ("stem", "dream"):
        for bucket in ("FF", "FP"):
            cal = mapper.thresholds(mode, bucket)
            assert [op.target_far for op in cal.operating_points][-3:] == [1e-2, 1e-3, 1e-4]
            assert cal.at_far(1e-3).supported
    assert "research use" in read_sidecar(resolve(spec.dream_weights))["licence"]
    tensors, _ = load_weights(spec.dream_weights)  # the trained layers, not a fresh block's
    for name, value in mapper.block.state_dict().items():
        assert torch.equal(value, tensors[name]), name
    raw = np.linspace(-1.0, 1.0, 1024, dtype=np.float32)[None]
    np.testing.assert_allclose(mapper.map(raw, np.array([np.nan])), l2_normalize(raw), atol=1e-6)
    assert not np.allclose(mapper.map(raw, np.array([90.0])), l2_normalize(raw), atol=1e-3)

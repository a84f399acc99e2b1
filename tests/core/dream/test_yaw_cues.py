"""The yaw cue model: true turns read as PnP reads them, frontalised profiles read as profiles, bad files refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.recognize.face_model3d import MEAN_FACE_5, MEAN_FACE_68
from core.recognize.pose import estimate_yaw, fused_yaw
from core.recognize.yaw import project, rotation_from_angles
from core.recognize.yaw_cues import CUE_NAMES, CueYawModel, cue_vector
from core.zoo.weights import WeightsError, save_weights
from tools.train_yaw_cues import fit, synthetic_turns


def _turned(yaw: float, pitch: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rotation = rotation_from_angles(yaw, pitch)
    return project(MEAN_FACE_68, rotation, 1000.0, 1000.0) + 300, project(
        MEAN_FACE_5, rotation, 1000.0, 1000.0
    ) + 300


@pytest.mark.parametrize("yaw", [-40.0, -15.0, 0.0, 10.0, 25.0, 35.0, 50.0])
def test_a_clean_turn_reads_close_to_its_true_yaw(yaw):
    lm, p5 = _turned(yaw, pitch=5.0)
    estimate = estimate_yaw(lm, p5)
    assert estimate.source.startswith("cues<")
    assert estimate.yaw == pytest.approx(yaw, abs=4.0)
    assert abs(estimate.yaw - fused_yaw(lm, p5).yaw) < 5.0


def test_without_detector_points_the_fused_fit_is_used():
    lm, _ = _turned(20.0)
    alone = estimate_yaw(lm, None)
    assert alone == fused_yaw(lm, None) and not alone.source.startswith("cues")
    assert not estimate_yaw(lm, np.full((5, 2), np.nan)).source.startswith("cues")


def test_cues_need_finite_points_with_an_extent():
    lm, p5 = _turned(10.0)
    assert cue_vector(lm, p5, 10.0, 9.0, 11.0).shape == (len(CUE_NAMES),)
    bad = lm.copy()
    bad[3] = np.nan
    assert cue_vector(bad, p5, 10.0, 9.0, 11.0) is None
    assert cue_vector(lm, np.zeros((5, 2)), 10.0, 9.0, 11.0) is None  # no eye-mouth height
    assert cue_vector(lm, p5, float("nan"), 9.0, 11.0) is None


def test_training_reads_turns_by_geometry_and_pushes_profiles_past_the_floor():
    cues, truth = synthetic_turns(300, seed=1)
    # stand-ins for labelled, frontalised profiles: a 25-35° turn whose nose sits far out at the jaw
    profile_like = cues[(truth > 25) & (truth < 35)][:40].copy()
    assert cues[:, CUE_NAMES.index("nose_jaw")].max() < 2.5
    profile_like[:, CUE_NAMES.index("nose_jaw")] = 3.5
    x = np.concatenate([cues, profile_like])
    target = np.concatenate([truth, np.zeros(len(profile_like))])
    is_profile = np.concatenate([np.zeros(len(truth), bool), np.ones(len(profile_like), bool)])
    model = fit(x, target, is_profile, floor=70.0)
    small = truth < 30
    assert np.abs(model.abs_yaw(cues[small]) - truth[small]).mean() < 3.0
    assert np.median(model.abs_yaw(profile_like)) > 60.0
    assert model.meta["floor_deg"] == 70.0


def _tensors(**change):
    n, hidden = len(CUE_NAMES), 3
    tensors = {
        "mean": torch.zeros(n),
        "std": torch.ones(n),
        "hidden.weight": torch.ones(hidden, n),
        "hidden.bias": torch.zeros(hidden),
        "out.weight": torch.ones(hidden),
        "out.bias": torch.tensor([1.0]),
    }
    tensors.update(change)
    return {k: v for k, v in tensors.items() if v is not None}


def test_a_model_file_loads_and_computes_the_documented_formula(tmp_path):
    path = tmp_path / "cues.pt"
    save_weights(path, _tensors())
    model = CueYawModel.load(str(path))
    z = np.full(len(CUE_NAMES), 0.1)
    assert model.abs_yaw(z) == pytest.approx(3 * np.tanh(0.6) + 1.0)
    assert model.abs_yaw(np.full(len(CUE_NAMES), 100.0)) == 4.0  # bounded by the tanh units
    assert model.abs_yaw(np.full((2, len(CUE_NAMES)), 0.1)).shape == (2,)


@pytest.mark.parametrize(
    "change",
    [
        {"out.bias": None},
        {"std": torch.zeros(len(CUE_NAMES))},
        {"hidden.weight": torch.full((3, len(CUE_NAMES)), float("nan"))},
        {"mean": torch.zeros(2)},
    ],
)
def test_a_damaged_model_file_is_refused(tmp_path, change):
    path = tmp_path / "cues.pt"
    save_weights(path, _tensors(**change))
    with pytest.raises(WeightsError, match="not a yaw cue model"):
        CueYawModel.load(str(path))

"""The bundled ScaleFace: it loads without a checkpoint and finds real faces with more than one branch."""

from __future__ import annotations

import pytest

from core.detect.registry import create_detector
from core.io.imageio import load_image
from core.paths import MODELS_DIR, SAMPLES_DIR
from core.zoo.weights import read_sidecar

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_bundled_model_records_how_it_was_trained():
    sidecar = read_sidecar(MODELS_DIR / "scaleface.pt")
    assert sidecar["regenerate"].startswith(
        "python main.py train scaleface --config configs/scaleface_cpu.toml"
    )
    assert "train' part" in sidecar["training_data"] and sidecar["metrics"]


def test_the_bundled_model_finds_the_faces_of_a_sample_with_several_branches():
    detector = create_detector("scaleface", device="cpu")
    assert detector.model.cfg.freeze_trunk and detector.model.cfg.fusion == "small"
    found = {}
    for name in ("faceapi_demo_1.jpg", "faceapi_demo_3.jpg", "faceapi_demo_5.jpg"):
        result = detector.detect(load_image(SAMPLES_DIR / name), min_score=0.5)
        assert result.branch_kind == "branch" and set(result.branches) == {"small", "medium", "large"}
        assert result.faces, name
        for face in result.faces:
            found[face.branch] = found.get(face.branch, 0) + 1
    assert len(found) >= 2, found  # faces of more than one size range, each from its own branch


def test_the_bundled_model_runs_its_trunk_fused_on_the_cpu_with_the_eager_outputs():
    import torch

    model = create_detector("scaleface", device="cpu").model
    fused = model.__dict__.get("_fused_trunk")
    assert fused is not None, "the bundled ScaleFace should run a fused trunk on the CPU"
    images = torch.rand(2, 3, 96, 160)  # a size the trace never saw, and a batch
    with torch.no_grad():
        got = model.features(images)
        model.use_fused_trunk(None)
        try:
            want = model.features(images)
        finally:
            model.use_fused_trunk(fused)
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want, strict=True):
        assert torch.allclose(g, w, rtol=1e-4, atol=1e-3), (g - w).abs().max()
    assert "_fused_trunk" not in "".join(model.state_dict())

"""ScaleFace on composite scenes with cached trunk features: the shipped config loads, a short
run lowers the loss, and the run exports as a bundled model that loads through the network cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import core.detect.training.composite_set as composite_set
from core.detect.scaleface import ScaleFaceDetector, build_bundled
from core.detect.training.export import export_scaleface
from core.detect.training.scaleface_task import ScaleFaceTask, ScaleFaceTaskConfig
from core.detect.training.synthetic import make_synthetic_image
from core.paths import REPO_ROOT
from core.train.config import build_config
from core.train.loop import train
from core.zoo.cache import load_network
from tests.core.train.helpers import run_to_end

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SHIPPED = REPO_ROOT / "configs" / "scaleface_cpu.toml"


def test_the_shipped_config_loads_and_trains_the_paper_setting():
    config = build_config(ScaleFaceTaskConfig, file=SHIPPED, train_defaults=ScaleFaceTask.train_defaults)
    model, data = config.task.model, config.task.data
    assert model.init_from_centerface and model.freeze_trunk and model.input_norm == "raw255"
    assert model.ohem and model.fusion == "small" and tuple(model.pool_sizes) == (3, 5, 9)
    assert data.source == "composite" and data.part == "train" and data.cache_features
    assert config.task.eval_part == "val"  # never evaluated on what it trains on


def _photos(folder: Path) -> dict[str, tuple[float, float, float, float]]:
    """Drawn single-face photos and their face boxes (what a teacher would find)."""
    folder.mkdir()
    boxes = {}
    for i in range(6):
        sample = make_synthetic_image(2, 160, seed=i)  # layout 2: one face per image, or a few small
        big = max(sample.boxes, key=lambda b: b[3] - b[1])
        path = folder / f"{i}.png"
        cv2.imwrite(str(path), cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR))
        boxes[path.name] = tuple(float(v) for v in big)
    return boxes


def test_a_short_run_on_cached_features_lowers_the_loss_and_exports(tmp_path, monkeypatch):
    boxes = _photos(tmp_path / "photos")

    def fake_teacher(thorough: bool):
        def run(image):
            return np.array([next(iter(boxes.values()))]), np.array([0.95])

        return run

    monkeypatch.setattr(composite_set, "_teacher", fake_teacher)
    config = build_config(
        ScaleFaceTaskConfig,
        overrides=(
            "device=cpu",
            "max_steps=40",
            "batch_size=4",
            "optimizer=adamw",
            "lr=0.005",
            "log_every=0",
            "checkpoint_every=0",
            "task.model.backbone=tiny",
            "task.model.freeze_trunk=true",
            "task.model.rpn_post_nms_train=64",
            "task.model.ohem_rois_per_image=32",
            "task.data.source=composite",
            f"task.data.photos=['{tmp_path / 'photos'}']",
            "task.data.scenes=4",
            "task.data.crop_size=128",
            "task.data.cache_features=true",
            f"task.data.cache_dir={tmp_path / 'cache'}",
            "task.eval_images=0",
        ),
        train_defaults=ScaleFaceTask.train_defaults,
    )
    task = ScaleFaceTask()
    records, _ = run_to_end(train(task, config, run_dir=tmp_path / "run"))
    assert task.pooled and list((tmp_path / "cache").glob("pool-*/level0.f16"))
    losses = [r["loss"] for r in records if r["event"] == "step"]
    assert np.mean(losses[-8:]) < 0.85 * np.mean(losses[:8]), losses

    out = tmp_path / "scaleface.pt"
    meta = export_scaleface(tmp_path / "run", out)
    assert meta["trunk"] == "own" and meta["steps"] == 40  # a tiny trunk ships its own tensors
    model = load_network(out, build_bundled, "cpu", with_meta=True)
    result = ScaleFaceDetector(model=model, min_score=0.0).detect(make_synthetic_image(0, 128, seed=9).image)
    assert set(result.branches) == {"small", "medium", "large"}

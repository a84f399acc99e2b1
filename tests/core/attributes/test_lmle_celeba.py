"""A short LMLE run on a few hundred real CelebA images lowers the loss (needs ../shared).

Frozen features are cached in pytest's cache folder, so only the first run
pays for the trunk (300 images, a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from core.attributes.lmle_task import LMLETask
from core.paths import SHARED_DIR
from core.train.config import build_config
from core.train.loop import train

CELEBA = SHARED_DIR / "data" / "celeba_89x109_dev"


@pytest.mark.shared_data
def test_short_lmle_run_on_300_celeba_images_lowers_the_loss(tmp_path, request, monkeypatch):
    # pytest's cache dir keeps the features between runs; without the cache plugin, a fresh dir
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("facescope-attribute-features") if cache is not None else tmp_path / "features"
    monkeypatch.setenv("FACESCOPE_FEATURE_CACHE", str(folder))
    task = LMLETask()
    overrides = [
        "device=cpu",
        "max_steps=40",
        "batch_size=16",
        "lr=0.003",
        "checkpoint_every=0",
        "log_every=1",
        f'task.celeba_root="{CELEBA}"',
        'task.train_range="1-300"',
        'task.val_range=""',
        "task.flip=false",
        "task.refresh_every=20",
    ]
    config = build_config(task.config_cls, overrides=overrides, train_defaults=task.train_defaults)
    losses = [r["loss"] for r in train(task, config, run_dir=tmp_path / "run") if r["event"] == "step"]
    assert len(losses) == 40 and all(np.isfinite(losses))
    assert np.mean(losses[-10:]) < 0.9 * np.mean(losses[:10])
    model = task.model
    assert model.assign.shape == (300, 40) and int(model.steps_done) == 40
    # two clusters at most per class, each used slot labelled with its class
    assert set(np.unique(model.centroid_label.numpy())) <= {-1, 0, 1}

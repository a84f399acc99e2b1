"""The feature pool: computed once, resumable after an interruption, read back exactly."""

from __future__ import annotations

import numpy as np
import torch

from core.detect.training.feature_pool import PooledScenes, PoolInfo, build_pool, collate_pooled, level_shapes
from core.models.scaleface.config import ScaleFaceConfig
from core.models.scaleface.model import ScaleFace


def _scene(i: int):
    rng = np.random.default_rng(i)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return image, np.array([[4.0 + i, 5.0, 30.0, 40.0]], np.float32), np.array([i % 2 == 1])


def _info(model: ScaleFace, count: int = 5, fingerprint: str = "abc") -> PoolInfo:
    channels = tuple(b.reduce[0].in_channels for b in model.branches)
    return PoolInfo(fingerprint, count, 64, level_shapes(channels, 64, (8, 16, 32)))


def test_pool_resumes_after_an_interruption_and_matches_the_trunk(tmp_path):
    torch.manual_seed(0)
    model = ScaleFace(ScaleFaceConfig(backbone="tiny", freeze_trunk=True)).eval()
    info = _info(model)
    calls = []

    def features(images):
        calls.append(len(images))
        return model.features(images)

    stops = iter([False, True])
    done = build_pool(tmp_path, info, _scene, features, batch=2, should_stop=lambda: next(stops, False))
    assert done == 2 and calls == [2]
    assert len(PooledScenes(tmp_path, info)) == 2
    done = build_pool(tmp_path, info, _scene, features, batch=2)
    assert done == 5 and calls == [2, 2, 1]  # the first two scenes were not computed again
    pool = PooledScenes(tmp_path, info)
    feats, boxes, invalid = pool[3]
    with torch.no_grad():
        want = model.features(torch.from_numpy(_scene(3)[0]).permute(2, 0, 1)[None].float() / 255)
    for got, ref in zip(feats, want, strict=True):
        assert torch.allclose(got, ref[0], rtol=1e-2, atol=1e-2)  # stored as float16
    assert boxes.tolist() == [[7.0, 5.0, 30.0, 40.0]] and invalid.tolist() == [True]
    batch = collate_pooled([pool[0], pool[1]], 64)
    assert batch["features"][0].shape[0] == 2 and batch["input_size"] == (64, 64)


def test_a_new_fingerprint_starts_over(tmp_path):
    model = ScaleFace(ScaleFaceConfig(backbone="tiny", freeze_trunk=True)).eval()
    build_pool(tmp_path, _info(model, 3), _scene, model.features)
    calls = []
    build_pool(tmp_path, _info(model, 3, "other"), _scene, lambda x: calls.append(1) or model.features(x))
    assert calls and len(PooledScenes(tmp_path, _info(model, 3, "other"))) == 3

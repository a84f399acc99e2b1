"""ScaleFace's ablation settings on a feature pool: a tuned last stage and a fusion-free model."""

from __future__ import annotations

import pytest
import torch

from core.detect.scaleface import build_scaleface
from core.models.scaleface.config import ScaleFaceConfig

TARGETS = [{"boxes": torch.tensor([[20.0, 20.0, 45.0, 50.0]]), "invalid": torch.zeros(1, dtype=torch.bool)}]


def _cfg(**kw) -> ScaleFaceConfig:
    base = dict(backbone="mobilenet_v2", init_from_centerface=True, input_norm="raw255", freeze_trunk=True)
    base.update(kw)
    return ScaleFaceConfig(**base)


@pytest.fixture(autouse=True)
def _needs_centerface():
    try:
        from core.detect.centerface import load_model

        load_model(device=torch.device("cpu"))
    except Exception as exc:  # noqa: BLE001 - weights absent in a partial checkout
        pytest.skip(f"CenterFace weights unavailable: {exc}")


def test_tune_last_stage_needs_a_frozen_trunk():
    with pytest.raises(ValueError, match="freeze_trunk"):
        ScaleFaceConfig(backbone="mobilenet_v2", tune_last_stage=True)


def test_a_tuned_last_stage_learns_and_the_rest_of_the_trunk_does_not():
    model = build_scaleface(_cfg(fusion="small", tune_last_stage=True)).train()
    assert not model.backbone.training  # BatchNorm statistics stay fixed
    losses = model(torch.rand(1, 3, 96, 128), [(96, 128)], TARGETS)
    sum(losses.values()).backward()
    stages = model.backbone.stages
    assert all(p.grad is None for p in stages[0].parameters())
    assert all(p.grad is None for p in stages[1].parameters())
    assert all(p.grad is None for p in model.neck.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in stages[2].parameters())


def test_a_tuned_stage_on_pooled_maps_equals_the_images_path():
    model = build_scaleface(_cfg(fusion="small", tune_last_stage=True)).train()
    with torch.no_grad():  # perturb the tuned stage, as training would
        for p in model.backbone.stages[2].parameters():
            p.add_(0.01 * torch.randn_like(p))
    images = torch.rand(1, 3, 96, 128)
    frozen = build_scaleface(_cfg(fusion="small")).eval()
    with torch.no_grad():
        pooled = frozen.features(images)  # what the pool stored, before any tuning
    torch.manual_seed(0)
    direct = model(images, [(96, 128)], TARGETS)
    torch.manual_seed(0)
    cached = model.forward_features(model.from_pool(pooled), (96, 128), [(96, 128)], TARGETS)
    for key, value in direct.items():
        assert torch.allclose(value, cached[key], atol=1e-5), key
    # and the pooled stride-32 map is not what the tuned model reads
    assert not torch.allclose(model.from_pool(pooled)[2], pooled[2])


def test_a_fusion_free_model_reads_the_trunk_channels_of_a_fused_pool():
    fused = build_scaleface(_cfg(fusion="small")).eval()
    plain = build_scaleface(_cfg(fusion="none")).eval()
    images = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        pooled = fused.features(images)
        own = plain.features(images)
    assert pooled[0].shape[1] == own[0].shape[1] + 24
    for got, want in zip(plain.from_pool(pooled), own, strict=True):
        assert torch.equal(got, want)


def test_a_fusion_free_run_finds_the_finished_fused_pool_of_the_same_scenes(tmp_path):
    import numpy as np

    from core.detect.training.composite_set import _fused_twin, pool_fingerprint
    from core.detect.training.feature_pool import PoolInfo, build_pool, level_shapes
    from core.detect.training.scaleface_task import ScaleFaceDataConfig

    data_cfg = ScaleFaceDataConfig(source="composite", scenes=2, crop_size=64)
    fused = build_scaleface(_cfg(fusion="small")).eval()
    plain = build_scaleface(_cfg(fusion="none")).eval()

    def info(model, fingerprint):
        channels = tuple(b.reduce[0].in_channels for b in model.branches)
        return PoolInfo(fingerprint, 2, 64, level_shapes(channels, 64, (8, 16, 32)))

    plain_info = info(plain, pool_fingerprint(data_cfg, plain))
    assert _fused_twin(data_cfg, plain, tmp_path, plain_info) is None  # nothing built yet
    fused_fp = pool_fingerprint(data_cfg, fused)
    assert fused_fp == pool_fingerprint(data_cfg, plain, fusion="small") != plain_info.fingerprint

    def scene(i):
        image = np.random.default_rng(i).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        return image, np.zeros((0, 4), np.float32), np.zeros(0, bool)

    build_pool(tmp_path / f"pool-{fused_fp}", info(fused, fused_fp), scene, fused.features)
    pooled = _fused_twin(data_cfg, plain, tmp_path, plain_info)
    assert pooled is not None and len(pooled) == 2
    feats, _, _ = pooled[0]
    with torch.no_grad():
        own = plain.features(torch.from_numpy(scene(0)[0]).permute(2, 0, 1)[None].float() / 255)
    got = plain.from_pool([f[None] for f in feats])
    for g, w in zip(got, own, strict=True):
        assert torch.allclose(g, w, rtol=1e-2, atol=1e-2)  # stored as float16

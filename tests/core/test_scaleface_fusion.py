"""ScaleFace on CenterFace's trunk: input scaling, the fused neck, a frozen trunk, cached features."""

from __future__ import annotations

import pytest
import torch

from core.detect.scaleface import build_scaleface
from core.models.scaleface.config import ScaleFaceConfig
from core.models.scaleface.loss import random_select_batch


def _centerface():
    try:
        from core.detect.centerface import load_model

        return load_model(device=torch.device("cpu")).eval()
    except Exception as exc:  # noqa: BLE001 - weights absent in a partial checkout
        pytest.skip(f"CenterFace weights unavailable: {exc}")


def _cfg(**kw) -> ScaleFaceConfig:
    base = dict(backbone="mobilenet_v2", init_from_centerface=True, input_norm="raw255", freeze_trunk=True)
    base.update(kw)
    return ScaleFaceConfig(**base)


def test_features_are_centerfaces_own_taps_and_neck():
    teacher = _centerface()
    model = build_scaleface(_cfg(fusion="small_medium")).eval()
    image = torch.rand(1, 3, 64, 96)  # the model's [0, 1] input ...
    with torch.no_grad():
        feats = model.features(image)
        taps = teacher.backbone(image * 255)  # ... is CenterFace's 0..255
        neck = teacher.neck
        s16 = neck.deconv_layers[2](neck.reduce(taps[3])) + neck.lateral[2](taps[2])
        s8 = neck.deconv_layers[1](s16) + neck.lateral[1](taps[1])
    want = [torch.cat([taps[1], s8], 1), torch.cat([taps[2], s16], 1), taps[3]]
    for got, ref in zip(feats, want, strict=True):
        assert got.shape == ref.shape
        assert torch.allclose(got, ref, rtol=1e-4, atol=1e-3), (got - ref).abs().max()


def test_imagenet_input_norm_is_refused_with_centerface_weights():
    with pytest.raises(ValueError, match="raw255"):
        ScaleFaceConfig(backbone="mobilenet_v2", init_from_centerface=True)
    with pytest.raises(ValueError, match="fusion"):
        ScaleFaceConfig(backbone="resnet50", fusion="small")


def test_frozen_trunk_learns_only_the_branches_and_keeps_its_statistics():
    _centerface()
    model = build_scaleface(_cfg(fusion="small")).train()
    assert not model.backbone.training and not model.neck.training
    assert all(not p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.branches.parameters())
    images = torch.rand(2, 3, 128, 128)
    targets = [
        {
            "boxes": torch.tensor([[10.0, 10.0, 30.0, 35.0], [40.0, 20.0, 100.0, 95.0]]),
            "invalid": torch.zeros(2, dtype=torch.bool),
        },
        {"boxes": torch.tensor([[60.0, 50.0, 80.0, 74.0]]), "invalid": torch.zeros(1, dtype=torch.bool)},
    ]
    losses = model(images, [(128, 128)] * 2, targets)
    sum(losses.values()).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.branches[0].reduce[0].weight.grad is not None


def test_cached_features_give_the_same_losses_as_images():
    _centerface()
    model = build_scaleface(_cfg(fusion="small")).train()
    images = torch.rand(1, 3, 96, 128)
    targets = [
        {"boxes": torch.tensor([[20.0, 20.0, 45.0, 50.0]]), "invalid": torch.zeros(1, dtype=torch.bool)}
    ]
    torch.manual_seed(0)
    direct = model(images, [(90, 120)], targets)
    with torch.no_grad():
        feats = model.features(images)
    torch.manual_seed(0)
    cached = model.forward_features(feats, (96, 128), [(90, 120)], targets)
    for key, value in direct.items():
        assert torch.allclose(value, cached[key]), key


def test_random_sampling_caps_the_positive_share():
    labels = [torch.cat([torch.ones(50), torch.zeros(300)]), torch.zeros(10)]
    picks = random_select_batch(labels, 128, generator=torch.Generator().manual_seed(0))
    assert len(picks[0]) == 128 and int(labels[0][picks[0]].sum()) == 32
    assert len(picks[1]) == 10 and len(set(picks[0].tolist())) == 128


def test_export_ships_the_branches_and_loads_back_on_centerfaces_trunk(tmp_path):
    from core.detect.scaleface import build_bundled
    from core.detect.training.export import export_scaleface
    from core.train.checkpoint import save_checkpoint
    from core.train.config import to_plain
    from core.zoo.cache import load_network
    from core.zoo.weights import load_weights

    _centerface()
    cfg = _cfg(fusion="small", rpn_pre_nms_test=100, rpn_post_nms_test=20)
    torch.manual_seed(0)
    model = build_scaleface(cfg).eval()
    run = tmp_path / "run"
    run.mkdir()
    save_checkpoint(
        run / "last.pt",
        {
            "task": "scaleface",
            "step": 7,
            "config": {"train": {}, "task": {"model": to_plain(cfg), "data": {}}},
            "model": model.state_dict(),
        },
    )
    meta = export_scaleface(run, tmp_path / "sf.pt")
    tensors, _ = load_weights(tmp_path / "sf.pt")
    assert (
        meta["trunk"] == "centerface-mobilenetv2-frozen"
        and meta["steps"] == 7
        and len(meta["trunk_sha256"]) == 64
    )
    assert tensors and not any(k.startswith(("backbone.", "neck.")) for k in tensors)
    loaded = load_network(tmp_path / "sf.pt", build_bundled, "cpu", with_meta=True)
    image = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        for got, want in zip(loaded.features(image), model.features(image), strict=True):
            assert torch.allclose(got, want, atol=1e-4)
        assert torch.allclose(loaded.branches[0].cls_logit.weight, model.branches[0].cls_logit.weight)

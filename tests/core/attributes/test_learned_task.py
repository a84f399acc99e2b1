"""The learned LMLE task on a fake CelebA (pre-cached features and conv maps): it trains and evaluates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.attributes.conv_cache import ConvMapCache
from core.attributes.features import FLIP_SUFFIX
from core.attributes.learned_task import LearnedTask, decide_split
from core.train.config import build_config
from core.train.loop import train
from tests.core.attributes.fakes import fake_celeba


class FakeStem:
    """Conv maps whose first channels carry the image's first attributes (stands in for the trunk)."""

    def __init__(self, labels: np.ndarray, seed: int = 0) -> None:
        self.labels, self.rng = labels, np.random.default_rng(seed)

    def maps_of(self, paths) -> np.ndarray:
        rows = [int(Path(p).name.split(".")[0]) - 1 for p in paths]
        maps = self.rng.normal(size=(len(rows), 128, 8, 8)).astype(np.float32)
        maps[:, :40] += np.where(self.labels[rows], 2.0, -2.0)[:, :, None, None]
        return maps


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    monkeypatch.setenv("FACESCOPE_FEATURE_CACHE", str(tmp_path / "features"))
    monkeypatch.setenv("FACESCOPE_CONV_CACHE", str(tmp_path / "conv"))
    root = tmp_path / "celeba"
    labels = fake_celeba(root, n=120, cache_dir=tmp_path / "features")
    names = [f"{i + 1:06d}.jpg" for i in range(120)]
    ConvMapCache(root / "images").get(names + [n + FLIP_SUFFIX for n in names], FakeStem(labels))
    return root


def test_conv_cache_is_resumable_by_part(fake_root):
    cache = ConvMapCache(fake_root / "images")  # reopened from disk
    assert not cache.missing(["000001.jpg", "000120.jpg" + FLIP_SUFFIX])
    assert cache.get(["000003.jpg"]).dtype == np.float16


def _run(root: Path, tmp_path: Path, method: str, steps: int = 30, extra=()):
    task = LearnedTask()
    overrides = [
        "device=cpu",
        f"max_steps={steps}",
        "batch_size=16",
        "checkpoint_every=0",
        "log_every=1",
        f'task.celeba_root="{root}"',
        'task.train_range="1-100"',
        'task.val_range="101-120"',
        f'task.method="{method}"',
        "task.cluster_size=10",
        "task.refresh_every=10",
        "task.dim=8",
        "task.knn_k=3",
        *extra,
    ]
    config = build_config(task.config_cls, overrides=overrides, train_defaults=task.train_defaults)
    losses = [r["loss"] for r in train(task, config, run_dir=tmp_path / method) if r["event"] == "step"]
    return task, losses


def test_short_learned_lmle_run_lowers_the_loss_and_decides(fake_root, tmp_path):
    torch.manual_seed(0)
    task, losses = _run(fake_root, tmp_path, "lmle")
    assert len(losses) == 30 and all(np.isfinite(losses))
    assert np.mean(losses[-10:]) < 0.95 * np.mean(losses[:10])
    core = task.model
    # the embedding stays spread over the sphere: a collapsed one (every face at one point)
    # also lowers this loss, to the sum of the margins, and then stops learning
    emb = core.train_embeddings()[:, 0]
    pairs = torch.randint(0, len(emb), (500, 2), generator=torch.Generator().manual_seed(0))
    spread = (emb[pairs[:, 0]] - emb[pairs[:, 1]]).pow(2).sum(-1).median()
    assert float(spread) > 0.5
    assert core.bank.embeddings.shape == (100, 40, 8) and core.bank.step == 20
    used = core.centroid_label >= 0
    assert int(used[0].sum()) > 4  # several clusters per class, not at most two
    positive, margin = decide_split(core, task.val_split, 3)
    assert positive.shape == margin.shape == (20, 40)


def test_linear_baseline_trains_the_same_stage(fake_root, tmp_path):
    # without the frozen frame features: the stage's own 1280 are the whole input
    task, losses = _run(fake_root, tmp_path, "linear", steps=20, extra=["task.frame=false"])
    assert task.train_split.frame.shape == (100, 2, 0)
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    deltas = [d for d in task.model.net.stage.deltas]
    assert any(float(d.detach().abs().sum()) > 0 for d in deltas)  # the stage itself moved


def test_batch_mining_ablation_trains_from_the_batch_alone(fake_root, tmp_path):
    torch.manual_seed(0)
    task, losses = _run(fake_root, tmp_path, "lmle", steps=20, extra=['task.mining="batch"'])
    assert all(np.isfinite(losses)) and np.mean(losses[-5:]) < np.mean(losses[:5])
    with pytest.raises(ValueError, match="mining"):
        build_config(task.config_cls, overrides=['task.mining="queue"'], train_defaults={})


def test_exported_learned_model_decides_like_the_run(fake_root, tmp_path):
    from core.attributes.features import FeatureCache
    from core.attributes.learned_export import learned_model_from_run
    from core.attributes.model import AttributeModel
    from core.zoo.weights import WeightsError

    torch.manual_seed(0)
    task, _ = _run(fake_root, tmp_path, "lmle", steps=10)
    model, _ = learned_model_from_run(tmp_path / "lmle", cluster_size=10, knn_k=3)
    path = tmp_path / "learned.pt"
    model.save(path, {"description": "test", "licence": "test"})
    loaded = AttributeModel.load(path)
    assert loaded.needs_maps and loaded.knn_k == 3 and loaded.tta
    names = list(task.val_split.names)
    mirrored = [n + FLIP_SUFFIX for n in names]
    features = FeatureCache(fake_root / "images")
    maps = ConvMapCache(fake_root / "images")
    positive, margin = loaded.decide(
        features.get(names),
        features.get(mirrored),
        maps=maps.get(names),
        flipped_maps=maps.get(mirrored),
    )
    # the run's own decision with the exported clusters: the file stores float16 weights
    expected, expected_margin = decide_split(task.model, task.val_split, 3, layout=model.layout)
    assert (positive == expected).mean() > 0.97
    # float16 rounding may flip which centroids a borderline face's vote counts: a few margins move
    assert np.quantile(np.abs(margin - expected_margin), 0.98) < 0.01
    with pytest.raises(ValueError, match="conv128 maps"):
        loaded.decide(features.get(names))
    # served through the recognizer: the maps come from the same pass as the frozen features
    from core.attributes.recognizer import AttributeRecognizer

    frame = np.random.default_rng(0).integers(0, 255, (109, 89, 3), dtype=np.uint8)
    served = AttributeRecognizer(loaded, detector="centerface").predict_frames([frame, None])
    assert served[1] is None and served[0].positive.shape == (40,)
    # a learned model whose stage weights were stripped is refused with a clear error
    from core.zoo.weights import load_weights, save_weights

    tensors, meta = load_weights(path)
    stripped = {k: v for k, v in tensors.items() if not k.startswith("stage.blocks.0.")}
    save_weights(tmp_path / "stripped.pt", tensors=stripped, meta=meta, sidecar={"licence": "test"})
    with pytest.raises(WeightsError, match="not a valid lmle model"):
        AttributeModel.load(tmp_path / "stripped.pt")


def test_serving_maps_equal_the_training_cache_maps():
    """The learned model is served the conv128 maps of the feature pass; trained on the stem's."""
    import cv2

    from core.attributes.conv_cache import StemRunner
    from core.attributes.features import FeatureExtractor
    from core.io.imageio import load_image
    from core.paths import REPO_ROOT as ROOT

    image = load_image(ROOT / "resources" / "samples" / "faceapi_demo_1.jpg")
    frames = [
        np.ascontiguousarray(cv2.resize(image[y : y + 218, x : x + 178], (89, 109)))
        for y, x in ((0, 0), (40, 60))
    ]
    features, maps = FeatureExtractor().from_frames_with_maps(frames)
    assert features.shape == (2, 3712) and maps.shape == (2, 128, 8, 8) and maps.dtype == np.float16
    from core.attributes.align import face_square

    stem = StemRunner().forward_crops([face_square(f) for f in frames]).numpy()
    np.testing.assert_allclose(maps.astype(np.float32), stem, atol=2e-2, rtol=1e-2)
    np.testing.assert_array_equal(FeatureExtractor().from_frames(frames), features)

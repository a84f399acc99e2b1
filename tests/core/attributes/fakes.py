"""A CelebA folder whose frozen features are pre-cached: engine, CLI and GUI tests never decode an image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.attributes.celeba import CELEBA_ATTRIBUTES
from core.attributes.features import FEATURE_DIM, FLIP_SUFFIX, FeatureCache
from core.progress import Progress

A = len(CELEBA_ATTRIBUTES)


class FakeExtractor:
    """Returns prepared feature rows by file name (stands in for the face-api trunk)."""

    def __init__(self, feats: dict[str, np.ndarray]):
        self.feats = feats

    def iter_paths(self, paths, batch=64):
        yield Progress(len(paths), len(paths))
        return np.stack([self.feats[Path(p).name] for p in paths])


def fake_celeba(root: Path, n: int = 160, seed: int = 0, cache_dir: Path | None = None) -> np.ndarray:
    """Write ``root/list_attr_celeba.txt`` + an empty ``images/`` and cache features in which attribute
    ``a`` is readable from feature ``a`` (plus noise; 40 more noise dimensions, the rest constant). Returns the ``(n, 40)`` bool labels."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    labels = rng.random((n, A)) < np.linspace(0.15, 0.6, A)
    labels[0], labels[1] = True, False  # both classes in every attribute
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    rows = [
        f"{name} " + " ".join("1" if v else "-1" for v in row)
        for name, row in zip(names, labels, strict=True)
    ]
    (root / "list_attr_celeba.txt").write_text(
        f"{n}\n{' '.join(CELEBA_ATTRIBUTES)}\n" + "\n".join(rows) + "\n"
    )
    feats = rng.normal(size=(n, FEATURE_DIM)).astype(np.float32)
    feats[:, :A] += np.where(labels, 1.5, -1.5)
    feats[:, 2 * A :] = 0.0  # few noise dimensions: 120 images must be enough to learn from
    flips = feats + rng.normal(scale=0.3, size=feats.shape).astype(np.float32) * (feats != 0)
    table = dict(zip(names, feats, strict=True))
    table.update({n + FLIP_SUFFIX: f for n, f in zip(names, flips, strict=True)})  # the mirrored views
    FeatureCache(root / "images", cache_dir).get([*table], FakeExtractor(table))
    return labels

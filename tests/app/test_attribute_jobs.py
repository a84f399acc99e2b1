"""The attribute embedding job extracts an image and its mirror in one pass under one progress bar."""

from __future__ import annotations

import numpy as np

from app.attributes.jobs import feature_views
from core.attributes.features import FEATURE_DIM, FLIP_SUFFIX
from core.progress import Progress, relay


class _Cache:
    """Stands in for FeatureCache: yields progress per batch of 4 and returns rows tagged by view."""

    def __init__(self) -> None:
        self.requests: list[list[str]] = []

    def iter_get(self, names, extractor=None, batch=4):
        self.requests.append(list(names))
        for done in range(batch, len(names) + batch, batch):
            yield Progress(min(done, len(names)), len(names))
        rows = np.zeros((len(names), FEATURE_DIM), dtype=np.float32)
        rows[:, 0] = [1.0 if n.endswith(FLIP_SUFFIX) else 0.0 for n in names]
        return rows


def _drive(gen):
    items: list[Progress] = []
    return items, relay(gen, items.append)


def test_features_and_mirrors_come_from_one_request_with_one_progress_bar():
    cache = _Cache()
    names = [f"{i:06d}.jpg" for i in range(10)]
    progress, (feats, flipped) = _drive(feature_views(cache, names, mirrored=True))
    assert len(cache.requests) == 1 and cache.requests[0][:2] == [names[0], names[0] + FLIP_SUFFIX]
    assert (feats[:, 0] == 0).all() and (flipped[:, 0] == 1).all() and len(feats) == len(flipped) == 10
    done = [p.done for p in progress]
    assert done == sorted(done) and {p.total for p in progress} == {20}  # never back to 0 %
    assert "its mirror" in progress[0].message and "ETA" in progress[1].message


def test_without_mirrors_one_plain_pass():
    cache = _Cache()
    _, (feats, flipped) = _drive(feature_views(cache, ["a.jpg", "b.jpg"], mirrored=False))
    assert flipped is None and feats.shape == (2, FEATURE_DIM) and cache.requests == [["a.jpg", "b.jpg"]]


def test_a_learned_models_maps_come_with_their_mirrors_in_one_pass():
    cache = _Cache()  # the conv-map cache has the same iter_get contract
    names = [f"{i:06d}.jpg" for i in range(6)]
    progress, (maps, flipped) = _drive(feature_views(cache, names, mirrored=True, what="conv128 maps"))
    assert cache.requests == [[v for n in names for v in (n, n + FLIP_SUFFIX)]]
    assert (maps[:, 0] == 0).all() and (flipped[:, 0] == 1).all()
    assert "conv128 maps" in progress[0].message
    _, (plain, none) = _drive(feature_views(_Cache(), names, mirrored=False, what="conv128 maps"))
    assert none is None and len(plain) == 6

"""An image and its mirror in one extraction batch cost one decode."""

from __future__ import annotations

import numpy as np

import core.attributes.features as features
from core.attributes.features import FLIP_SUFFIX, frames_of


def test_an_image_and_its_mirror_cost_one_decode(monkeypatch, tmp_path):
    calls: list[str] = []
    image = np.arange(109 * 89 * 3, dtype=np.uint8).reshape(109, 89, 3)

    def fake_load(path):
        calls.append(str(path))
        return image

    monkeypatch.setattr(features, "load_image", fake_load)
    paths = [str(tmp_path / "a.jpg"), str(tmp_path / "a.jpg") + FLIP_SUFFIX, str(tmp_path / "b.jpg")]
    frames = frames_of(paths)
    assert calls == [paths[0], paths[2]]
    np.testing.assert_array_equal(frames[1], frames[0][:, ::-1])

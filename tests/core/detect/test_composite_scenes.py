"""Composite training scenes: determinism, labels that follow the paste, occlusion, teacher cache."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from core.detect.training.composite import CompositeConfig, CompositeScenes, FacePhoto
from core.detect.training.photo_index import background_photos, face_photos, list_photos, scan
from core.detect.training.scenes import SceneMix
from core.wider.dev_split import dev_part, in_part

MARK = (255, 0, 255)  # a colour no background or relighting produces inside the face box


def _photo(h: int = 120, w: int = 100, box=(30, 20, 70, 80)) -> np.ndarray:
    """A grey photo whose face box is a solid marker colour."""
    image = np.full((h, w, 3), 90, dtype=np.uint8)
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = MARK
    return image


def _scenes(count=6, seed=0, **cfg) -> CompositeScenes:
    photos = [FacePhoto(f"p{i}", (30.0, 20.0, 70.0, 80.0)) for i in range(3)]
    config = CompositeConfig(size=256, **cfg)
    return CompositeScenes(photos, count=count, seed=seed, config=config, load_photo=lambda _p: _photo())


def test_a_scene_depends_only_on_seed_and_index():
    a, b = _scenes(seed=3), _scenes(seed=3)
    for i in (0, 4):
        ia, ba, va = a.load(i)
        ib, bb, vb = b.load(i)
        assert (ia == ib).all() and np.array_equal(ba, bb) and np.array_equal(va, vb)
    assert not np.array_equal(a.load(1)[0], _scenes(seed=4).load(1)[0])


def test_pasted_boxes_cover_the_pasted_faces():
    """Each visible, valid box sits on the face marker: its centre pixel, after the paste's
    scaling, is the marker region (relit, so compare hue-ish: red and blue high, green low)."""
    scenes = _scenes(count=40, min_face=24, max_face=120)
    checked = 0
    for i in range(len(scenes)):
        image, boxes, invalid = scenes.load(i)
        assert boxes.shape[1] == 4 and len(boxes) == len(invalid)
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert (boxes >= 0).all() and (boxes <= 256).all()
        for box, bad in zip(boxes, invalid, strict=True):
            x1, y1, x2, y2 = box
            if bad or x2 - x1 < 16:
                continue
            inner = image[int(y1) + 4 : int(y2) - 4, int(x1) + 4 : int(x2) - 4].astype(int)
            if inner.size == 0:
                continue
            # blur and relighting move values, but the marker stays magenta: R, B above G
            magenta = (inner[..., 0] > inner[..., 1] + 20) & (inner[..., 2] > inner[..., 1] + 20)
            assert magenta.mean() > 0.5
            checked += 1
    assert checked >= 10


def test_heavily_covered_faces_are_ignored_not_taught():
    scenes = _scenes(count=30, layouts=(0.0, 0.0, 1.0))  # crowds: rows overlap
    flags = np.concatenate([scenes.load(i)[2] for i in range(len(scenes))])
    assert flags.any() and not flags.all()


def test_photos_too_small_for_a_height_are_not_enlarged_past_the_limit():
    photos = [FacePhoto("small", (0, 0, 10, 10)), FacePhoto("big", (0, 0, 200, 200))]
    scenes = CompositeScenes(photos, config=CompositeConfig(max_upscale=2.0), load_photo=lambda _p: _photo())
    rng = np.random.default_rng(0)
    assert {scenes._pick_photo(100.0, rng).path for _ in range(20)} == {"big"}


def test_teacher_scan_is_cached_and_resumes(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.jpg"), _photo())
    calls = []

    def teacher(image):
        calls.append(image.shape)
        return np.array([[30.0, 20.0, 70.0, 80.0], [0, 0, 5, 5]]), np.array([0.9, 0.3])

    paths = list_photos([folder])
    cache = tmp_path / "cache.json"
    found = scan(paths, teacher, cache)
    assert len(calls) == 3 and json.loads(cache.read_text())["version"] == 1
    assert scan(paths, teacher, cache) == found and len(calls) == 3  # all from the cache
    photos = face_photos(paths, found)
    assert [p.box for p in photos] == [(30.0, 20.0, 70.0, 80.0)] * 3
    backgrounds = background_photos(paths, found)
    assert backgrounds[0].boxes.shape == (2, 4) and backgrounds[0].invalid.tolist() == [False, True]


def test_scene_mix_interleaves_real_crops():
    class Wider:
        def __len__(self):
            return 2

        def load(self, i):
            return _photo(300, 300), np.array([[30.0, 20.0, 70.0, 80.0]], np.float32), np.zeros(1, bool)

    mix = SceneMix(_scenes(count=12), Wider(), count=12, size=256, wider_share=0.25)
    assert [mix.is_wider(i) for i in range(8)] == [True, False, False, False] * 2
    image, boxes, _ = mix.load(0)
    assert image.shape == (256, 256, 3) and len(boxes) <= 1


def test_dev_split_is_fixed_and_covers_both_parts():
    names = [f"0--Parade/0_Parade_{i}.jpg" for i in range(200)]
    parts = [dev_part(n) for n in names]
    assert 60 < parts.count("train") < 140
    assert dev_part("0--Parade/0_Parade_marchingband_1_20.jpg") == dev_part(
        "0--Parade\\0_Parade_marchingband_1_20.jpg"
    )
    assert all(in_part(n, "all") for n in names)
    with pytest.raises(ValueError):
        in_part(names[0], "test")

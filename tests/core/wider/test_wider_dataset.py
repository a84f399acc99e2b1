"""Dataset index: fast open (no decoding), lazy images, filters by event, attribute and size."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from core.io.imageio import ImageLoadError
from core.paths import SHARED_DIR
from core.wider.attributes import Blur, Occlusion
from core.wider.dataset import WiderDataset

VAL_TXT = SHARED_DIR / "data" / "wider_val_gt" / "wider_face_val_bbx_gt.txt"

LABELS = (
    "0--Parade/0_Parade_a_1.jpg\n3\n"
    "10 10 8 8 2 0 0 0 0 0 \n"
    "30 10 20 25 0 0 0 0 1 0 \n"
    "5 40 50 150 1 0 0 0 2 1 \n"
    "1--Handshaking/1_Handshaking_b_2.jpg\n1\n"
    "3 4 12 12 2 0 0 0 1 0 \n"
    "2--Demonstration/2_Demonstration_c_3.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n"
)


@pytest.fixture
def split(tmp_path):
    root = tmp_path / "WIDER"
    (root / "wider_face_split").mkdir(parents=True)
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(LABELS)
    for k, name in enumerate(["0--Parade/0_Parade_a_1.jpg", "1--Handshaking/1_Handshaking_b_2.jpg"]):
        path = root / "WIDER_val" / "images" / name
        path.parent.mkdir(parents=True)
        Image.fromarray(np.full((60 + k, 80, 3), 40 * k, dtype=np.uint8)).save(path)
    return root


def test_open_index_and_lazy_samples(split):
    ds = WiderDataset.from_root(split, "val")
    assert len(ds) == 3 and ds.num_faces == 4
    assert ds.events == ["0--Parade", "1--Handshaking", "2--Demonstration"]
    sample = ds[0]
    assert sample.name == "0--Parade/0_Parade_a_1.jpg" and sample.event == "0--Parade"
    assert sample.boxes.shape == (3, 4) and sample.boxes_xyxy[1].tolist() == [30, 10, 50, 35]
    assert ds[1].load_image().shape == (61, 80, 3)
    assert ds[2].boxes.shape == (0, 4)  # image without faces
    assert [p.name for p in ds.missing_images()] == ["2_Demonstration_c_3.jpg"]
    with pytest.raises(ImageLoadError, match="does not exist"):
        ds.load_image(2)
    labels = ds.image_labels(0)
    assert labels.faces[2].occlusion is Occlusion.HEAVY
    with pytest.raises(IndexError):
        ds[3]


def test_filters(split):
    ds = WiderDataset.from_root(split, "val")
    assert len(ds.select(events=["1--Handshaking"])) == 1
    heavy_blur = ds.select(attributes={"blur": Blur.HEAVY})
    assert len(heavy_blur) == 2 and heavy_blur.num_faces == 2
    assert heavy_blur[0].face_indices.tolist() == [0]
    occluded = ds.select(attributes={"occlusion": [1, 2]}, min_height=20)
    assert occluded.num_faces == 2 and [s.name for s in occluded][0] == "0--Parade/0_Parade_a_1.jpg"
    small = ds.select(min_height=10, max_height=40)
    assert small.num_faces == 2  # heights 25 and 12
    assert len(ds.select(min_height=1000, keep_empty=True)) == 3
    chained = ds.select(events=["0--Parade"]).select(max_height=100)
    assert chained.num_faces == 2
    with pytest.raises(ValueError, match="unknown attribute"):
        ds.select(attributes={"colour": 1})


@pytest.mark.shared_data
@pytest.mark.skipif(not VAL_TXT.is_file(), reason="../shared WIDER val labels absent")
def test_full_val_split_opens_fast():
    seconds = float("inf")
    for _ in range(3):  # best of 3: the 2 shared cores are often busy
        start = time.perf_counter()
        ds = WiderDataset.open(VAL_TXT, SHARED_DIR / "data" / "wider_val_gt" / "images")
        seconds = min(seconds, time.perf_counter() - start)
    assert len(ds) == 3226 and ds.num_faces == 39704
    assert seconds < 1.0, f"opening the val index took {seconds:.2f} s"
    assert len(ds.select(events=["0--Parade"])) == 115

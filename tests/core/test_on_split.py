from __future__ import annotations

import numpy as np
from PIL import Image

from core.detect.on_split import detect_split
from core.detect.postprocess import build_result
from core.progress import Progress, relay
from core.wider.dataset import WiderDataset
from core.wider.labels import FaceBox, ImageLabels, write_labels


class _FixedDetector:
    name = "fixed"
    branch_kind = "scale_range"

    def detect(self, image, min_score=None):
        return build_result(
            np.array([[1, 2, 11, 22]]), np.array([0.8]), model="fixed", image_size=image.shape[1::-1]
        )


def test_detect_split_collects_rows_and_errors(tmp_path):
    images = tmp_path / "images" / "0--Parade"
    images.mkdir(parents=True)
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(images / "a.jpg")
    (images / "b.jpg").write_bytes(b"")
    labels = write_labels(
        tmp_path / "gt.txt",
        [
            ImageLabels("0--Parade/a.jpg", [FaceBox(1, 2, 10, 20)]),
            ImageLabels("0--Parade/b.jpg", [FaceBox(1, 1, 5, 5)]),
        ],
    )
    runner = detect_split(_FixedDetector(), WiderDataset.open(labels, tmp_path / "images"))
    progress = []
    out = relay(runner, progress.append)
    assert progress == [Progress(1, 2), Progress(2, 2)]
    np.testing.assert_allclose(out.predictions["0--Parade/a"], [[1, 2, 10, 20, 0.8]])
    assert out.predictions["0--Parade/b"].shape == (0, 5)
    assert "empty" in out.errors["0--Parade/b.jpg"]

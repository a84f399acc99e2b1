"""``train scaleface --data DIR``: a val-only WIDER folder trains; a folder without labels says so plainly."""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from core.cli import run_cli

LABELS = "0--Parade/0_Parade_a_1.jpg\n1\n20 20 24 28 0 0 0 0 0 0 \n"
TINY = [
    "--max-steps", "1", "--batch-size", "1", "--device", "cpu",
    "--set", "task.model.backbone=tiny", "--set", "task.eval_images=0",
    "--set", "task.data.crop_size=0", "--set", "task.data.max_size=96", "--set", "train.log_every=1",
]  # fmt: skip


def _val_only(root):
    (root / "wider_face_split").mkdir(parents=True)
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text(LABELS)
    image = root / "WIDER_val" / "images" / "0--Parade" / "0_Parade_a_1.jpg"
    image.parent.mkdir(parents=True)
    Image.fromarray(np.full((64, 64, 3), 90, dtype=np.uint8)).save(image)
    return root


def test_a_val_only_folder_trains_on_val(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    data = _val_only(tmp_path / "wider")
    assert run_cli(["train", "scaleface", "--data", str(data), "--out", str(tmp_path / "run"), *TINY]) == 0
    assert "wider_face_val_bbx_gt.txt" in caplog.text
    assert "step 1 · loss " in caplog.text  # the readable step line, not a dict


def test_a_folder_without_labels_says_what_was_looked_for(tmp_path, caplog):
    (tmp_path / "photos").mkdir()
    argv = ["train", "scaleface", "--data", str(tmp_path / "photos"), "--out", str(tmp_path / "run"), *TINY]
    assert run_cli(argv) != 0
    assert "No WIDER labels in" in caplog.text and "the folder is empty" in caplog.text
    assert "Traceback" not in caplog.text

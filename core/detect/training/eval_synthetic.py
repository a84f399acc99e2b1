"""A small WIDER val-style split of synthetic faces, for the eval hook's tests and smoke runs.

Layout (what :func:`core.detect.training.eval_hook.open_eval_split` and the Evaluation
panel read)::

    out_dir/wider_face_val_bbx_gt.txt   # WIDER labels, x y w h
    out_dir/synthetic_keep.json         # easy / medium / hard keep lists (1-based)
    out_dir/images/0--Synthetic/synthetic_<i>.jpg

Images are :func:`core.detect.training.synthetic.make_synthetic_image` (faces at the
three ScaleFace ranges). Real WIDER settings come from detection difficulty;
here they are a size proxy: hard keeps every face, medium faces ≥ 20 px high,
easy faces ≥ 40 px high (nested, as the official lists are).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from core.atomic import write_bytes_atomic
from core.detect.training.synthetic import make_synthetic_image
from core.wider.labels import FaceBox, ImageLabels, write_labels
from core.wider.matfiles import write_keep_json

EVENT = "0--Synthetic"
LABELS_NAME = "wider_face_val_bbx_gt.txt"
SETTING_MIN_HEIGHT = {"easy": 40.0, "medium": 20.0, "hard": 0.0}


def write_synthetic_split(
    out_dir: str | os.PathLike, num_images: int = 6, size: int = 160, seed: int = 1
) -> Path:
    """Write ``num_images`` synthetic images (``size``² px) with labels and keep lists; returns ``out_dir``."""
    out = Path(out_dir)
    images: list[ImageLabels] = []
    keep: dict[str, dict[str, list[int]]] = {}
    for index in range(num_images):
        item = make_synthetic_image(index, size, seed)
        name = f"{EVENT}/synthetic_{index}.jpg"
        ok, encoded = cv2.imencode(
            ".jpg", cv2.cvtColor(item.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]
        )
        if not ok:
            raise OSError(f"cannot encode synthetic image {index}")
        target = out / "images" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, encoded.tobytes(), fsync=False)
        faces = [
            FaceBox(float(x1), float(y1), float(x2 - x1), float(y2 - y1)) for x1, y1, x2, y2 in item.boxes
        ]
        images.append(ImageLabels(name, faces))
        keep[name] = {
            setting: [k + 1 for k, f in enumerate(faces) if f.h >= low]
            for setting, low in SETTING_MIN_HEIGHT.items()
        }
    write_labels(out / LABELS_NAME, images, decimals=2)
    write_keep_json(out / "synthetic_keep.json", keep)
    return out

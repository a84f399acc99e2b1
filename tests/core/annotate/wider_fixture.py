"""A tiny WIDER-style split built in tmp_path: images in event folders + an official-layout label txt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# name -> (image size (w, h), face lines). The empty image carries the official dummy row.
SPLIT = {
    "0--Parade/0_Parade_a_1.jpg": (
        (320, 240),
        ["20 30 40 50 0 0 0 0 0 0 ", "100 40 30 36 2 1 0 0 1 0 ", "200 60 6 7 2 0 0 0 2 1 "],
    ),
    "0--Parade/0_Parade_b_2.jpg": ((320, 240), []),
    "1--Handshaking/1_Handshaking_c_3.jpg": (
        (300, 200),
        ["10 10 80 90 1 0 1 0 0 0 ", "150 20 60 70 0 0 0 1 0 0 "],
    ),
    "1--Handshaking/1_Handshaking_d_4.jpg": ((300, 200), ["5 5 20 24 0 0 0 0 0 1 "]),
}


def label_text(split: dict = SPLIT) -> str:
    lines = []
    for name, (_, faces) in split.items():
        lines += [name, str(len(faces))]
        lines += faces or ["0 0 0 0 0 0 0 0 0 0 "]
    return "\n".join(lines) + "\n"


def make_split(root: Path, split: dict = SPLIT, images: bool = True) -> tuple[Path, Path]:
    """Write ``root/images/<event>/<name>.jpg`` and ``root/labels.txt``; return (label path, images root)."""
    images_root = root / "images"
    if images:
        rng = np.random.default_rng(0)
        for name, ((w, h), _) in split.items():
            path = images_root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path, quality=80)
    label_path = root / "labels.txt"
    label_path.write_text(label_text(split), encoding="utf-8")
    return label_path, images_root

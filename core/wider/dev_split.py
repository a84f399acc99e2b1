"""A fixed split of a labelled WIDER folder into a training part and a validation part.

Training on real labels needs images the reported numbers never see. The part
of an image follows from its name alone (the first byte of the SHA-1 of its
label-file name, e.g. ``0--Parade/0_Parade_marchingband_1_20.jpg``: even →
``"train"``, odd → ``"val"``), so the split is the same on every machine,
for any subset of the folder, and a new image never moves another.
"""

from __future__ import annotations

import hashlib

PARTS = ("all", "train", "val")


def dev_part(name: str) -> str:
    """``"train"`` or ``"val"`` for an image's label-file name (``/`` separators)."""
    digest = hashlib.sha1(name.replace("\\", "/").encode("utf-8")).digest()
    return "train" if digest[0] % 2 == 0 else "val"


def in_part(name: str, part: str) -> bool:
    """Whether the image belongs to ``part`` (``"all"`` holds every image)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    return part == "all" or dev_part(name) == part

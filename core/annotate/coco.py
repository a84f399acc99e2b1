"""COCO JSON export and import of WIDER labels, the six attributes kept as attributes.

Export layout (one category, ``face``)::

    {"info": {...}, "categories": [{"id": 1, "name": "face", "supercategory": "person"}],
     "images": [{"id": 1, "file_name": "0--Parade/x.jpg", "width": 1024, "height": 768}, ...],
     "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [x, y, w, h],
                      "area": w * h, "iscrowd": 0,
                      "attributes": {"blur": "heavy", "expression": "typical", "illumination": "normal",
                                     "invalid": "valid", "occlusion": "partial", "pose": "typical"}}, ...]}

``bbox`` is COCO's ``x y w h`` (top-left corner, size, pixels), the same as
WIDER's, so values pass through unchanged. Attribute values are the enum names
in lower case (the importer also accepts the integer codes). Invalid faces get
``iscrowd: 1`` so COCO tools ignore them as WIDER's evaluation does; the
importer reads ``attributes.invalid`` first and falls back to ``iscrowd``.
Every image is listed, including those with no face, in label-file order;
width/height are 0 when the image file is not available.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from core.atomic import write_text_atomic
from core.errors import FormatError
from core.io.imageio import ImageLoadError, probe_image
from core.wider.attributes import ATTRIBUTE_NAMES, ATTRIBUTES, Invalid
from core.wider.labels import FaceBox, ImageLabels

log = logging.getLogger(__name__)

FACE_CATEGORY = {"id": 1, "name": "face", "supercategory": "person"}


class CocoFormatError(FormatError, ValueError):
    """A COCO file the importer cannot use; the message names the file and the entry."""


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def image_size(path: Path | None) -> tuple[int, int]:
    """``(width, height)`` from the header, ``(0, 0)`` when the file is missing or unreadable."""
    if path is None:
        return (0, 0)
    try:
        info = probe_image(path)
    except ImageLoadError:
        return (0, 0)
    return (info.width, info.height)


def to_coco(
    images: Sequence[ImageLabels],
    image_paths: Sequence[Path | None] | None = None,
    description: str = "",
) -> dict:
    """The COCO dictionary of a split; sizes come from the image headers when paths are given."""
    coco_images, annotations = [], []
    for number, image in enumerate(images, start=1):
        path = image_paths[number - 1] if image_paths is not None else None
        width, height = image_size(path)
        coco_images.append({"id": number, "file_name": image.name, "width": width, "height": height})
        for face in image.faces:
            attributes = {
                name: ATTRIBUTES[name](code).name.lower()
                for name, code in zip(ATTRIBUTE_NAMES, face.attribute_codes, strict=True)
            }
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": number,
                    "category_id": FACE_CATEGORY["id"],
                    "bbox": [_number(v) for v in (face.x, face.y, face.w, face.h)],
                    "area": _number(face.w * face.h),
                    "iscrowd": int(face.invalid == Invalid.INVALID),
                    "attributes": attributes,
                }
            )
    info = {"description": description or "FaceScope export of WIDER FACE labels", "version": "1"}
    return {
        "info": info,
        "categories": [dict(FACE_CATEGORY)],
        "images": coco_images,
        "annotations": annotations,
    }


def export_coco(
    path: str | os.PathLike,
    images: Sequence[ImageLabels],
    image_paths: Sequence[Path | None] | None = None,
) -> Path:
    """Write a COCO JSON file atomically; returns its path."""
    data = to_coco(images, image_paths, description=f"FaceScope export ({len(images)} images)")
    return write_text_atomic(path, json.dumps(data, ensure_ascii=False) + "\n", fsync=True)


def _attribute_code(path: str, ann_id: object, name: str, value: object) -> int:
    enum = ATTRIBUTES[name]
    try:
        if isinstance(value, str) and not value.lstrip("-").isdigit():
            return int(enum[value.upper()])
        return int(enum(int(value)))  # type: ignore[call-overload]
    except (KeyError, ValueError, TypeError):
        allowed = ", ".join(m.name.lower() for m in enum)
        raise CocoFormatError(
            f"{path}: annotation {ann_id}: bad {name} value {value!r} (allowed: {allowed})"
        ) from None


def _face(path: str, ann: dict) -> FaceBox:
    ann_id = ann.get("id")
    bbox = ann.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise CocoFormatError(f"{path}: annotation {ann_id}: bbox must be [x, y, w, h]")
    try:
        x, y, w, h = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise CocoFormatError(f"{path}: annotation {ann_id}: non-numeric bbox {bbox!r}") from None
    attributes = ann.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise CocoFormatError(f"{path}: annotation {ann_id}: attributes must be an object")
    codes = []
    for name in ATTRIBUTE_NAMES:
        if name in attributes:
            codes.append(_attribute_code(path, ann_id, name, attributes[name]))
        elif name == "invalid":
            codes.append(int(bool(ann.get("iscrowd", 0))))
        else:
            codes.append(0)
    members = [ATTRIBUTES[name](code) for name, code in zip(ATTRIBUTE_NAMES, codes, strict=True)]
    return FaceBox(x, y, w, h, *members)


def from_coco(data: dict, path: str = "<memory>") -> list[ImageLabels]:
    """Labels from a COCO dictionary: images in file order, faces in annotation order."""
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise CocoFormatError(f"{path}: not a COCO file (no 'images' list)")
    by_id: dict[object, ImageLabels] = {}
    images: list[ImageLabels] = []
    for entry in data["images"]:
        if not isinstance(entry, dict) or "id" not in entry or not entry.get("file_name"):
            raise CocoFormatError(f"{path}: image entry without id or file_name: {entry!r}")
        if entry["id"] in by_id:
            raise CocoFormatError(f"{path}: duplicate image id {entry['id']!r}")
        labels = ImageLabels(str(entry["file_name"]))
        by_id[entry["id"]] = labels
        images.append(labels)
    for ann in data.get("annotations", []):
        if not isinstance(ann, dict):
            raise CocoFormatError(f"{path}: annotation is not an object: {ann!r}")
        target = by_id.get(ann.get("image_id"))
        if target is None:
            raise CocoFormatError(
                f"{path}: annotation {ann.get('id')} refers to unknown image {ann.get('image_id')!r}"
            )
        target.faces.append(_face(path, ann))
    return images


def import_coco(path: str | os.PathLike) -> list[ImageLabels]:
    """Read a COCO JSON file written by :func:`export_coco` (or any single-class COCO file)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CocoFormatError(f"{path}: cannot read COCO JSON: {exc}") from exc
    return from_coco(data, str(path))

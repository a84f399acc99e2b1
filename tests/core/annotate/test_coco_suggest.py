"""COCO export/import round trip, import errors, and pre-label suggestions."""

from __future__ import annotations

import json

import pytest

from core.annotate.coco import CocoFormatError, export_coco, from_coco, import_coco
from core.annotate.faces import face_to_row
from core.annotate.split import AnnotationSplit
from core.annotate.suggest import Suggestion, suggestions_from_result
from core.types import Detection, DetectionResult
from core.wider.labels import FaceBox, ImageLabels
from tests.core.annotate.wider_fixture import make_split


def _rows(images: list[ImageLabels]) -> list[tuple[str, list]]:
    return [(im.name, [face_to_row(f) for f in im.faces]) for im in images]


def test_export_then_import_equals_the_original(tmp_path):
    label_path, images_root = make_split(tmp_path)
    split = AnnotationSplit.open_wider(label_path, images_root)
    split.images[1].faces = [FaceBox(1.5, 2.25, 3, 4)]  # a fractional box survives too
    out = export_coco(tmp_path / "out" / "coco.json", split.images, split.image_paths)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [im["width"] for im in data["images"]] == [320, 320, 300, 300]
    assert len(data["annotations"]) == 7 and data["categories"][0]["name"] == "face"
    first = data["annotations"][1]
    assert first["bbox"] == [100, 40, 30, 36] and first["area"] == 1080
    assert first["attributes"] == {
        "blur": "heavy",
        "expression": "exaggerate",
        "illumination": "normal",
        "invalid": "valid",
        "occlusion": "partial",
        "pose": "typical",
    }
    invalid = data["annotations"][5]
    assert invalid["attributes"]["invalid"] == "invalid" and invalid["iscrowd"] == 1
    assert _rows(import_coco(out)) == _rows(split.images)


def test_import_accepts_codes_and_iscrowd():
    data = {
        "images": [{"id": 7, "file_name": "a.jpg"}, {"id": 3, "file_name": "b.jpg"}],
        "annotations": [
            {"id": 1, "image_id": 3, "bbox": [1, 2, 3, 4], "attributes": {"blur": 2}, "iscrowd": 1},
            {"id": 2, "image_id": 3, "bbox": [5, 6, 7, 8]},
        ],
    }
    images = from_coco(data)
    assert [im.name for im in images] == ["a.jpg", "b.jpg"]
    assert _rows(images)[1][1] == [[1, 2, 3, 4, 2, 0, 0, 1, 0, 0], [5, 6, 7, 8, 0, 0, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"annotations": []}, "no 'images' list"),
        (
            {
                "images": [{"id": 1, "file_name": "a"}],
                "annotations": [{"id": 5, "image_id": 2, "bbox": [0, 0, 1, 1]}],
            },
            "unknown image",
        ),
        (
            {
                "images": [{"id": 1, "file_name": "a"}],
                "annotations": [{"id": 5, "image_id": 1, "bbox": [0, 1]}],
            },
            "annotation 5: bbox",
        ),
        (
            {
                "images": [{"id": 1, "file_name": "a"}],
                "annotations": [
                    {"id": 5, "image_id": 1, "bbox": [0, 0, 1, 1], "attributes": {"blur": "fuzzy"}}
                ],
            },
            "bad blur value 'fuzzy'",
        ),
    ],
)
def test_import_errors_name_the_entry(data, message):
    with pytest.raises(CocoFormatError, match=message):
        from_coco(data, "x.json")


def test_suggestions_skip_labelled_faces_and_low_scores():
    faces = [
        Detection((10, 10, 50, 60), 0.95, "medium"),  # already labelled below
        Detection((100, 100, 120, 125), 0.8, "small"),
        Detection((200, 10, 230, 40), 0.3, "small"),
    ]
    result = DetectionResult(faces, {}, "test", (320, 240))
    suggestions = suggestions_from_result(result, [FaceBox(12, 11, 38, 48)], min_score=0.5)
    assert suggestions == [Suggestion((100.0, 100.0, 120.0, 125.0), 0.8, "small")]
    face = Suggestion((100.4, 99.6, 120.2, 125.7), 0.8, "small").to_face()
    assert face_to_row(face) == [100, 100, 20, 26, 0, 0, 0, 0, 0, 0]

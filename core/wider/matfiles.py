"""The eval_tools ground truth ``.mat`` files and per-image keep lists.

``wider_face_val.mat`` holds, per event ``i`` (61 events) and image ``j``:
``event_list{i}`` (``"0--Parade"``), ``file_list{i}{j}`` (the image stem),
``face_bbx_list{i}{j}`` (``(G, 4)`` **int32** ``x y w h``) and one
``<attr>_label_list{i}{j}`` (``(G, 1)`` uint8) per attribute. The setting
files ``wider_{easy,medium,hard}_val.mat`` repeat those and add
``gt_list{i}{j}``: the 1-based indices of the faces kept in that setting.
Images without faces carry one ``[0 0 0 0]`` placeholder row.

Keep lists also come as JSON (``{"0--Parade/x.jpg": {"easy": [..], "medium": [..],
"hard": [..]}}``, 1-based, as in ../shared's ``*difficulty_keep_1based.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atomic import write_text_atomic
from core.wider.attributes import ATTRIBUTE_NAMES
from core.wider.matv5 import MatFormatError, load_mat

SETTINGS: tuple[str, ...] = ("easy", "medium", "hard")
FACE_MAT = "wider_face_val.mat"
SETTING_MAT = "wider_{}_val.mat"


@dataclass(frozen=True)
class EvalToolsGroundTruth:
    """The content of ``wider_face_val.mat`` (+ setting keep lists), flattened to images.

    events, stems: per image, in the .mat order (event by event).
    boxes: per image ``(G, 4)`` int32 ``x y w h`` (placeholder row for empty images included).
    attributes: per image ``(G, 6)`` uint8 codes in ``ATTRIBUTE_NAMES`` order.
    keep: setting -> per image int64 array of **0-based** kept face indices.
    """

    events: tuple[str, ...]
    stems: tuple[str, ...]
    boxes: tuple[np.ndarray, ...]
    attributes: tuple[np.ndarray, ...]
    keep: dict[str, tuple[np.ndarray, ...]]
    source: Path


def _cells(mat: dict, name: str, path: Path) -> np.ndarray:
    value = mat.get(name)
    if not isinstance(value, np.ndarray) or value.dtype != object:
        raise MatFormatError(path, f"variable {name!r} missing or not a cell array")
    return value.reshape(-1, order="F")


def _names(cell: object, path: Path, what: str) -> list[str]:
    if isinstance(cell, str):
        return [cell]
    if isinstance(cell, np.ndarray) and cell.dtype == object:
        out = []
        for item in cell.reshape(-1, order="F"):
            if not isinstance(item, str):
                raise MatFormatError(path, f"{what}: expected strings, got {type(item).__name__}")
            out.append(item)
        return out
    raise MatFormatError(path, f"{what}: expected a cell of strings")


def _keep_indices(cells: np.ndarray, counts: list[int], path: Path) -> tuple[np.ndarray, ...]:
    out = []
    flat = [c for event_cell in cells for c in event_cell.reshape(-1, order="F")]
    if len(flat) != len(counts):
        raise MatFormatError(path, f"gt_list has {len(flat)} images, expected {len(counts)}")
    for k, (value, count) in enumerate(zip(flat, counts, strict=True)):
        idx = np.asarray(value, dtype=np.float64).reshape(-1)
        if idx.size and (np.any(idx != np.floor(idx)) or idx.min() < 1 or idx.max() > count):
            raise MatFormatError(path, f"gt_list image #{k + 1}: indices outside 1..{count}")
        out.append(idx.astype(np.int64) - 1)
    return tuple(out)


def load_eval_tools(gt_dir: str | os.PathLike, settings: tuple[str, ...] = SETTINGS) -> EvalToolsGroundTruth:
    """Load ``wider_face_val.mat`` and the keep lists of the given settings from ``gt_dir``.

    Only the variables needed are parsed (boxes, names and attributes from
    ``wider_face_val.mat``; ``gt_list`` from each setting file). Raises
    :class:`MatFormatError` naming the file for missing or inconsistent data.
    """
    gt_dir = Path(gt_dir)
    face_path = gt_dir / FACE_MAT
    if not face_path.is_file():
        raise MatFormatError(face_path, "file not found")
    wanted = {"event_list", "file_list", "face_bbx_list"} | {f"{a}_label_list" for a in ATTRIBUTE_NAMES}
    mat = load_mat(face_path, wanted)
    event_cells = _cells(mat, "event_list", face_path)
    file_cells = _cells(mat, "file_list", face_path)
    box_cells = _cells(mat, "face_bbx_list", face_path)
    attr_cells = [_cells(mat, f"{a}_label_list", face_path) for a in ATTRIBUTE_NAMES]
    if not len(event_cells) == len(file_cells) == len(box_cells):
        raise MatFormatError(face_path, "event_list, file_list and face_bbx_list differ in length")
    events: list[str] = []
    stems: list[str] = []
    boxes: list[np.ndarray] = []
    attributes: list[np.ndarray] = []
    for i, event_cell in enumerate(event_cells):
        event = _names(event_cell, face_path, f"event_list{{{i + 1}}}")[0]
        files = _names(file_cells[i], face_path, f"file_list{{{i + 1}}}")
        event_boxes = box_cells[i].reshape(-1, order="F")
        event_attrs = [c[i].reshape(-1, order="F") for c in attr_cells]
        if len(event_boxes) != len(files) or any(len(a) != len(files) for a in event_attrs):
            raise MatFormatError(face_path, f"event {event}: lists differ in length")
        for j, stem in enumerate(files):
            box = np.asarray(event_boxes[j])
            if box.size == 0:
                box = box.reshape(0, 4)
            if box.ndim != 2 or box.shape[1] != 4:
                raise MatFormatError(
                    face_path, f"{event}/{stem}: boxes of shape {box.shape}, expected (G, 4)"
                )
            codes = (
                np.stack([np.asarray(a[j]).reshape(-1) for a in event_attrs], axis=1) if len(box) else None
            )
            if codes is None:
                codes = np.zeros((0, 6), dtype=np.uint8)
            if codes.shape[0] != box.shape[0]:
                raise MatFormatError(
                    face_path, f"{event}/{stem}: {len(box)} boxes but {len(codes)} attribute rows"
                )
            events.append(event)
            stems.append(stem)
            boxes.append(box)
            attributes.append(codes.astype(np.uint8))
    counts = [len(b) for b in boxes]
    keep: dict[str, tuple[np.ndarray, ...]] = {}
    for setting in settings:
        path = gt_dir / SETTING_MAT.format(setting)
        if not path.is_file():
            raise MatFormatError(path, f"file not found (needed for the {setting} setting)")
        setting_mat = load_mat(path, {"gt_list"})
        keep[setting] = _keep_indices(_cells(setting_mat, "gt_list", path), counts, path)
    return EvalToolsGroundTruth(tuple(events), tuple(stems), tuple(boxes), tuple(attributes), keep, face_path)


def read_keep_json(path: str | os.PathLike) -> dict[str, dict[str, list[int]]]:
    """Per-image keep lists from JSON: ``{image name: {setting: [1-based face indices]}}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read keep lists: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object of image name -> keep lists")
    out: dict[str, dict[str, list[int]]] = {}
    for name, per_setting in data.items():
        if not isinstance(per_setting, dict):
            raise ValueError(f"{path}: {name}: expected an object of setting -> indices")
        entry = {}
        for setting, indices in per_setting.items():
            if not isinstance(indices, list) or not all(isinstance(k, int) and k >= 1 for k in indices):
                raise ValueError(f"{path}: {name}/{setting}: expected a list of 1-based integers")
            entry[setting] = indices
        out[name] = entry
    return out


def write_keep_json(path: str | os.PathLike, keep: dict[str, dict[str, list[int]]]) -> Path:
    """Write keep lists in the JSON layout read by :func:`read_keep_json` (atomic)."""
    return write_text_atomic(path, json.dumps(keep, separators=(", ", ": ")), fsync=True)

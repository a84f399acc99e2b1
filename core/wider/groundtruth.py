"""Ground truth for evaluation: one columnar structure, whatever the source.

:class:`WiderGroundTruth` is built from the eval_tools ``.mat`` files (the
official source) or from a label file plus keep lists (e.g. the 416 px dev
set). Both give the same arrays, including the eval_tools quirk that an image
without faces carries one ``[0 0 0 0]`` placeholder box: the official
evaluation does evaluate such images (all their detections are false
positives), so the placeholder is kept and flagged, never counted as a face.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.wider.errors import WiderFormatError
from core.wider.gt_cache import cached_ground_truth
from core.wider.labels import LabelArrays, read_label_arrays
from core.wider.matfiles import FACE_MAT, SETTING_MAT, SETTINGS, load_eval_tools, read_keep_json
from core.wider.predictions import image_key

log = logging.getLogger(__name__)

# pseudo-setting keeping every annotated face (invalid ones included); not an official setting
ALL_FACES = "all_faces"
# array-name prefix of a setting's keep mask in :meth:`WiderGroundTruth.to_arrays`
_KEEP_PREFIX = "keep:"


@dataclass(frozen=True)
class WiderGroundTruth:
    """Faces of a split as flat arrays (``F`` rows, placeholders included).

    keys: per image ``"<event>/<stem>"``, length ``I`` (evaluation order).
    names: per image, the label-file name ``"<event>/<stem>.jpg"``.
    offsets: ``(I + 1,)``; rows of image ``i`` are ``offsets[i]:offsets[i+1]``.
    boxes: ``(F, 4)`` float64 ``x y w h`` pixels, origin top-left.
    attributes: ``(F, 6)`` uint8 codes (``ATTRIBUTE_NAMES`` order).
    placeholder: ``(F,)`` bool, the ``[0 0 0 0]`` rows of images without faces.
    keep: setting -> ``(F,)`` bool, faces kept in that setting (never placeholders).
    integer_boxes: the boxes are integers, as the int32 arrays of the eval_tools
        ``.mat`` files; the official overlap then runs in integer arithmetic.
    """

    keys: tuple[str, ...]
    names: tuple[str, ...]
    offsets: np.ndarray
    boxes: np.ndarray
    attributes: np.ndarray
    placeholder: np.ndarray
    keep: dict[str, np.ndarray]
    integer_boxes: bool
    source: str = ""
    image_of_row: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        counts = np.diff(self.offsets)
        object.__setattr__(self, "image_of_row", np.repeat(np.arange(len(self.keys)), counts))
        for setting, mask in self.keep.items():
            if mask.shape != (len(self.boxes),):
                raise ValueError(
                    f"keep mask for {setting} has shape {mask.shape}, expected ({len(self.boxes)},)"
                )
            if np.any(mask & self.placeholder):
                raise ValueError(f"keep list of {setting} selects a placeholder row")

    @property
    def num_images(self) -> int:
        return len(self.keys)

    @property
    def num_faces(self) -> int:
        """Annotated faces (placeholders excluded)."""
        return int(len(self.boxes) - self.placeholder.sum())

    @property
    def settings(self) -> tuple[str, ...]:
        return tuple(self.keep)

    def index_of(self) -> dict[str, int]:
        """``key -> image index``."""
        return {k: i for i, k in enumerate(self.keys)}

    def rows(self, image: int) -> slice:
        return slice(int(self.offsets[image]), int(self.offsets[image + 1]))

    def all_faces_mask(self) -> np.ndarray:
        """Every annotated face (a pseudo-setting ``"all_faces"``: invalid faces included)."""
        return ~self.placeholder

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fields as plain arrays (no Python objects: an ``.npz`` loads them without pickle)."""
        arrays = {
            "keys": np.array(self.keys, dtype=str),
            "names": np.array(self.names, dtype=str),
            "offsets": self.offsets,
            "boxes": self.boxes,
            "attributes": self.attributes,
            "placeholder": self.placeholder,
            "integer_boxes": np.array(self.integer_boxes),
            "source": np.array(self.source, dtype=str),
        }
        arrays.update({_KEEP_PREFIX + setting: mask for setting, mask in self.keep.items()})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> WiderGroundTruth:
        """:meth:`to_arrays` back; ``ValueError`` (or ``KeyError``) when they do not fit together."""
        keys = tuple(str(k) for k in arrays["keys"])
        offsets = np.asarray(arrays["offsets"], dtype=np.int64)
        boxes = np.asarray(arrays["boxes"], dtype=np.float64)
        rows = len(boxes)
        if (
            offsets.shape != (len(keys) + 1,)
            or offsets[0] != 0
            or offsets[-1] != rows
            or np.any(np.diff(offsets) < 0)
        ):
            raise ValueError("offsets do not index the boxes")
        names = tuple(str(n) for n in arrays["names"])
        attributes = np.asarray(arrays["attributes"], dtype=np.uint8)
        placeholder = np.asarray(arrays["placeholder"], dtype=bool)
        if (
            len(names) != len(keys)
            or boxes.shape != (rows, 4)
            or attributes.shape != (rows, 6)
            or placeholder.shape != (rows,)
        ):
            raise ValueError("names, boxes, attributes and placeholders do not fit together")
        keep = {
            n[len(_KEEP_PREFIX) :]: np.asarray(a, dtype=bool)
            for n, a in arrays.items()
            if n.startswith(_KEEP_PREFIX)
        }
        return cls(
            keys=keys,
            names=names,
            offsets=offsets,
            boxes=boxes,
            attributes=attributes,
            placeholder=placeholder,
            keep=keep,
            integer_boxes=bool(arrays["integer_boxes"]),
            source=str(arrays["source"]),
        )


def _keep_masks(
    offsets: np.ndarray, per_image: dict[str, list[np.ndarray]], total: int
) -> dict[str, np.ndarray]:
    masks = {}
    for setting, indices in per_image.items():
        mask = np.zeros(total, dtype=bool)
        flat = [idx + offsets[i] for i, idx in enumerate(indices) if len(idx)]
        if flat:
            mask[np.concatenate(flat)] = True
        masks[setting] = mask
    return masks


def from_eval_tools(gt_dir: str | os.PathLike, settings: tuple[str, ...] = SETTINGS) -> WiderGroundTruth:
    """Ground truth from the eval_tools ``.mat`` files in ``gt_dir``."""
    src = load_eval_tools(gt_dir, settings)
    counts = np.array([len(b) for b in src.boxes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    boxes = np.concatenate([b.reshape(-1, 4) for b in src.boxes]).astype(np.float64)
    attributes = np.concatenate(src.attributes).reshape(-1, 6)
    # a placeholder is the single all-zero row of an image the txt labels list with 0 faces
    placeholder = np.zeros(len(boxes), dtype=bool)
    single = np.flatnonzero(counts == 1)
    zero_rows = offsets[single][np.all(boxes[offsets[single]] == 0, axis=1)]
    placeholder[zero_rows] = True
    keep = _keep_masks(offsets, {s: list(src.keep[s]) for s in settings}, len(boxes))
    for mask in keep.values():
        placeholder &= ~mask  # a kept row is a face, whatever its box
    integer = all(b.dtype.kind in "iu" for b in src.boxes)
    return WiderGroundTruth(
        keys=tuple(f"{e}/{s}" for e, s in zip(src.events, src.stems, strict=True)),
        names=tuple(f"{e}/{s}.jpg" for e, s in zip(src.events, src.stems, strict=True)),
        offsets=offsets,
        boxes=boxes,
        attributes=attributes,
        placeholder=placeholder,
        keep=keep,
        integer_boxes=integer,
        source=str(src.source),
    )


def from_labels(
    labels: LabelArrays | str | os.PathLike,
    keep: dict[str, dict[str, list[int]]] | str | os.PathLike | None = None,
    source: str = "",
) -> WiderGroundTruth:
    """Ground truth from a label file (or its arrays) and optional keep lists.

    keep: ``{image name: {setting: [1-based indices]}}`` or the path of such a
        JSON file. Without keep lists there are no easy/medium/hard settings
        (use the ``"all_faces"`` pseudo-setting). Images absent from the keep lists
        keep no face in any setting; keep entries for unknown images are an error.
    """
    if not isinstance(labels, LabelArrays):
        source = source or str(labels)
        labels = read_label_arrays(labels)
    if not labels.names:
        # every setting would have no face and no image: not a ground truth, a wrong file
        raise WiderFormatError(source or "<labels>", None, "holds no images: this is not a ground-truth file")
    if keep is not None and not isinstance(keep, dict):
        keep = read_keep_json(keep)
    counts = labels.counts()
    empty = counts == 0
    # give empty images the eval_tools placeholder row (see module doc)
    new_counts = np.where(empty, 1, counts)
    offsets = np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int64)
    total = int(offsets[-1])
    placeholder = np.zeros(total, dtype=bool)
    placeholder[offsets[:-1][empty]] = True
    real_rows = np.flatnonzero(~placeholder)
    boxes = np.zeros((total, 4), dtype=np.float64)
    boxes[real_rows] = labels.boxes
    attributes = np.zeros((total, 6), dtype=np.uint8)
    attributes[real_rows] = labels.attributes
    keys = []
    for name in labels.names:
        event, _, base = name.replace("\\", "/").rpartition("/")
        keys.append(image_key(event, base))
    per_setting: dict[str, list[np.ndarray]] = {}
    if keep:
        by_name = {n: i for i, n in enumerate(labels.names)}
        by_key = {k: i for i, k in enumerate(keys)}
        unknown = [n for n in keep if n not in by_name and n not in by_key]
        if unknown:
            raise ValueError(f"keep lists name {len(unknown)} images not in the labels, e.g. {unknown[0]!r}")
        settings = sorted({s for entry in keep.values() for s in entry}, key=_setting_order)
        per_setting = {s: [np.zeros(0, dtype=np.int64)] * len(keys) for s in settings}
        for name, entry in keep.items():
            i = by_name.get(name, by_key.get(name))
            for setting, indices in entry.items():
                idx = np.asarray(indices, dtype=np.int64) - 1
                if idx.size and (idx.min() < 0 or idx.max() >= counts[i]):
                    raise ValueError(f"keep list {name}/{setting}: indices outside 1..{counts[i]}")
                per_setting[setting][i] = idx
    integer = bool(np.all(labels.boxes == np.round(labels.boxes)))
    return WiderGroundTruth(
        keys=tuple(keys),
        names=tuple(labels.names),
        offsets=offsets,
        boxes=boxes,
        attributes=attributes,
        placeholder=placeholder,
        keep=_keep_masks(offsets, per_setting, total),
        integer_boxes=integer,
        source=source,
    )


def _setting_order(name: str) -> tuple[int, str]:
    return (SETTINGS.index(name) if name in SETTINGS else len(SETTINGS), name)


def _eval_tools_cached(folder: Path) -> WiderGroundTruth:
    """:func:`from_eval_tools`, through the parsed-ground-truth cache (:mod:`core.wider.gt_cache`)."""
    sources = [folder / FACE_MAT] + [folder / SETTING_MAT.format(s) for s in SETTINGS]
    if not all(p.is_file() for p in sources):
        return from_eval_tools(folder)  # it names the missing file
    return cached_ground_truth(sources, lambda: from_eval_tools(folder), WiderGroundTruth.from_arrays)


def load_ground_truth(path: str | os.PathLike) -> WiderGroundTruth:
    """Ground truth from a path, whichever form it takes.

    - a folder holding ``wider_face_val.mat`` (eval_tools ``ground_truth/``), or
      one of those ``.mat`` files: the official source;
    - a folder holding ``*_bbx_gt.txt`` (+ optionally a ``*keep*.json``), or a
      label ``.txt`` file (keep lists looked up beside it).
    A folder with both prefers the ``.mat`` files.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".mat":
        path = path.parent
    if path.is_dir():
        for folder in (path, path / "eval_tools_ground_truth", path / "ground_truth"):
            if (folder / FACE_MAT).is_file():
                return _eval_tools_cached(folder)
        labels = sorted(path.glob("*_bbx_gt.txt"))
        if not labels:
            raise FileNotFoundError(f"{path}: no {FACE_MAT} and no *_bbx_gt.txt label file")
        path = labels[0]
    if not path.exists():
        raise FileNotFoundError(f"ground truth not found: {path}")
    keep_files = sorted(path.parent.glob("*keep*.json"))
    keep = keep_files[0] if keep_files else None
    if keep is None:
        log.warning(
            "%s: no keep lists (*keep*.json) beside the labels; only the 'all_faces' pseudo-setting", path
        )
    return from_labels(path, keep, source=str(path))

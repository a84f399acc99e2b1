"""An index over a WIDER FACE split: images on disk + their labels.

Layout (as distributed)::

    <root>/WIDER_val/images/<event>/<name>.jpg
    <root>/wider_face_split/wider_face_val_bbx_gt.txt

or any ``images/`` folder with a label file whose names are relative to it
(``WiderDataset.open(labels, images_dir)``). Opening reads only the label file
(columnar, no per-face objects, no image decoded, no file stat'ed): the full
val split (3226 images, 39,704 faces) opens in well under a second. Images
are decoded on demand through :func:`core.io.imageio.load_image`.

Filtering (``select``) returns a new index sharing the arrays: by event, by
attribute codes and by face height, keeping only images with at least one
selected face unless asked otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.io.imageio import load_image
from core.wider.attributes import ATTRIBUTE_NAMES, ATTRIBUTES
from core.wider.labels import ImageLabels, LabelArrays, read_label_arrays
from core.wider.locate import locate_split

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class WiderSample:
    """One image of the index with its selected faces.

    boxes: ``(G, 4)`` float64 ``x y w h`` pixels (top-left origin).
    attributes: ``(G, 6)`` uint8 codes in ``ATTRIBUTE_NAMES`` order.
    face_indices: positions of these faces in the image's label block (0-based).
    """

    index: int
    name: str
    event: str
    path: Path
    boxes: np.ndarray
    attributes: np.ndarray
    face_indices: np.ndarray

    @property
    def boxes_xyxy(self) -> np.ndarray:
        """``(G, 4)`` ``x1 y1 x2 y2`` (FaceScope's box convention)."""
        return np.concatenate([self.boxes[:, :2], self.boxes[:, :2] + self.boxes[:, 2:]], axis=1)

    def load_image(self, max_side: int | None = None) -> np.ndarray:
        """RGB uint8 ``(H, W, 3)`` (raises :class:`core.io.imageio.ImageLoadError`)."""
        return load_image(self.path, max_side=max_side)


class WiderDataset:
    """Index of a split. ``len(ds)`` images; ``ds[i]`` is a :class:`WiderSample` (no decoding)."""

    def __init__(
        self,
        labels: LabelArrays,
        images_dir: str | os.PathLike,
        image_ids: np.ndarray | None = None,
        face_mask: np.ndarray | None = None,
    ):
        self.labels = labels
        self.images_dir = Path(images_dir)
        self._ids = (
            np.arange(labels.num_images) if image_ids is None else np.asarray(image_ids, dtype=np.int64)
        )
        self._mask = np.ones(labels.num_faces, dtype=bool) if face_mask is None else face_mask
        self._events = np.array([n.replace("\\", "/").rpartition("/")[0] for n in labels.names], dtype=object)
        self._face_image = np.repeat(np.arange(labels.num_images), labels.counts())

    def _faces_per_image(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self._face_image, weights=mask, minlength=self.labels.num_images).astype(np.int64)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def open(
        cls, labels_path: str | os.PathLike, images_dir: str | os.PathLike | None = None
    ) -> WiderDataset:
        """Index a label file; ``images_dir`` defaults to ``images/`` beside it."""
        labels_path = Path(labels_path)
        images = Path(images_dir) if images_dir is not None else labels_path.parent / "images"
        return cls(read_label_arrays(labels_path), images)

    @classmethod
    def from_root(cls, root: str | os.PathLike, split: str = "val") -> WiderDataset:
        """A named split of a WIDER folder, found as the CLI and the Training panel find it
        (:func:`core.wider.locate.locate_split`: the official layout or a copied split)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        location = locate_split(root, split)
        return cls(read_label_arrays(location.labels), location.images_dir)

    # -- access -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[WiderSample]:
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i: int) -> WiderSample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        image_id = int(self._ids[i])
        lo, hi = int(self.labels.offsets[image_id]), int(self.labels.offsets[image_id + 1])
        local = np.flatnonzero(self._mask[lo:hi])
        name = self.labels.names[image_id]
        return WiderSample(
            index=image_id,
            name=name,
            event=str(self._events[image_id]),
            path=self.images_dir / name,
            boxes=self.labels.boxes[lo:hi][local],
            attributes=self.labels.attributes[lo:hi][local],
            face_indices=local,
        )

    def load_image(self, i: int, max_side: int | None = None) -> np.ndarray:
        return self[i].load_image(max_side=max_side)

    def image_labels(self, i: int) -> ImageLabels:
        """The image's full label block as editable objects (all faces, not only selected ones)."""
        image_id = int(self._ids[i])
        lo, hi = int(self.labels.offsets[image_id]), int(self.labels.offsets[image_id + 1])
        sub = LabelArrays(
            (self.labels.names[image_id],),
            np.array([0, hi - lo]),
            self.labels.boxes[lo:hi],
            self.labels.attributes[lo:hi],
        )
        return sub.to_images()[0]

    @property
    def events(self) -> list[str]:
        """Events present in this index, in first-appearance order."""
        seen: dict[str, None] = {}
        for e in self._events[self._ids]:
            seen.setdefault(str(e), None)
        return list(seen)

    @property
    def num_faces(self) -> int:
        """Selected faces in the indexed images."""
        return int(self._faces_per_image(self._mask)[self._ids].sum())

    def missing_images(self) -> list[Path]:
        """Indexed images absent on disk (stats every file: use on demand)."""
        return [
            self.images_dir / self.labels.names[i]
            for i in self._ids
            if not (self.images_dir / self.labels.names[i]).is_file()
        ]

    # -- filtering --------------------------------------------------------------------
    def select(
        self,
        events: Iterable[str] | None = None,
        attributes: Mapping[str, int | Iterable[int]] | None = None,
        min_height: float | None = None,
        max_height: float | None = None,
        keep_empty: bool = False,
    ) -> WiderDataset:
        """A filtered view.

        events: keep images of these events (``"0--Parade"``).
        attributes: ``{"blur": 2}`` or ``{"occlusion": [1, 2], "pose": Pose.ATYPICAL}``: keep faces
            whose code is among the given ones (all conditions must hold).
        min_height, max_height: keep faces with ``min_height <= h < max_height`` (pixels).
        keep_empty: keep images left with no selected face (default: drop them).
        """
        mask = self._mask.copy()
        codes = self.labels.attributes
        for name, wanted in (attributes or {}).items():
            if name not in ATTRIBUTES:
                raise ValueError(f"unknown attribute {name!r}; expected one of {ATTRIBUTE_NAMES}")
            values = [int(wanted)] if isinstance(wanted, int) else [int(v) for v in wanted]
            mask &= np.isin(codes[:, ATTRIBUTE_NAMES.index(name)], values)
        height = self.labels.boxes[:, 3]
        if min_height is not None:
            mask &= height >= min_height
        if max_height is not None:
            mask &= height < max_height
        ids = self._ids
        if events is not None:
            wanted_events = set(events)
            ids = ids[np.isin(self._events[ids], list(wanted_events))]
        filtering_faces = attributes or min_height is not None or max_height is not None
        if filtering_faces and not keep_empty:
            ids = ids[self._faces_per_image(mask)[ids] > 0]
        return WiderDataset(self.labels, self.images_dir, ids, mask)

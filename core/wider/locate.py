"""Find a WIDER FACE split in a folder the user points at: which label file, which images.

One resolution for the CLI (``train scaleface --data DIR``) and the Training
panel, so both accept the same folders and say the same thing when nothing fits.

``split`` is ``"auto"`` (train if present, else val), a split name (``"train"``,
``"val"``, ``"test"``) or the path of a label file (relative paths are taken
inside ``data``). For a split name, a folder is searched in this order:

* ``<data>/wider_face_<split>_bbx_gt.txt`` with ``<data>/images`` (a copied split);
* ``<data>/wider_face_split/wider_face_<split>_bbx_gt.txt`` with
  ``<data>/WIDER_<split>/images`` (the layout as distributed).

With ``"auto"`` and neither split present, a single ``*_bbx_gt.txt`` in the
folder is used. ``data`` may also be a label file itself. A label file's images
are ``images/`` beside it, or ``WIDER_<split>/images`` for an official
``wider_face_split/`` file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError
from core.wider.labels import read_label_arrays

AUTO = "auto"
SPLIT_NAMES = ("train", "val", "test")
AUTO_ORDER = ("train", "val")
_OFFICIAL_NAME = re.compile(r"^wider_face_(train|val|test)_bbx_gt\.txt$")
_FOUND_SHOWN = 6  # folder entries named in a "not found" message


class SplitNotFoundError(UserError, FileNotFoundError):
    """No usable WIDER split where the user pointed; the message says what was looked for and found."""


@dataclass(frozen=True)
class SplitLocation:
    """A split on disk. split: ``"train"``/``"val"``/``"test"``, or ``"custom"`` for another label file."""

    split: str
    labels: Path
    images_dir: Path


@dataclass(frozen=True)
class SplitPlan:
    """What training on a split would read: its location and its size (from the label file only)."""

    location: SplitLocation
    num_images: int
    num_faces: int

    def describe(self) -> str:
        name = "custom label file" if self.location.split == "custom" else f"{self.location.split} split"
        return f"WIDER {name}: {self.num_images:,} images, {self.num_faces:,} faces ({self.location.labels.name})"


def split_of_label_file(labels: Path) -> str:
    match = _OFFICIAL_NAME.match(labels.name)
    return match.group(1) if match else "custom"


def images_beside(labels: Path) -> Path:
    """The images folder of a label file (see the module doc)."""
    split = split_of_label_file(labels)
    if labels.parent.name == "wider_face_split" and split != "custom":
        return labels.parent.parent / f"WIDER_{split}" / "images"
    return labels.parent / "images"


def _candidates(data: Path, split: str) -> list[tuple[Path, Path]]:
    name = f"wider_face_{split}_bbx_gt.txt"
    return [
        (data / name, data / "images"),
        (data / "wider_face_split" / name, data / f"WIDER_{split}" / "images"),
    ]


def _found_text(data: Path) -> str:
    if not data.exists():
        return "the path does not exist"
    if not data.is_dir():
        return "it is not a folder"
    names = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in data.iterdir())
    if not names:
        return "the folder is empty"
    shown = ", ".join(names[:_FOUND_SHOWN])
    more = f" and {len(names) - _FOUND_SHOWN} more" if len(names) > _FOUND_SHOWN else ""
    return f"found {shown}{more}"


def _with_images(location: SplitLocation) -> SplitLocation:
    if not location.images_dir.is_dir():
        raise SplitNotFoundError(
            f"Found WIDER labels {location.labels}, but no images folder at {location.images_dir}."
        )
    return location


def _label_file(data: Path, split: str) -> SplitLocation:
    labels = Path(split).expanduser()
    if not labels.is_absolute():
        labels = data / labels
    if not labels.is_file():
        raise SplitNotFoundError(f"The label file {labels} does not exist.")
    return _with_images(SplitLocation(split_of_label_file(labels), labels, images_beside(labels)))


def _named_split(data: Path, split: str) -> SplitLocation | None:
    for labels, images in _candidates(data, split):
        if labels.is_file():
            return _with_images(SplitLocation(split, labels, images))
    return None


def _expected(splits: tuple[str, ...]) -> str:
    names = splits[0] if len(splits) == 1 else "{" + ",".join(splits) + "}"
    return f"wider_face_split/wider_face_{names}_bbx_gt.txt or wider_face_{names}_bbx_gt.txt"


def locate_split(data: str | os.PathLike, split: str = AUTO) -> SplitLocation:
    """The split to read in ``data`` (see the module doc); raises :class:`SplitNotFoundError`."""
    data = Path(data).expanduser()
    split = (split or AUTO).strip()
    if data.is_file():
        return _with_images(SplitLocation(split_of_label_file(data), data, images_beside(data)))
    if split not in (AUTO, *SPLIT_NAMES):
        return _label_file(data, split)
    if not data.is_dir():
        raise SplitNotFoundError(f"No WIDER data at {data}: the path does not exist.")
    wanted = AUTO_ORDER if split == AUTO else (split,)
    for name in wanted:
        location = _named_split(data, name)
        if location is not None:
            return location
    if split == AUTO:
        others = sorted(data.glob("*_bbx_gt.txt"))
        if len(others) == 1:
            return _with_images(SplitLocation("custom", others[0], data / "images"))
        if others:
            listed = ", ".join(p.name for p in others)
            raise SplitNotFoundError(f"Several label files in {data} ({listed}): choose one as the split.")
    raise SplitNotFoundError(
        f"No WIDER {'labels' if split == AUTO else split + ' split'} in {data}: expected "
        f"{_expected(wanted)} or a label .txt file; {_found_text(data)}."
    )


def plan_split(data: str | os.PathLike, split: str = AUTO) -> SplitPlan:
    """Locate the split and count its images and faces (reads the label file, decodes no image)."""
    location = locate_split(data, split)
    labels = read_label_arrays(location.labels)
    return SplitPlan(location, labels.num_images, labels.num_faces)

"""CelebA in its official layout: the 40-attribute file, the partition file, the image folder.

``list_attr_celeba.txt``::

    202599                                   <- line 1: number of rows
    5_o_Clock_Shadow Arched_Eyebrows ...     <- line 2: the 40 attribute names
    000001.jpg -1  1  1 -1 ...               <- one row per image: file name + ±1 per attribute

``list_eval_partition.txt`` (optional): ``000001.jpg 0`` rows, 0 = train,
1 = val, 2 = test. Images live in ``images/`` or ``img_align_celeba/`` under
the root (the first that exists).

Anything malformed (a bad count line, a row with the wrong number of values,
a value other than ``1``/``-1``, a duplicated name, a count that does not
match the rows) raises :class:`CelebAFormatError`, which names the file and
the 1-based line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import FormatError

#: The 40 CelebA attributes in the official file order.
CELEBA_ATTRIBUTES: tuple[str, ...] = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young",
)  # fmt: skip

ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
IMAGE_DIRS = ("images", "img_align_celeba")
PARTITION_NAMES = {0: "train", 1: "val", 2: "test"}


class CelebAFormatError(FormatError, ValueError):
    """A CelebA file is malformed. ``path`` and ``line`` (1-based, 0 = whole file) say where."""

    def __init__(self, path: str | os.PathLike, line: int, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class AttributeTable:
    """Attribute rows of N images.

    names: the A attribute names (file order). images: the N file names.
    labels: ``(N, A)`` bool, True where the file says ``1``.
    """

    names: tuple[str, ...]
    images: tuple[str, ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def image_ids(self) -> np.ndarray:
        """``(N,)`` int64 numeric ids from the file stems (``000123.jpg`` -> 123; -1 when not numeric)."""
        return np.array(
            [int(s) if (s := Path(n).stem).isdigit() else -1 for n in self.images], dtype=np.int64
        )

    def take(self, indices: Sequence[int] | np.ndarray) -> AttributeTable:
        """The rows at ``indices`` (order kept)."""
        idx = np.asarray(indices, dtype=np.int64)
        return AttributeTable(self.names, tuple(self.images[i] for i in idx), self.labels[idx])

    def id_range(self, first: int, last: int) -> AttributeTable:
        """Rows whose numeric id is in ``[first, last]`` (CelebA's 1-based image numbers)."""
        ids = self.image_ids()
        return self.take(np.flatnonzero((ids >= first) & (ids <= last)))

    def positive_rate(self) -> np.ndarray:
        """``(A,)`` float64 fraction of rows with the attribute (NaN for an empty table)."""
        if len(self) == 0:
            return np.full(len(self.names), np.nan)
        return self.labels.mean(axis=0, dtype=np.float64)


def parse_attr_text(text: str, path: str | os.PathLike = "<text>") -> AttributeTable:
    """Parse the content of ``list_attr_celeba.txt`` (see module docstring)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines are harmless
    if not lines:
        raise CelebAFormatError(path, 0, "empty file (expected a count line and a header)")
    count_text = lines[0].strip()
    if not count_text.isdigit():
        raise CelebAFormatError(path, 1, f"expected the number of rows, got {lines[0][:40]!r}")
    count = int(count_text)
    if len(lines) < 2:
        raise CelebAFormatError(path, 2, "missing the header line of attribute names")
    names = tuple(lines[1].split())
    if not names:
        raise CelebAFormatError(path, 2, "empty header line (expected attribute names)")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise CelebAFormatError(path, 2, f"attribute {dup!r} appears twice in the header")
    width = len(names) + 1
    images: list[str] = []
    values: list[list[str]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if len(parts) != width:
            what = "an empty line" if not parts else f"{len(parts) - 1} values"
            raise CelebAFormatError(
                path, number, f"expected an image name and {len(names)} values, got {what}"
            )
        name = parts[0]
        if name in seen:
            raise CelebAFormatError(path, number, f"{name} already listed on line {seen[name]}")
        seen[name] = number
        images.append(name)
        values.append(parts[1:])
    arr = np.array(values, dtype=str).reshape(len(values), len(names))
    positive, negative = arr == "1", arr == "-1"
    bad = ~(positive | negative)
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise CelebAFormatError(
            path, row + 3, f"{names[col]} of {images[row]} is {str(arr[row, col])!r} (expected 1 or -1)"
        )
    if count != len(images):
        raise CelebAFormatError(path, 1, f"the count line says {count} rows but the file has {len(images)}")
    return AttributeTable(names, tuple(images), positive)


def read_attr_file(path: str | os.PathLike) -> AttributeTable:
    """Read ``list_attr_celeba.txt``; :class:`CelebAFormatError` when malformed, ``OSError`` when unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CelebAFormatError(path, 0, f"not UTF-8 text ({exc.reason})") from None
    return parse_attr_text(text, path)


def read_partition(path: str | os.PathLike) -> dict[str, int]:
    """``list_eval_partition.txt`` -> ``{image name: 0 train | 1 val | 2 test}``."""
    out: dict[str, int] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise CelebAFormatError(path, number, f"expected '<image> 0|1|2', got {line[:60]!r}")
        if parts[0] in out:
            raise CelebAFormatError(path, number, f"{parts[0]} listed twice")
        out[parts[0]] = int(parts[1])
    return out


def parse_range(text: str) -> tuple[int, int]:
    """``"1-7000"`` -> ``(1, 7000)`` (inclusive CelebA image numbers); ``ValueError`` when malformed."""
    first, sep, last = text.strip().partition("-")
    if not sep or not first.strip().isdigit() or not last.strip().isdigit():
        raise ValueError(f"expected an image number range like 1-7000, got {text!r}")
    lo, hi = int(first), int(last)
    if lo < 1 or hi < lo:
        raise ValueError(f"empty or invalid range {text!r}")
    return lo, hi


@dataclass(frozen=True)
class CelebA:
    """A CelebA root: its attribute table, image folder and optional partition."""

    root: Path
    images_dir: Path
    table: AttributeTable
    partition: dict[str, int] | None = None

    @classmethod
    def open(cls, root: str | os.PathLike) -> CelebA:
        """Open ``root`` (must hold ``list_attr_celeba.txt`` and ``images/`` or ``img_align_celeba/``)."""
        base = Path(root)
        attr = base / ATTR_FILE
        if not attr.is_file():
            raise FileNotFoundError(f"{base}: no {ATTR_FILE}")
        images_dir = next((base / d for d in IMAGE_DIRS if (base / d).is_dir()), None)
        if images_dir is None:
            raise FileNotFoundError(f"{base}: no image folder ({' or '.join(IMAGE_DIRS)})")
        part_file = base / PARTITION_FILE
        partition = read_partition(part_file) if part_file.is_file() else None
        return cls(base, images_dir, read_attr_file(attr), partition)

    def image_path(self, name: str) -> Path:
        return self.images_dir / name

    def select(
        self, id_range: str | tuple[int, int] | None = None, partition: str | None = None
    ) -> AttributeTable:
        """Rows in an image-number range (``"7001-8000"``) and/or an official partition (``"val"``)."""
        table = self.table
        if id_range is not None:
            lo, hi = parse_range(id_range) if isinstance(id_range, str) else id_range
            table = table.id_range(lo, hi)
        if partition is not None:
            if self.partition is None:
                raise FileNotFoundError(f"{self.root}: no {PARTITION_FILE} to select {partition!r}")
            code = {v: k for k, v in PARTITION_NAMES.items()}.get(partition)
            if code is None:
                raise ValueError(f"unknown partition {partition!r}; use train, val or test")
            keep = [i for i, n in enumerate(table.images) if self.partition.get(n) == code]
            table = table.take(keep)
        return table

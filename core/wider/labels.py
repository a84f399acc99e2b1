"""WIDER FACE label files: ``wider_face_{train,val}_bbx_gt.txt``.

Layout (one block per image, in file order)::

    0--Parade/0_Parade_marchingband_1_465.jpg      <- image path under images/
    126                                            <- number of faces
    345 211 4 4 2 0 0 0 2 0                        <- x y w h blur expression illumination invalid occlusion pose
    ...

Boxes are ``x y w h`` in original-image pixels, origin top-left (the WIDER
convention; FaceScope's detections use ``x1 y1 x2 y2``, see
:attr:`FaceBox.xyxy`). An image with no face has count ``0`` followed by one
dummy row of zeros; it is read as an empty face list and written back the
same way. The official file ends every face row with a space; the writer
does too, so reading then writing the official file is byte-identical.

Every problem is a :class:`WiderFormatError` naming the file and the 1-based
line: wrong counts, non-numeric or missing fields, a truncated file, attribute
codes out of range. Nothing is silently dropped or repaired.

Two views of the same data: :func:`read_labels` gives an editable list of
:class:`ImageLabels` (what the annotation editor works on) and
:func:`read_label_arrays` gives columnar NumPy arrays (what the dataset index
and the evaluation use; no per-face Python objects).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from core.atomic import write_text_atomic
from core.io.bounded import MIB, InputFileError, read_bytes_bounded
from core.wider._facelines import (
    _check_face_line,
    _detect_decimals,
    _is_face_like,
    _parse_face_block,
)
from core.wider.attributes import (
    ATTRIBUTE_NAMES,
    ATTRIBUTES,
    MAX_CODES,
    Blur,
    Expression,
    Illumination,
    Invalid,
    Occlusion,
    Pose,
)
from core.wider.errors import WiderFormatError
from core.wider.predictions import image_key

log = logging.getLogger(__name__)

# the official train labels are 3.6 MB; a label file 100x larger is not one
LABEL_FILE_LIMIT = 512 * MIB
DUMMY_ROW = "0 0 0 0 0 0 0 0 0 0 "

# code -> enum member, per column (indexing a list is ~50x faster than Enum(code))
_MEMBERS: tuple[tuple, ...] = tuple(tuple(enum) for enum in ATTRIBUTES.values())


@dataclass(slots=True)
class FaceBox:
    """One annotated face: ``x y w h`` (top-left corner, size) in pixels + six attributes."""

    x: float
    y: float
    w: float
    h: float
    blur: Blur = Blur.CLEAR
    expression: Expression = Expression.TYPICAL
    illumination: Illumination = Illumination.NORMAL
    invalid: Invalid = Invalid.VALID
    occlusion: Occlusion = Occlusion.NONE
    pose: Pose = Pose.TYPICAL

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        """``(x1, y1, x2, y2)`` with ``x2 = x + w`` (FaceScope's box convention)."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)

    @property
    def attribute_codes(self) -> tuple[int, int, int, int, int, int]:
        return (
            int(self.blur),
            int(self.expression),
            int(self.illumination),
            int(self.invalid),
            int(self.occlusion),
            int(self.pose),
        )


@dataclass(slots=True)
class ImageLabels:
    """The faces of one image. ``name`` is the path under ``images/`` as written in the file."""

    name: str
    faces: list[FaceBox] = field(default_factory=list)

    @property
    def event(self) -> str:
        """``"0--Parade"`` for ``"0--Parade/0_Parade_x.jpg"`` (empty when the name has no folder)."""
        head, sep, _ = self.name.replace("\\", "/").rpartition("/")
        return head if sep else ""

    @property
    def key(self) -> str:
        """``"<event>/<stem>"``, the key shared with predictions and results."""
        return image_key(self.event, self.name)


@dataclass(frozen=True)
class LabelArrays:
    """Columnar labels of a split (no per-face objects).

    names: image names in file order, length ``I``.
    offsets: ``(I + 1,)`` int64; faces of image ``i`` are rows ``offsets[i]:offsets[i+1]``.
    boxes: ``(F, 4)`` float64 ``x y w h`` pixels.
    attributes: ``(F, 6)`` uint8 codes in :data:`ATTRIBUTE_NAMES` order.
    decimals: the fixed number of decimals the file writes box values with
        (``"%.2f"`` files give 2), or ``None`` for the official style (integers,
        shortest form otherwise); pass it back to :func:`format_labels`.
    """

    names: tuple[str, ...]
    offsets: np.ndarray
    boxes: np.ndarray
    attributes: np.ndarray
    decimals: int | None = None

    @property
    def num_images(self) -> int:
        return len(self.names)

    @property
    def num_faces(self) -> int:
        return int(self.boxes.shape[0])

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def to_images(self) -> list[ImageLabels]:
        """Editable objects (one :class:`FaceBox` per face)."""
        images = []
        boxes = self.boxes.tolist()
        codes = self.attributes.tolist()
        b, e, i, v, o, p = _MEMBERS
        for idx, name in enumerate(self.names):
            lo, hi = int(self.offsets[idx]), int(self.offsets[idx + 1])
            faces = [
                FaceBox(*boxes[k], b[c[0]], e[c[1]], i[c[2]], v[c[3]], o[c[4]], p[c[5]])
                for k, c in zip(range(lo, hi), codes[lo:hi], strict=True)
            ]
            images.append(ImageLabels(name, faces))
        return images

    @classmethod
    def from_images(cls, images: Sequence[ImageLabels]) -> LabelArrays:
        counts = np.fromiter((len(im.faces) for im in images), dtype=np.int64, count=len(images))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        faces = [f for im in images for f in im.faces]
        boxes = np.array([(f.x, f.y, f.w, f.h) for f in faces], dtype=np.float64).reshape(-1, 4)
        attrs = np.array([f.attribute_codes for f in faces], dtype=np.uint8).reshape(-1, 6)
        return cls(tuple(im.name for im in images), offsets, boxes, attrs)


def _walk(path: str, lines: list[str], names: list[str], counts: list[int], starts: list[int]) -> None:
    """Walk the name/count structure, appending to the lists (face lines are checked later, in bulk)."""
    n = len(lines)
    i = 0
    while i < n:
        line = lines[i]
        if not line.strip():
            if all(not rest.strip() for rest in lines[i:]):
                return  # trailing blank lines
            raise WiderFormatError(path, i + 1, "blank line where an image name was expected")
        if _is_face_like(line):
            hint = f" (the count on line {i - counts[-1]} may be too small)" if counts else ""
            raise WiderFormatError(
                path, i + 1, f"expected an image name, found numbers {line.strip()!r}{hint}"
            )
        name = line.strip()
        _check_image_name(path, i + 1, name)
        if i + 1 >= n:
            raise WiderFormatError(path, i + 2, f"truncated file: no face count after {name!r}")
        count_text = lines[i + 1].strip()
        if not count_text.isdigit():
            raise WiderFormatError(
                path, i + 2, f"face count must be a non-negative integer, got {count_text!r}"
            )
        count = int(count_text)
        i += 2
        if count == 0 and i < n and _is_face_like(lines[i]):
            # the official files put one dummy row after a 0 count; its absence is tolerated
            _check_face_line(path, i + 1, lines[i])
            if any(float(t) != 0 for t in lines[i].split()):
                raise WiderFormatError(
                    path, i + 1, f"count on line {i - 1} is 0 but a non-zero face line follows"
                )
            i += 1
        names.append(name)
        counts.append(min(count, n - i))
        starts.append(i)
        if i + count > n:
            raise WiderFormatError(
                path, n + 1, f"truncated file: {name!r} announces {count} faces, only {n - i} lines follow"
            )
        i += count


def _check_image_name(path: str, lineno: int, name: str) -> None:
    """Image names are relative paths inside the images folder; one that climbs out is refused."""
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive:
        raise WiderFormatError(
            path, lineno, f"image name {name!r} is an absolute path; expected event/name.jpg"
        )
    if ".." in posix.parts or ".." in windows.parts:
        raise WiderFormatError(path, lineno, f"image name {name!r} climbs out of the images folder ('..')")


def _warn_degenerate_boxes(path: str, boxes: np.ndarray, face_line_idx: np.ndarray) -> None:
    # The official val labels hold a few zero- or negative-size boxes, so they are read
    # (the evaluation can never match them) but named, since they are usually typos.
    degenerate = np.flatnonzero((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))
    if degenerate.size:
        first = int(face_line_idx[degenerate[0]]) + 1
        log.warning(
            "%s:%d: %d face(s) with zero or negative width or height (they can never be matched)",
            path,
            first,
            degenerate.size,
        )


def _face_line_index(counts: list[int], starts: list[int]) -> np.ndarray:
    ranges = [np.arange(s, s + c, dtype=np.int64) for s, c in zip(starts, counts, strict=True) if c]
    return np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)


def parse_label_arrays(text: str, path: str | os.PathLike = "<memory>") -> LabelArrays:
    """Parse label text into :class:`LabelArrays`; raise :class:`WiderFormatError` on any problem.

    When several things are wrong, the error names the first bad line.
    """
    path = str(path)
    lines = text.removeprefix("\ufeff").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    names: list[str] = []
    counts: list[int] = []
    starts: list[int] = []  # 0-based line index of each image's first face line
    try:
        _walk(path, lines, names, counts, starts)
    except WiderFormatError as err:
        # a face line before the structural error may be the real culprit (e.g. a
        # name read as a face because a count is too large): report the earliest
        idx = _face_line_index(counts, starts)
        idx = idx[idx < (err.line or len(lines) + 1) - 1]
        _parse_face_block(path, [lines[k] for k in idx.tolist()], idx)
        raise
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    face_line_idx = _face_line_index(counts, starts)
    face_lines = [lines[k] for k in face_line_idx.tolist()]
    values = _parse_face_block(path, face_lines, face_line_idx)
    _warn_degenerate_boxes(path, values[:, :4], face_line_idx)
    decimals = _detect_decimals(face_lines)
    return LabelArrays(tuple(names), offsets, values[:, :4].copy(), values[:, 4:].astype(np.uint8), decimals)


def _read_text(path: Path, max_bytes: int = LABEL_FILE_LIMIT) -> str:
    try:
        raw = read_bytes_bounded(path, max_bytes, what="label file")
    except InputFileError as exc:
        raise WiderFormatError(path, None, exc.reason) from None
    except OSError as exc:
        raise WiderFormatError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        # utf-8-sig: a byte-order mark (Windows editors add one) must not become part of the first name
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise WiderFormatError(path, line, "not UTF-8 text") from None


def read_label_arrays(path: str | os.PathLike) -> LabelArrays:
    """Read a label file as columnar arrays (fast: no per-face objects)."""
    path = Path(path)
    return parse_label_arrays(_read_text(path), path)


def read_labels(path: str | os.PathLike) -> list[ImageLabels]:
    """Read a label file as an editable, ordered list of :class:`ImageLabels`."""
    return read_label_arrays(path).to_images()


def parse_labels(text: str, path: str | os.PathLike = "<memory>") -> list[ImageLabels]:
    return parse_label_arrays(text, path).to_images()


def _num(value: float, decimals: int | None = None) -> str:
    # official style: integral values as integers ("345"), others in their
    # shortest exact form ("327.44"); or a fixed number of decimals
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"box value {value} is not finite")
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if value.is_integer():
        return str(int(value))
    return repr(value)


def format_labels(images: Iterable[ImageLabels], decimals: int | None = None) -> str:
    """The official text of a split (trailing space on face rows, dummy row for empty images).

    decimals: ``None`` writes box values in the official style (``345``,
    ``327.44``); an integer writes them all with that many decimals.
    """
    out: list[str] = []
    for image in images:
        if not image.name or "\n" in image.name or _is_face_like(image.name):
            raise ValueError(f"invalid image name {image.name!r}")
        out.append(image.name)
        out.append(str(len(image.faces)))
        if not image.faces:
            out.append(DUMMY_ROW)
        for f in image.faces:
            codes = f.attribute_codes
            for col, code in enumerate(codes):
                if not 0 <= code <= MAX_CODES[col]:
                    raise ValueError(f"{image.name}: bad {ATTRIBUTE_NAMES[col]} code {code}")
            box = " ".join(_num(v, decimals) for v in (f.x, f.y, f.w, f.h))
            out.append(f"{box} " + " ".join(map(str, codes)) + " ")
    return "\n".join(out) + "\n" if out else ""


def write_labels(path: str | os.PathLike, images: Iterable[ImageLabels], decimals: int | None = None) -> Path:
    """Write a split atomically (temporary file + fsync + ``os.replace``); see :func:`format_labels`."""
    text = format_labels(images, decimals)
    target = write_text_atomic(path, text, fsync=True)
    log.info("wrote %s", target)
    return target

"""WIDER FACE prediction files: the official submission layout.

A submission is a folder ``<out_dir>/<event>/<stem>.txt`` with one file per
image::

    0_Parade_marchingband_1_465          <- image name (informative only)
    3                                    <- number of rows
    345.0 211.0 4.0 4.0 0.91             <- x y w h score, pixels, origin top-left
    ...

Boxes are ``x y w h`` (top-left corner, width, height) in original-image
pixels, as in the WIDER label files; FaceScope's own
:class:`core.types.Detection` uses ``x1 y1 x2 y2`` (convert with
:func:`rows_from_xyxy`). The image is identified by the *file name*, not by
the first line (that is what the official ``read_pred.m`` does).

Reading follows the official reader's tolerance (0-byte file = no detections,
trailing spaces and trailing blank lines are fine, extra numbers after the
score are ignored, commas count as separators) but a malformed file is, by
default, a :class:`PredictionFormatError` naming the file and the line.
``on_error="official"`` reproduces ``read_pred.m`` instead: that image gets no
detections (the official tool catches the error and moves on) and the problem
is recorded in :attr:`Submission.dropped`, never silently.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from core.atomic import write_text_atomic
from core.io.bounded import MIB, InputFileError, read_bytes_bounded
from core.wider.errors import LocatedFormatError

log = logging.getLogger(__name__)

OnError = Literal["raise", "official"]

_SPLIT = re.compile(r"[\s,]+")
# One image's detections: 8 MiB is ~200,000 rows, far more than any detector keeps per image.
PREDICTION_FILE_LIMIT = 8 * MIB


class PredictionFormatError(LocatedFormatError):
    """A prediction file is malformed."""


def image_stem(image_name: str) -> str:
    """``"0--Parade/0_Parade_x_1.jpg"`` -> ``"0_Parade_x_1"`` (basename, no suffix)."""
    base = image_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    # only strip a real image suffix: stems themselves contain no dot in WIDER,
    # but a user's name might ("img.v2") and must then be kept whole.
    if dot and suffix.lower() in {"jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"}:
        return stem
    return base


def image_key(event: str, image_name: str) -> str:
    """The key FaceScope uses for an image across labels, predictions, results: ``"<event>/<stem>"``."""
    return f"{event}/{image_stem(image_name)}"


def prediction_path(out_dir: str | os.PathLike, event: str, image_name: str) -> Path:
    """``<out_dir>/<event>/<stem>.txt`` for an image (``image_name`` may carry a folder and suffix)."""
    return Path(out_dir) / event / f"{image_stem(image_name)}.txt"


def rows_from_xyxy(boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``(N,4)`` x1 y1 x2 y2 boxes + ``(N,)`` scores -> ``(N,5)`` x y w h score rows (float64)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    rows = np.empty((len(boxes), 5), dtype=np.float64)
    rows[:, 0:2] = boxes[:, 0:2]
    rows[:, 2:4] = boxes[:, 2:4] - boxes[:, 0:2]
    rows[:, 4] = scores
    return rows


def _fmt(value: np.generic) -> str:
    # Shortest text that reads back to the same value in the array's own
    # precision: a float32 score 0.9 is written "0.9", not "0.8999999761581421".
    if isinstance(value, np.integer):
        return str(int(value))
    text = np.format_float_positional(value, unique=True, trim="-")
    return "0" if text == "-0" else text


def format_prediction_text(image_name: str, rows: Sequence[Sequence[float]] | np.ndarray) -> str:
    """The text of one prediction file (see :func:`write_prediction_file`)."""
    if "\n" in image_name or "\r" in image_name:
        raise ValueError(f"image name must be one line: {image_name!r}")
    arr = np.asarray(rows)
    if arr.size == 0:
        arr = arr.reshape(0, 5)
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise ValueError(f"rows must have shape (N, 5) = x y w h score, got {arr.shape}")
    if arr.dtype.kind not in "fiu":
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"rows for {image_name} contain NaN or infinite values")
    lines = [image_name, str(len(arr))]
    lines.extend(" ".join(_fmt(v) for v in row) for row in arr)
    return "\n".join(lines) + "\n"


def write_prediction_file(
    path: str | os.PathLike, image_name: str, rows: Sequence[Sequence[float]] | np.ndarray
) -> Path:
    """Write one official prediction file.

    path: the file (usually from :func:`prediction_path`); parent folders are created.
    image_name: written on the first line as given (the official tool ignores it;
        the stem or ``event/name.jpg`` are both common).
    rows: ``(N, 5)`` array-like of ``x y w h score`` in original-image pixels
        (``N`` may be 0: the file then says ``0``, i.e. no detections).

    Numbers are written in their shortest exact text. The write is atomic
    (temporary file + rename), so a crashed run never leaves a truncated file.
    """
    return write_text_atomic(path, format_prediction_text(image_name, rows), fsync=False)


@dataclass(frozen=True)
class PredictionFile:
    """One parsed prediction file.

    rows: ``(N, 5)`` float64 ``x y w h score`` in *file order* (the evaluator
        sorts by score itself, as the official tool does).
    name_line: the first line as written (informative only).
    """

    path: Path
    name_line: str
    rows: np.ndarray


@dataclass(frozen=True)
class DroppedFile:
    """A malformed file whose detections were dropped, as ``read_pred.m`` does."""

    path: Path
    line: int | None
    reason: str


@dataclass
class Submission:
    """All prediction files of a submission folder.

    predictions: image key ``"<event>/<stem>"`` -> ``(N, 5)`` float64 rows ``x y w h score``
        in file order. Images with no detections (empty, ``0``-count, missing or
        dropped files) map to an empty ``(0, 5)`` array when they were expected.
    missing: expected keys without a file (treated as no detections, as the official tool does).
    dropped: malformed files read with ``on_error="official"`` (their detections are dropped).
    unexpected: files found in the folder that match no expected image (ignored).
    name_mismatches: keys whose first line does not name the image (informative).
    """

    root: Path
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    dropped: list[DroppedFile] = field(default_factory=list)
    unexpected: list[Path] = field(default_factory=list)
    name_mismatches: list[str] = field(default_factory=list)

    @property
    def num_detections(self) -> int:
        return int(sum(len(r) for r in self.predictions.values()))

    def rows(self, key: str) -> np.ndarray:
        """Rows for an image key (empty ``(0, 5)`` when there are none)."""
        return self.predictions.get(key, _EMPTY)


_EMPTY = np.zeros((0, 5), dtype=np.float64)
_EMPTY.setflags(write=False)


def _numbers(text: str) -> list[float] | None:
    tokens = [t for t in _SPLIT.split(text.strip()) if t]
    try:
        return [float(t) for t in tokens]
    except ValueError:
        return None


def _plain_rows(body: list[str]) -> np.ndarray | None:
    """``(n, 5)`` rows when every line is five whitespace-separated finite numbers (what every
    detector writes), parsed in one NumPy call; ``None`` sends the text through the line-by-line
    parse, which accepts the official reader's other forms and names the line of an error."""
    tokens: list[str] = []
    for line in body:
        fields = line.split()
        if len(fields) != 5:
            return None
        tokens += fields
    try:
        rows = np.array(tokens, dtype=np.float64).reshape(len(body), 5)
    except ValueError:
        return None
    return rows if np.isfinite(rows).all() else None


def parse_prediction_text(
    text: str, path: str | os.PathLike = "<memory>", official: bool = False
) -> PredictionFile:
    """Parse the text of one prediction file; raise :class:`PredictionFormatError` if malformed.

    Accepted like the official reader: empty text (no detections), trailing
    spaces/tabs, ``\\r\\n`` line ends, trailing blank lines, extra numbers
    after the score (ignored), commas between numbers. A name line alone (no
    count) is an error.

    official: follow ``read_pred.m`` where it is more lenient: lines after the
        announced rows are ignored instead of being an error (the other errors
        make ``read_pred.m`` drop the image's detections, see :func:`read_submission`).
    """
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return PredictionFile(Path(path), "", _EMPTY)
    name_line = lines[0].strip()
    if len(lines) < 2:
        raise PredictionFormatError(path, 2, "missing the count line after the image name")
    count_values = _numbers(lines[1])
    if count_values is None or len(count_values) != 1:
        raise PredictionFormatError(path, 2, f"count line must hold one integer, got {lines[1].strip()!r}")
    count_f = count_values[0]
    if not math.isfinite(count_f) or count_f < 0 or count_f != int(count_f):
        raise PredictionFormatError(
            path, 2, f"count must be a non-negative integer, got {lines[1].strip()!r}"
        )
    count = int(count_f)
    body = lines[2:]
    if len(body) < count:
        raise PredictionFormatError(
            path, len(lines) + 1, f"truncated: count line says {count} rows, file has {len(body)}"
        )
    if len(body) > count and official:
        body = body[:count]  # read_pred.m reads the announced rows only
    if len(body) > count:
        raise PredictionFormatError(
            path,
            2 + count + 1,
            f"count line says {count} rows but more lines follow: {body[count].strip()!r}",
        )
    rows = _plain_rows(body)
    if rows is not None:
        return PredictionFile(Path(path), name_line, rows)
    rows = np.empty((count, 5), dtype=np.float64)
    for k, line in enumerate(body):
        values = _numbers(line)
        if values is None:
            raise PredictionFormatError(path, k + 3, f"non-numeric field in {line.strip()!r}")
        if len(values) < 5:
            raise PredictionFormatError(path, k + 3, f"expected 5 numbers x y w h score, got {len(values)}")
        if not all(math.isfinite(v) for v in values[:5]):
            raise PredictionFormatError(path, k + 3, f"NaN or infinite value in {line.strip()!r}")
        rows[k] = values[:5]
    return PredictionFile(Path(path), name_line, rows)


def read_prediction_file(
    path: str | os.PathLike, official: bool = False, max_bytes: int = PREDICTION_FILE_LIMIT
) -> PredictionFile:
    """Read and parse one prediction file (errors name the file and line); see :func:`parse_prediction_text`.

    A file over ``max_bytes`` or one that is not a regular file (a FIFO, a
    device) raises :class:`~core.io.bounded.InputFileError` before anything is
    read, in every reading mode: it is never a malformed file to drop.
    """
    try:
        raw = read_bytes_bounded(path, max_bytes, what="prediction file", hint="--max-prediction-mb")
    except InputFileError:
        raise
    except OSError as exc:
        raise PredictionFormatError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # names are ASCII in WIDER; numbers parse either way
    return parse_prediction_text(text, path, official)


def _discover(root: Path) -> dict[str, str]:
    """``{"<event>/<stem>": file path}`` of every ``<event>/<stem>.txt`` (scandir: a full val
    submission is 3,226 files, and path objects per file cost more than the reading)."""
    found: dict[str, str] = {}
    with os.scandir(root) as events:
        event_dirs = sorted((e.name, e.path) for e in events if e.is_dir())
    for event, event_path in event_dirs:
        with os.scandir(event_path) as files:
            names = sorted(f.name for f in files if f.name.endswith(".txt") and not f.is_dir())
        for name in names:
            found[f"{event}/{name[:-4]}"] = os.path.join(event_path, name)
    return found


def read_submission(
    pred_dir: str | os.PathLike,
    expected: Iterable[str] | None = None,
    *,
    on_error: OnError = "raise",
    max_file_bytes: int = PREDICTION_FILE_LIMIT,
) -> Submission:
    """Read a whole submission folder ``<pred_dir>/<event>/<stem>.txt``.

    expected: image keys ``"<event>/<stem>"`` (e.g. from the ground truth). When
        given, only those files are read, absent ones are listed in
        ``missing`` (= no detections, logged) and stray files in ``unexpected``.
        When ``None``, every ``*/*.txt`` is read.
    on_error: ``"raise"`` (default) raises :class:`PredictionFormatError` for the
        first malformed file; ``"official"`` reads as ``read_pred.m`` does: rows
        beyond the announced count are ignored, and a malformed file gives its
        image no detections and is recorded in ``dropped``.
    max_file_bytes: the size cap of one prediction file (see :func:`read_prediction_file`).
    """
    root = Path(pred_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"prediction folder does not exist: {root}")
    sub = Submission(root=root)
    found = _discover(root)
    if expected is None:
        keys = list(found)
    else:
        keys = list(expected)
        wanted = set(keys)
        sub.unexpected = [Path(path) for key, path in found.items() if key not in wanted]
    for key in keys:
        path = found.get(key)
        if path is None:
            sub.missing.append(key)
            sub.predictions[key] = _EMPTY
            continue
        try:
            parsed = read_prediction_file(path, official=on_error == "official", max_bytes=max_file_bytes)
        except PredictionFormatError as exc:
            if on_error == "raise":
                raise
            sub.dropped.append(DroppedFile(Path(path), exc.line, exc.reason))
            sub.predictions[key] = _EMPTY
            log.debug("dropping detections of %s (as the official reader does): %s", key, exc)
            continue
        stem = key.rsplit("/", 1)[-1]
        if parsed.name_line and image_stem(parsed.name_line) != stem:
            sub.name_mismatches.append(key)
        sub.predictions[key] = parsed.rows
    if sub.missing:
        log.warning(
            "%d expected prediction files are missing (no detections), e.g. %s",
            len(sub.missing),
            sub.missing[0],
        )
    if sub.dropped:
        first = sub.dropped[0]
        log.warning(
            "%d malformed prediction files read as the official tool does (no detections), e.g. %s:%s: %s",
            len(sub.dropped),
            first.path,
            first.line,
            first.reason,
        )
    if sub.unexpected:
        log.warning("%d prediction files match no ground-truth image and are ignored", len(sub.unexpected))
    return sub


def write_submission(out_dir: str | os.PathLike, predictions: dict[str, np.ndarray]) -> int:
    """Write ``{"<event>/<stem>": (N,5) rows}`` as a submission folder; returns the number of files."""
    for key, rows in predictions.items():
        event, _, stem = key.rpartition("/")
        if not event:
            raise ValueError(f"prediction key must be '<event>/<stem>', got {key!r}")
        write_prediction_file(prediction_path(out_dir, event, stem), stem, rows)
    return len(predictions)

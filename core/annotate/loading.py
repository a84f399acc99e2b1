"""Reading what the editor opens: a label file (via :mod:`core.wider.labels`), its
per-image text chunks, and the image files that go with it.
"""

from __future__ import annotations

import gc
import logging
import os
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.io.files import list_images, natural_key
from core.wider.labels import ImageLabels, WiderFormatError, parse_label_arrays, read_label_arrays

log = logging.getLogger(__name__)


@dataclass
class LoadedLabels:
    """A label file as the editor holds it.

    chunks: the verbatim text of each image's block (name, count, face lines,
        each ending in ``\\n``) so untouched images are written back byte for
        byte; ``None`` when the file cannot be cut that way (CRLF line ends,
        trailing blank lines, no final newline), then every image is re-formatted.
    error: why the file cannot be edited (it is then opened read-only), else ``None``.
    """

    label_path: Path
    images: list[ImageLabels]
    decimals: int | None = None
    chunks: list[str | None] | None = None
    error: str | None = None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def split_chunks(text: str, names: tuple[str, ...], counts: list[int]) -> list[str | None] | None:
    """Cut label text into one block per image, or ``None`` when it does not cut cleanly.

    The parser has already validated the text; this only finds block
    boundaries, following the same rule (a ``0`` count may be followed by one
    dummy row of zeros).
    """
    if "\r" in text or not text.endswith("\n"):
        return None if text else []
    lines = text.split("\n")
    lines.pop()  # after the final newline
    n = len(lines)
    chunks: list[str | None] = []
    pos = 0
    for name, count in zip(names, counts, strict=True):
        start = pos
        if pos + 1 >= n or lines[pos].strip() != name:
            return None
        pos += 2
        if count:
            pos += count
        elif pos < n and lines[pos].split() and all(_is_number(t) for t in lines[pos].split()):
            pos += 1
        chunks.append("\n".join(lines[start:pos]) + "\n")
    return chunks if pos == n else None


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building ~40,000 acyclic objects.

    Allocation-heavy loops trigger full collections whose cost grows with the
    whole heap: in the GUI process (torch, Qt: ~230,000 objects) opening WIDER
    val took 0.7–1.3 s with the collector running and 0.25–0.3 s without.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_labels(label_path: Path) -> LoadedLabels:
    """Parse a label file; a parse error is returned in ``error`` (never raised), a missing file too."""
    try:
        with open(label_path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        try:  # let the data layer word the error (file and line)
            read_label_arrays(label_path)
        except WiderFormatError as exc:
            return LoadedLabels(label_path, [], error=str(exc))
        raise
    with gc_paused():
        try:
            arrays = parse_label_arrays(text, label_path)
        except WiderFormatError as exc:
            return LoadedLabels(label_path, [], error=str(exc))
        chunks = split_chunks(text, arrays.names, arrays.counts().tolist())
        images = arrays.to_images()
    if chunks is None:
        log.info("%s: cannot keep per-image text verbatim; saves re-format every image", label_path)
    return LoadedLabels(label_path, images, arrays.decimals, chunks)


def _relative_names(folder: Path) -> list[str]:
    try:
        paths = list_images(folder, recursive=True)
    except OSError:
        return []
    return [path.relative_to(folder).as_posix() for path in paths]


def load_unreadable(label_path: Path, images_root: Path, error: str) -> LoadedLabels:
    """A read-only view of a split whose label file does not parse: its images, no faces."""
    images = [ImageLabels(name) for name in _relative_names(images_root)]
    return LoadedLabels(label_path, images, error=error)


def load_folder(folder: Path, label_path: Path) -> LoadedLabels:
    """The label file's images first (file order), then the folder's other images (no faces)."""
    names = _relative_names(folder)
    if not label_path.exists():
        return LoadedLabels(label_path, [ImageLabels(name) for name in names], chunks=None)
    loaded = load_labels(label_path)
    if loaded.error is not None:
        return LoadedLabels(label_path, [ImageLabels(name) for name in names], error=loaded.error)
    known = {image.name for image in loaded.images}
    extra = sorted((n for n in names if n not in known), key=natural_key)
    if extra:
        log.info(
            "%s: %d image(s) of %s not in the label file, added with no faces", label_path, len(extra), folder
        )
        loaded.images.extend(ImageLabels(name) for name in extra)
        if loaded.chunks is not None:
            loaded.chunks.extend([None] * len(extra))
    return loaded


def image_paths_for(images_root: Path, images: list[ImageLabels]) -> list[Path]:
    """Where each image's file is: ``root/<event>/<name>`` (WIDER layout) or, when the first
    image is only found there, ``root/<basename>`` (a flat folder of the same images)."""
    if not images:
        return []
    first = images[0].name
    flat = not (images_root / first).exists() and (images_root / os.path.basename(first)).exists()
    if flat:
        return [images_root / os.path.basename(image.name) for image in images]
    return [images_root / image.name for image in images]


def duplicate_names_error(images: list[ImageLabels]) -> str | None:
    """Why a split listing an image twice cannot be edited, or ``None``.

    Review states, the journal and the working copy all name images, so an
    edit of one copy could land on the other; the file must be fixed first.
    """
    counts = Counter(image.name for image in images)
    twice = [f"{name} ({count} times)" for name, count in counts.items() if count > 1]
    if not twice:
        return None
    shown = ", ".join(twice[:3]) + (f" and {len(twice) - 3} more" if len(twice) > 3 else "")
    return f"it lists {shown}; keep each image once in the label file and open it again"

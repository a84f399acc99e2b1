"""Listing input files: fast, lazy (no decoding), naturally sorted; folders, glob patterns and plain paths."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from core.io.imageio import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

_DIGITS = re.compile(r"(\d+)")
GLOB_CHARS = frozenset("*?[")


def natural_key(text: str) -> tuple:
    """Sort key so that ``img2`` < ``img10`` (case-insensitive)."""
    # one lower() and a list comprehension: a third faster than per-part lower() in a generator (50,000 names)
    return tuple([int(part) if part.isdigit() else part for part in _DIGITS.split(text.lower())])


def has_glob(text: str) -> bool:
    """Whether ``text`` holds a glob wildcard (``* ? [``)."""
    return any(ch in text for ch in GLOB_CHARS)


def list_images(
    folder: str | os.PathLike, recursive: bool = False, suffixes: frozenset[str] = IMAGE_SUFFIXES
) -> list[Path]:
    """Files in ``folder`` with one of ``suffixes`` (by name only: nothing is opened), naturally sorted."""
    root = Path(folder)
    return [root / name for name in list_image_names(folder, recursive, suffixes)]


def glob_files(pattern: str, suffixes: frozenset[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Files matching the glob ``pattern`` (``**`` descends) with one of ``suffixes``, naturally sorted."""
    return [
        Path(p)
        for p in sorted(glob.glob(pattern, recursive=True), key=natural_key)
        if os.path.splitext(p)[1].lower() in suffixes and os.path.isfile(p)
    ]


def list_image_names(
    folder: str | os.PathLike, recursive: bool = False, suffixes: frozenset[str] = IMAGE_SUFFIXES
) -> list[str]:
    """Paths of the files under ``folder`` with one of ``suffixes``, relative to it ("/"-separated), naturally sorted.

    Uses ``os.scandir`` and returns strings (building 50,000 ``Path`` objects
    costs more than the listing itself), so huge folders list in a fraction of
    a second. Hidden files (``.name``) are skipped; unreadable sub-folders are
    skipped, not fatal.
    """
    root = Path(folder)
    found: list[tuple[tuple, str]] = []  # (sort key, relative name)
    stack = [(str(root), "")]
    while stack:
        current, prefix = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    name = entry.name
                    if name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if recursive:
                                stack.append((entry.path, prefix + name + "/"))
                        elif os.path.splitext(name)[1].lower() in suffixes:
                            relative = prefix + name
                            found.append((natural_key(relative), relative))
                    except OSError:
                        continue
        except OSError:
            if current == str(root):
                raise
    found.sort(key=lambda item: item[0])
    return [relative for _, relative in found]


def expand_inputs(
    paths: Iterable[str | os.PathLike],
    recursive: bool = False,
    suffixes: frozenset[str] = IMAGE_SUFFIXES,
    globs: bool = False,
) -> list[Path]:
    """Files stay as given; folders become their files with ``suffixes``; order kept, duplicates dropped.

    globs: a path that does not exist and holds ``* ? [`` is a glob pattern
    (:func:`glob_files`). A folder or pattern that contributes nothing is
    logged, not fatal: the caller reports an empty result as a whole.
    """
    seen: set[Path] = set()
    result: list[Path] = []
    for raw in paths:
        text = str(raw)
        path = Path(text)
        if path.is_dir():
            found = list_images(path, recursive, suffixes)
            if not found:
                log.warning("no matching files in folder %s", path)
        elif globs and not path.exists() and has_glob(text):
            found = glob_files(text, suffixes)
            if not found:
                log.warning("no matching files match %s", text)
        else:
            found = [path]
        for item in found:
            if item not in seen:
                seen.add(item)
                result.append(item)
    return result

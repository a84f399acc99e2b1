"""The list of images being browsed (a model over paths; nothing is decoded here)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QStyledItemDelegate

from core.io.files import list_image_names

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class FolderListing:
    """The images found in a folder: relative names ("event/img.jpg" when below it) and how they were found.

    descended: the folder had no images at its top level, so its sub-folders were listed
    (a WIDER ``images/`` folder keeps every image in one sub-folder per event).
    """

    folder: Path
    names: list[str]
    recursive: bool
    descended: bool
    elapsed_ms: float

    @property
    def sub_folder_count(self) -> int:
        """How many sub-folders hold at least one of the listed images."""
        if not self.recursive:
            return 0
        return len({name.rpartition("/")[0] for name in self.names if "/" in name})

    def summary(self) -> str:
        """One line for the status bar: how many images, where, and how fast."""
        count = len(self.names)
        if count == 0:
            where = f"{self.folder} or its sub-folders" if self.recursive else str(self.folder)
            return f"No images in {where}."
        sub_folders = self.sub_folder_count
        noun = "image" if count == 1 else "images"
        if sub_folders == 0:
            where = f"in {self.folder}"
        elif any("/" not in name for name in self.names):
            where = f"in {self.folder} and {sub_folders:,} of its sub-folders"
        else:
            folders = "sub-folder" if sub_folders == 1 else "sub-folders"
            where = f"in {sub_folders:,} {folders} of {self.folder}"
        return f"{count:,} {noun} {where} (listed in {self.elapsed_ms:.0f} ms)"


def list_folder(folder: Path, recursive: bool = False) -> FolderListing:
    """List ``folder``'s images by name (nothing is opened); descend into sub-folders when its top level has none.

    Raises OSError when ``folder`` itself cannot be read.
    """
    start = time.perf_counter()
    names = list_image_names(folder, recursive=recursive)
    descended = False
    if not names and not recursive:
        names = list_image_names(folder, recursive=True)
        recursive = True
        descended = bool(names)
    return FolderListing(Path(folder), names, recursive, descended, (time.perf_counter() - start) * 1000)


class FileListModel(QAbstractListModel):
    """Image paths with a per-row error flag (unreadable files show in red with their reason).

    A folder is held as its root plus relative names (strings): ``Path``
    objects are built per row on demand, which keeps 50,000-file folders fast.
    A panel may override a row's text and colour through ``decorator``.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._row_by_name: dict[str, int] | None = None
        self._errors: dict[Path, str] = {}
        self.root: Path | None = None
        # fn(row, path) -> (text, colour | None) | None: a panel's override of a row (see Workbench)
        self.decorator = None

    def set_names(self, root: Path, names: list[str]) -> None:
        """Show ``root / name`` for each relative name (display: the relative name)."""
        self._reset(Path(root), list(names))

    def set_paths(self, paths: list[Path], root: Path | None = None) -> None:
        """Show files; with ``root`` they display relative to it, else by file name."""
        if root is None:
            self._reset(None, [str(p) for p in paths])
            return
        root = Path(root)
        # string prefix first: pathlib's relative_to costs ~0.1 ms a path (0.4 s for WIDER val)
        prefix = str(root).rstrip(os.sep) + os.sep
        names = [
            s[len(prefix) :].replace(os.sep, "/")
            if s.startswith(prefix)
            else Path(s).relative_to(root).as_posix()
            for s in map(str, paths)
        ]
        self._reset(root, names)

    def _reset(self, root: Path | None, names: list[str]) -> None:
        self.beginResetModel()
        self.root = root
        self._names = names
        self._row_by_name = None
        self._errors.clear()
        self.endResetModel()

    def refresh_rows(self, rows: list[int] | None = None) -> None:
        """Re-read decorated rows (``None``: all)."""
        if not self._names:
            return
        if rows is None:
            self.dataChanged.emit(self.index(0), self.index(len(self._names) - 1))
            return
        for row in rows:
            if 0 <= row < len(self._names):
                self.dataChanged.emit(self.index(row), self.index(row))

    def paths(self) -> list[Path]:
        return [self._to_path(name) for name in self._names]

    def _to_path(self, name: str) -> Path:
        return self.root / name if self.root is not None else Path(name)

    def path_at(self, row: int) -> Path | None:
        return self._to_path(self._names[row]) if 0 <= row < len(self._names) else None

    def name_at(self, row: int) -> str:
        """The row's name as listed: relative to the folder ("event/img.jpg"), else the file name."""
        if not 0 <= row < len(self._names):
            return ""
        return self._names[row] if self.root is not None else Path(self._names[row]).name

    def row_of(self, path: Path) -> int:
        if self._row_by_name is None:  # built on first lookup only
            self._row_by_name = {name: row for row, name in enumerate(self._names)}
        if self.root is not None:
            try:
                key = Path(path).relative_to(self.root).as_posix()
            except ValueError:
                return -1
        else:
            key = str(path)
        return self._row_by_name.get(key, -1)

    def set_error(self, path: Path, message: str | None) -> None:
        row = self.row_of(path)
        if row < 0:
            return
        if message:
            self._errors[path] = message
        else:
            self._errors.pop(path, None)
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._names)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._names):
            return None
        name = self._names[index.row()]
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            return None
        path = self._to_path(name)
        if self.decorator is not None and role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            decoration = self.decorator(index.row(), path)
            if decoration is not None and (role == Qt.ItemDataRole.DisplayRole or path not in self._errors):
                return decoration[0] if role == Qt.ItemDataRole.DisplayRole else decoration[1]
        if role == Qt.ItemDataRole.DisplayRole:
            return name if self.root is not None else path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            error = self._errors.get(path)
            return f"{path}\n{error}" if error else str(path)
        if path in self._errors:  # ForegroundRole
            return QColor(220, 60, 60)
        return None


class ViewWidthRows(QStyledItemDelegate):
    """Rows as wide as the list, not as their text: a long "event/name.jpg" is elided (the view's
    elide mode) instead of widening every row, which with uniform item sizes would clip the rest."""

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt override
        return QSize(1, super().sizeHint(option, index).height())

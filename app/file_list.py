"""The list of images being browsed (a model over paths; nothing is decoded here)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

_Index = QModelIndex | QPersistentModelIndex


class FileListModel(QAbstractListModel):
    """Paths with a per-row error flag (unreadable files show in red with their reason)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._paths: list[Path] = []
        self._errors: dict[Path, str] = {}
        self.root: Path | None = None

    def set_paths(self, paths: list[Path], root: Path | None = None) -> None:
        self.beginResetModel()
        self._paths = list(paths)
        self._errors.clear()
        self.root = root
        self.endResetModel()

    def paths(self) -> list[Path]:
        return list(self._paths)

    def path_at(self, row: int) -> Path | None:
        return self._paths[row] if 0 <= row < len(self._paths) else None

    def row_of(self, path: Path) -> int:
        try:
            return self._paths.index(path)
        except ValueError:
            return -1

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
        return 0 if parent.isValid() else len(self._paths)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._paths):
            return None
        path = self._paths[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if self.root is not None:
                try:
                    return str(path.relative_to(self.root))
                except ValueError:
                    pass
            return path.name
        if role == Qt.ItemDataRole.ToolTipRole:
            error = self._errors.get(path)
            return f"{path}\n{error}" if error else str(path)
        if role == Qt.ItemDataRole.ForegroundRole and path in self._errors:
            return QColor(220, 60, 60)
        return None

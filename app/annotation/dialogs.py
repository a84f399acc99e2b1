"""File dialogs of the annotation panel (kept out of the panel so it stays about widgets)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def ask_split(parent: QWidget) -> tuple[Path, Path] | None:
    """A WIDER label txt, then its images root (folders per event); ``None`` when cancelled."""
    label, _ = QFileDialog.getOpenFileName(
        parent, "WIDER label file", "", "WIDER labels (*.txt);;All files (*)"
    )
    if not label:
        return None
    guess = Path(label).parent / "images"
    root = QFileDialog.getExistingDirectory(parent, "Images root (folders per event)", str(guess))
    return (Path(label), Path(root)) if root else None


def ask_folder(parent: QWidget) -> tuple[Path, Path] | None:
    """A folder of images, then its label file (created when missing)."""
    folder = QFileDialog.getExistingDirectory(parent, "Folder of images")
    if not folder:
        return None
    label, _ = QFileDialog.getSaveFileName(
        parent,
        "Label file (created when missing)",
        str(Path(folder) / "labels.txt"),
        "WIDER labels (*.txt)",
        options=QFileDialog.Option.DontConfirmOverwrite,
    )
    return (Path(folder), Path(label)) if label else None


def ask_export(parent: QWidget, default: Path) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Export COCO JSON", str(default), "JSON (*.json)")
    return Path(path) if path else None


def ask_import(parent: QWidget) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Import COCO JSON", "", "JSON (*.json)")
    return Path(path) if path else None

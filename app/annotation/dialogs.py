"""File dialogs of the annotation panel (kept out of the panel so it stays about widgets)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


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


def confirm_save_to_source(parent: QWidget, source: Path, source_changed: bool = False) -> bool:
    """Ask before the one write that changes the label file the user opened."""
    stale = (
        f"\n\n{source.name} changed on disk after your working copy was made: that change will be lost."
        if source_changed
        else ""
    )
    answer = QMessageBox.question(
        parent,
        "Save to source",
        f"Overwrite {source} with your edits?\n\n"
        f"Every evaluation that uses this file as ground truth will see the change.{stale}",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Save


def confirm_discard_working_copy(parent: QWidget, source: Path) -> bool:
    answer = QMessageBox.question(
        parent,
        "Discard working copy",
        f"Go back to {source.name} as it is on disk?\n\n"
        "Your edits are set aside in a '.discarded-<time>' file, not deleted.",
        QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Discard

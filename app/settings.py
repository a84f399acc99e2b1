"""Typed settings over QSettings, and the shortcut table.

All persistent GUI state goes through :class:`Settings`, which wraps one
``QSettings`` in INI format at an explicit path, so tests isolate it in
``tmp_path`` and nothing leaks into the user's real configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

MAX_RECENT = 10


@dataclass(frozen=True)
class ShortcutSpec:
    """A remappable command: settings key, menu text and default key sequence."""

    key: str
    text: str
    default: str


SHORTCUTS: tuple[ShortcutSpec, ...] = (
    ShortcutSpec("open_images", "Open image(s)…", "Ctrl+O"),
    ShortcutSpec("open_folder", "Open folder…", "Ctrl+Shift+O"),
    ShortcutSpec("quit", "Quit", "Ctrl+Q"),
    ShortcutSpec("next_image", "Next image", "D"),
    ShortcutSpec("previous_image", "Previous image", "A"),
    ShortcutSpec("zoom_in", "Zoom in", "Ctrl++"),
    ShortcutSpec("zoom_out", "Zoom out", "Ctrl+-"),
    ShortcutSpec("zoom_fit", "Fit to window", "F"),
    ShortcutSpec("zoom_actual", "Actual size (1:1)", "1"),
    ShortcutSpec("run_detection", "Detect faces", "Ctrl+R"),
    ShortcutSpec("shortcuts", "Keyboard shortcuts…", "F1"),
    # annotation editor (app/annotation/panel.py); active while a split is open in it
    ShortcutSpec("ann_save", "Annotation: save now", "Ctrl+S"),
    ShortcutSpec("ann_undo", "Annotation: undo", "Ctrl+Z"),
    ShortcutSpec("ann_redo", "Annotation: redo", "Ctrl+Shift+Z"),
    ShortcutSpec("ann_edit_mode", "Annotation: edit boxes on the canvas", "W"),
    ShortcutSpec("ann_next_unreviewed", "Annotation: next unreviewed image", "N"),
    ShortcutSpec("ann_mark_reviewed", "Annotation: mark image reviewed (toggle)", "R"),
    ShortcutSpec("ann_mark_attention", "Annotation: mark image needs attention (toggle)", "T"),
    ShortcutSpec("ann_delete", "Annotation: delete selected boxes", "Delete"),
    ShortcutSpec("ann_select_all", "Annotation: select all boxes", "Ctrl+A"),
    ShortcutSpec("ann_zoom_box", "Annotation: zoom to selection", "Z"),
    ShortcutSpec("ann_next_box", "Annotation: select next box", "Tab"),
    ShortcutSpec("ann_prelabel", "Annotation: pre-label image with the detector", "Ctrl+L"),
    ShortcutSpec("ann_accept", "Annotation: accept suggestion", "Return"),
    ShortcutSpec("ann_reject", "Annotation: reject suggestion", "Backspace"),
    ShortcutSpec("ann_accept_above", "Annotation: accept all suggestions above the score", "Shift+Return"),
    ShortcutSpec("ann_blur_clear", "Annotation: blur clear", "Ctrl+1"),
    ShortcutSpec("ann_blur_normal", "Annotation: blur normal", "Ctrl+2"),
    ShortcutSpec("ann_blur_heavy", "Annotation: blur heavy", "Ctrl+3"),
    ShortcutSpec("ann_cycle_blur", "Annotation: cycle blur", "B"),
    ShortcutSpec("ann_cycle_occlusion", "Annotation: cycle occlusion", "O"),
    ShortcutSpec("ann_toggle_expression", "Annotation: toggle exaggerated expression", "E"),
    ShortcutSpec("ann_toggle_illumination", "Annotation: toggle extreme illumination", "I"),
    ShortcutSpec("ann_toggle_invalid", "Annotation: toggle invalid", "V"),
    ShortcutSpec("ann_toggle_pose", "Annotation: toggle atypical pose", "P"),
    ShortcutSpec("ann_nudge_left", "Annotation: nudge left 1 px", "Left"),
    ShortcutSpec("ann_nudge_right", "Annotation: nudge right 1 px", "Right"),
    ShortcutSpec("ann_nudge_up", "Annotation: nudge up 1 px", "Up"),
    ShortcutSpec("ann_nudge_down", "Annotation: nudge down 1 px", "Down"),
    ShortcutSpec("ann_nudge_left_10", "Annotation: nudge left 10 px", "Shift+Left"),
    ShortcutSpec("ann_nudge_right_10", "Annotation: nudge right 10 px", "Shift+Right"),
    ShortcutSpec("ann_nudge_up_10", "Annotation: nudge up 10 px", "Shift+Up"),
    ShortcutSpec("ann_nudge_down_10", "Annotation: nudge down 10 px", "Shift+Down"),
    # live video (app/live/panel.py); active while a live session is open
    ShortcutSpec("live_play", "Live: play / pause", "Ctrl+Space"),
    ShortcutSpec("live_step", "Live: next frame", "Ctrl+Right"),
    ShortcutSpec("live_back", "Live: previous frame", "Ctrl+Left"),
    ShortcutSpec("live_snapshot", "Live: snapshot to the WIDER split", "Ctrl+Shift+S"),
)
SHORTCUT_BY_KEY = {spec.key: spec for spec in SHORTCUTS}


def default_settings_path() -> Path:
    """``FACESCOPE_SETTINGS`` if set, else the platform's config location."""
    override = os.environ.get("FACESCOPE_SETTINGS")
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "facescope" / "facescope.ini"


class Settings:
    """Typed accessors over one INI file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_settings_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)

    # --- generic ------------------------------------------------------------
    def value(self, key: str, default=None, type_=None):
        if type_ is None:
            return self.qsettings.value(key, default)
        return self.qsettings.value(key, default, type=type_)

    def set_value(self, key: str, value) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()

    # --- recent files -------------------------------------------------------
    def recent_paths(self) -> list[str]:
        raw = self.qsettings.value("recent/paths", [])
        if isinstance(raw, str):  # QSettings returns a bare string for one-element lists
            raw = [raw]
        return [str(p) for p in (raw or [])]

    def add_recent_path(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        paths = [p for p in self.recent_paths() if p != path]
        paths.insert(0, path)
        del paths[MAX_RECENT:]
        self.qsettings.setValue("recent/paths", paths)
        return paths

    def clear_recent(self) -> None:
        self.qsettings.remove("recent/paths")

    # --- shortcuts ----------------------------------------------------------
    def shortcut(self, key: str) -> str:
        return str(self.qsettings.value(f"shortcuts/{key}", SHORTCUT_BY_KEY[key].default))

    def set_shortcut(self, key: str, sequence: str) -> None:
        if sequence == SHORTCUT_BY_KEY[key].default:
            self.qsettings.remove(f"shortcuts/{key}")
        else:
            self.qsettings.setValue(f"shortcuts/{key}", sequence)

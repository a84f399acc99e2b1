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

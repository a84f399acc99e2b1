"""The settings file: one QSettings in INI format, typed through the schema.

All persistent GUI state goes through :class:`Settings`, which wraps one
``QSettings`` at an explicit path, so tests isolate it in ``tmp_path`` and
nothing leaks into the user's real configuration.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtGui import QKeySequence

from app.settings.coerce import coerce
from app.settings.migrations import SCHEMA_VERSION, migrate
from app.settings.schema import Keys, Setting
from app.settings.shortcuts import key_sequences

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_RECENT = 10
_REMOVED = object()


def default_settings_path() -> Path:
    """``FACESCOPE_SETTINGS`` if set, else the platform's config location."""
    override = os.environ.get("FACESCOPE_SETTINGS")
    if override:
        return Path(override)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericConfigLocation)
    return Path(base or Path.home() / ".config") / "facescope" / "facescope.ini"


class Settings:
    """Typed reads and writes of one INI file, migrated to :data:`SCHEMA_VERSION` on open.

    A file written by a newer FaceScope (a higher ``schema_version``) opens
    read-only: reads of the keys this version knows work as usual, writes live in
    memory for this session and the file is never touched, so the newer layout
    cannot be damaged by code that does not know it.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_settings_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(self.path), QSettings.Format.IniFormat)
        self.file_version = migrate(self.qsettings)
        self.read_only = self.file_version > SCHEMA_VERSION
        self._session_values: dict[str, object] = {}  # writes of a read-only session
        if self.read_only:
            log.warning(
                "settings: %s is schema version %d, newer than %d; changes will not be saved",
                self.path,
                self.file_version,
                SCHEMA_VERSION,
            )

    # --- typed access -------------------------------------------------------
    def get(self, setting: Setting[T]) -> T:
        """The stored value as the declared type; the default when absent or malformed."""
        raw = self._raw(setting.key)
        if raw is _REMOVED or raw is None:
            return setting.default_value()
        try:
            return coerce(raw, setting.type)  # type: ignore[return-value]
        except ValueError:
            log.warning("settings: %s=%r is not a %s; using the default", setting.key, raw, setting.type)
            return setting.default_value()

    def set(self, setting: Setting[T], value: T) -> None:
        """Store ``value``; ``ValueError`` if it is not of the declared type (a caller's bug)."""
        typed = coerce(value, setting.type)
        if self.read_only:
            self._session_values[setting.key] = typed
        else:
            self.qsettings.setValue(setting.key, typed)

    def reset(self, setting: Setting) -> None:
        """Forget the stored value: reads give the default again."""
        if self.read_only:
            self._session_values[setting.key] = _REMOVED
        else:
            self.qsettings.remove(setting.key)

    def sync(self) -> None:
        if not self.read_only:
            self.qsettings.sync()

    def _raw(self, key: str) -> object:
        if key in self._session_values:
            return self._session_values[key]
        return self.qsettings.value(key)

    # --- recent files -------------------------------------------------------
    def recent_paths(self) -> list[str]:
        return self.get(Keys.RECENT_PATHS)

    def add_recent_path(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        paths = [p for p in self.recent_paths() if p != path]
        paths.insert(0, path)
        del paths[MAX_RECENT:]
        self.set(Keys.RECENT_PATHS, paths)
        return paths

    def clear_recent(self) -> None:
        self.reset(Keys.RECENT_PATHS)

    # --- shortcuts ----------------------------------------------------------
    def shortcut(self, key: str) -> str:
        return self.get(Keys.SHORTCUT(key))

    def shortcut_sequences(self, key: str) -> list[QKeySequence]:
        """The key sequences of ``key``'s command, the first one the one menus show."""
        return key_sequences(self.shortcut(key))

    def set_shortcut(self, key: str, sequence: str) -> None:
        setting = Keys.SHORTCUT(key)
        if sequence == setting.default:
            self.reset(setting)
        else:
            self.set(setting, sequence)

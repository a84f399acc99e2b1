"""Persistent GUI state: the typed, versioned settings file and the shortcut table.

``settings.get(Keys.X)`` / ``settings.set(Keys.X, value)``; the keys, types and
defaults are declared once in ``schema.py``, upgrades of older files in
``migrations.py``.
"""

from __future__ import annotations

from app.settings.migrations import SCHEMA_VERSION
from app.settings.schema import SCHEMA, Keys, Setting, SettingFamily
from app.settings.shortcuts import SHORTCUT_BY_KEY, SHORTCUTS, ShortcutSpec, key_sequences, shortcut_text
from app.settings.store import MAX_RECENT, Settings, default_settings_path

__all__ = [
    "MAX_RECENT",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SHORTCUTS",
    "SHORTCUT_BY_KEY",
    "Keys",
    "Setting",
    "SettingFamily",
    "Settings",
    "ShortcutSpec",
    "default_settings_path",
    "key_sequences",
    "shortcut_text",
]

"""Upgrade a settings file, one schema version at a time.

``STEPS[n]`` turns a version-``n`` file into a version-``n + 1`` one, so a
change to the schema adds a step and never edits an old one. Version 0 is a
file without ``schema_version``: the untyped keys of the workbench before the
schema existed. Steps never delete a key they do not understand, so nothing a
user had (or a newer version wrote) is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QSettings

from app.settings.coerce import coerce
from app.settings.schema import setting_for_key

log = logging.getLogger(__name__)

VERSION_KEY = "schema_version"


def _move(store: QSettings, old: str, new: str) -> None:
    """Rename ``old`` to ``new``; a value already at ``new`` wins and ``old`` stays as it was."""
    if not store.contains(old) or store.contains(new):
        return
    store.setValue(new, store.value(old))
    store.remove(old)


def _coerce_known(store: QSettings) -> None:
    """Rewrite each declared value in its type ("1" for a flag becomes true).

    A value that cannot be read as its type stays as written: reads fall back to
    the default, and the user's text is still there to fix by hand.
    """
    for key in store.allKeys():
        setting = setting_for_key(key)
        if setting is None:
            continue
        try:
            store.setValue(key, coerce(store.value(key), setting.type))
        except ValueError:
            log.warning(
                "settings: %s=%r is not a %s; the default applies", key, store.value(key), setting.type
            )


def _v0_to_v1(store: QSettings) -> None:
    """Every key under its feature's group: recent files under window/, detector
    checkpoints under detection/, the batch dialog under live/."""
    _move(store, "recent/paths", "window/recent_paths")
    store.beginGroup("detectors")
    detectors = store.childGroups()
    store.endGroup()
    for name in detectors:
        _move(store, f"detectors/{name}/checkpoint", f"detection/checkpoint/{name}")
    for name in ("inputs", "recursive", "jsonl", "wider"):
        _move(store, f"batch/{name}", f"live/batch/{name}")
    _coerce_known(store)


STEPS: tuple[Callable[[QSettings], None], ...] = (_v0_to_v1,)

#: The version this code reads and writes.
SCHEMA_VERSION = len(STEPS)


def stored_version(store: QSettings) -> int:
    """The file's ``schema_version``; 0 when absent or unreadable (the oldest layout)."""
    try:
        version = int(str(store.value(VERSION_KEY, 0)).strip())
    except ValueError:
        return 0
    return max(version, 0)


def migrate(store: QSettings) -> int:
    """Bring ``store`` up to :data:`SCHEMA_VERSION`, write the version and return the one it had.

    A file newer than this code is left untouched: the caller decides how to open it.
    """
    found = stored_version(store)
    if found > SCHEMA_VERSION:
        return found
    if not store.allKeys():  # a new file: nothing to migrate, it starts at the current version
        found = SCHEMA_VERSION
    for version in range(found, SCHEMA_VERSION):
        log.info("settings: migrating %s from version %d to %d", store.fileName(), version, version + 1)
        STEPS[version](store)
    if found != SCHEMA_VERSION or not store.contains(VERSION_KEY):
        store.setValue(VERSION_KEY, SCHEMA_VERSION)
        store.sync()
    return found

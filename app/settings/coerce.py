"""Turn what QSettings hands back into a setting's declared type.

An INI file stores everything as text: a value written in this session comes
back typed, the same value read after a restart comes back as a string, and a
hand-edited file may hold anything. Each coercer accepts both forms and raises
``ValueError`` on anything else, so the caller can fall back to the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QByteArray

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _to_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"not a boolean: {raw!r}")


def _to_int(raw: object) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"not an integer: {raw!r}")
    if isinstance(raw, int):
        return raw
    number = _to_float(raw)
    if not number.is_integer():
        raise ValueError(f"not an integer: {raw!r}")
    return int(number)


def _to_float(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"not a number: {raw!r}")
    number = float(raw.strip() if isinstance(raw, str) else raw)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {raw!r}")
    return number


def _to_str(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    # QSettings splits an unquoted hand-written "a, b" into a list; the text had a comma.
    if isinstance(raw, (list, tuple)) and all(isinstance(part, str) for part in raw):
        return ", ".join(raw)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(raw)
    raise ValueError(f"not text: {raw!r}")


def _to_str_list(raw: object) -> list[str]:
    if isinstance(raw, str):  # QSettings returns a bare string for a one-element list
        return [raw] if raw else []
    if isinstance(raw, (list, tuple)) and all(isinstance(part, str) for part in raw):
        return list(raw)
    raise ValueError(f"not a list of text: {raw!r}")


def _to_bytes(raw: object) -> QByteArray:
    if isinstance(raw, QByteArray):
        return QByteArray(raw)
    if isinstance(raw, (bytes, bytearray)):
        return QByteArray(bytes(raw))
    raise ValueError(f"not binary data: {raw!r}")


COERCERS: dict[type, Callable[[object], object]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
    list: _to_str_list,
    QByteArray: _to_bytes,
}


def coerce(raw: object, type_: type) -> object:
    """``raw`` as ``type_``; ``ValueError`` when it cannot be read as one (``None`` never can)."""
    if raw is None:
        raise ValueError("no value")
    return COERCERS[type_](raw)

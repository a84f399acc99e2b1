"""Sane ranges for numbers read from files a user may not have written (TOML, checkpoints).

A configuration is data, and a hostile or corrupt one can ask for a 12 GB
layer or an infinite learning rate. Each config dataclass states the range of
every size and rate it holds, and :func:`check_ranges` refuses a value
outside it (or one that is not finite) before anything is allocated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def out_of_range(values: Mapping[str, object], ranges: Mapping[str, tuple[float, float]]) -> list[str]:
    """``"name=value (allowed lo..hi)"`` for every value outside its inclusive range."""
    bad = []
    for name, (low, high) in ranges.items():
        items = values[name] if isinstance(values[name], (tuple, list)) else (values[name],)
        for value in _numbers(items):
            if not (math.isfinite(value) and low <= value <= high):
                bad.append(f"{name}={values[name]!r} (allowed {low:g}..{high:g})")
                break
    return bad


def _numbers(items: Iterable[object]) -> list[float]:
    out = []
    for item in items:
        try:
            out.append(float(item))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def check_ranges(owner: str, values: Mapping[str, object], ranges: Mapping[str, tuple[float, float]]) -> None:
    """Raise ``ValueError`` naming every value of ``owner`` outside its range."""
    bad = out_of_range(values, ranges)
    if bad:
        raise ValueError(f"{owner}: out of range: {', '.join(bad)}")

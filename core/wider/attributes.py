"""WIDER FACE face attributes as typed enums.

The label files carry six attribute codes per face, in this order after the
box: ``blur expression illumination invalid occlusion pose`` (the WIDER FACE
readme). The integer values are the codes written in the files, so
``int(Blur.HEAVY) == 2`` round-trips.
"""

from __future__ import annotations

from enum import IntEnum


class Blur(IntEnum):
    CLEAR = 0
    NORMAL = 1
    HEAVY = 2


class Expression(IntEnum):
    TYPICAL = 0
    EXAGGERATE = 1


class Illumination(IntEnum):
    NORMAL = 0
    EXTREME = 1


class Invalid(IntEnum):
    """``INVALID`` marks boxes the annotators flagged as unusable; the
    evaluation never keeps them in easy/medium/hard."""

    VALID = 0
    INVALID = 1


class Occlusion(IntEnum):
    NONE = 0
    PARTIAL = 1
    HEAVY = 2


class Pose(IntEnum):
    TYPICAL = 0
    ATYPICAL = 1


# File column order after ``x y w h``; also the field order of FaceBox and
# the column order of attribute arrays (``(F, 6)`` uint8) used elsewhere.
ATTRIBUTES: dict[str, type[IntEnum]] = {
    "blur": Blur,
    "expression": Expression,
    "illumination": Illumination,
    "invalid": Invalid,
    "occlusion": Occlusion,
    "pose": Pose,
}
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(ATTRIBUTES)

# Largest valid code per column, for vectorised validation.
MAX_CODES: tuple[int, ...] = tuple(max(int(m) for m in enum) for enum in ATTRIBUTES.values())


def attribute_label(name: str, code: int) -> str:
    """Human-readable ``"blur=heavy"`` for an attribute name and code."""
    return f"{name}={ATTRIBUTES[name](code).name.lower()}"

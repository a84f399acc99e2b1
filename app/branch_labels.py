"""How the Detection and Live panels name a detector's three groups of faces.

Every detector splits its faces into "small", "medium" and "large", but the
split means different things (``DetectorSpec.group_kind``): ScaleFace's scale
branches and the size bins of single-head detectors follow the size range of
their name; SSD's layer groups are prediction layers grouped by their anchors,
and a box of any size can come from any of them (docs/adr/0004-ssd-branches.md).
A size range is printed only next to a group that follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.detect.registry import (
    DETECTORS,
    LAYER_GROUP,
    SCALE_BRANCH,
    SCALE_RANGE,
    SIZE_BIN,
)
from core.scale_ranges import SCALE_RANGES


@dataclass(frozen=True)
class GroupNaming:
    """title: the group box's title; assignment: how a box lands in a group (the tooltip);
    follows_size: whether a group's faces are of its size range (ranges are shown only then)."""

    title: str
    assignment: str
    follows_size: bool


NAMINGS: dict[str, GroupNaming] = {
    SCALE_BRANCH: GroupNaming(
        "Scale branches",
        "Each face is listed under the branch that detected it; each branch was trained "
        "for faces of its range (box height in image pixels).",
        follows_size=True,
    ),
    LAYER_GROUP: GroupNaming(
        "Layer groups",
        "Each face is listed under the group of the prediction layer that fired, not by its "
        "size: SSD's six layers are grouped by how large their anchors are on this image, "
        "and a layer can regress a box of any size (a small face found by a large-anchor layer "
        "is counted under 'large').",
        follows_size=False,
    ),
    SIZE_BIN: GroupNaming(
        "Size bins",
        "The detector has a single head: each face is binned by its box height in image pixels.",
        follows_size=True,
    ),
}


def group_kind_of(model: str, branch_kind: str = SCALE_RANGE) -> str:
    """The group kind of detector ``model``; an unknown one is named from its ``branch_kind``
    (heads that fired: layer groups, the naming that promises no size)."""
    spec = DETECTORS.get(model)
    if spec is not None:
        return spec.group_kind
    return SIZE_BIN if branch_kind == SCALE_RANGE else LAYER_GROUP


def naming_of(model: str, branch_kind: str = SCALE_RANGE) -> GroupNaming:
    return NAMINGS[group_kind_of(model, branch_kind)]


def range_text(group: str) -> str:
    """``"10–40 px"`` / ``"≥140 px"`` for a group name of :data:`SCALE_RANGES`."""
    low, high = SCALE_RANGES[group]
    return f"{low:.0f}–{high:.0f} px" if high != float("inf") else f"≥{low:.0f} px"


def group_name(naming: GroupNaming, group: str) -> str:
    """A face's group as a list shows it: the name where it is a size, else what it is."""
    return group if naming.follows_size else f"{group}-anchor layers"


def group_text(naming: GroupNaming, group: str, count: int | None = None) -> str:
    """A group's check-box text: its range where it follows one, else what it is."""
    text = f"{group} ({range_text(group)})" if naming.follows_size else group_name(naming, group)
    return text if count is None else f"{text}: {count}"


def group_tooltip(naming: GroupNaming, group: str) -> str:
    if naming.follows_size:
        return f"{group}: faces {range_text(group)} high. {naming.assignment}"
    return f"{group}: the layers whose anchors are {group} on this image. {naming.assignment}"

"""ScaleFace's three scale ranges and how a box is assigned to one.

ScaleFace (Yang et al., arXiv 1706.02863) trains three scale-variant detectors:
small faces 10–40 px, medium 40–140 px, large ≥ 140 px. Face size is the box
*height* in original-image pixels, as in the WIDER FACE paper's scale
statistics (heights are stable under the varying widths annotators draw).
Faces under 10 px are still reported and fall into ``small``.
"""

from __future__ import annotations

BRANCH_NAMES: tuple[str, ...] = ("small", "medium", "large")

# name -> (min height inclusive, max height exclusive) in pixels
SCALE_RANGES: dict[str, tuple[float, float]] = {
    "small": (10.0, 40.0),
    "medium": (40.0, 140.0),
    "large": (140.0, float("inf")),
}


def scale_range_of(height: float) -> str:
    """Name of the scale range a face of ``height`` pixels belongs to."""
    if height < SCALE_RANGES["small"][1]:
        return "small"
    if height < SCALE_RANGES["medium"][1]:
        return "medium"
    return "large"

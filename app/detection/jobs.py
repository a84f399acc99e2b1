"""Detection panel's worker job and list icons."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap

from app.canvas.overlays import branch_heatmaps
from app.detectors import DetectorCache
from core.detect.registry import detector_spec


def detection_job(detectors: DetectorCache, name: str, image: np.ndarray):
    """Worker: detect with ``name``; with a detector that has response maps, also build its
    heat maps. Returns ``(DetectionResult, {branch: BranchHeatmap})``. The detector runs with a
    low threshold once (its row's ``run_min_score``); the slider filters what is shown."""
    detector = detectors.get(name)
    min_score = detector_spec(name).run_min_score
    with_maps = getattr(detector, "detect_with_maps", None)
    if callable(with_maps):
        result, maps = with_maps(image, min_score=min_score)
        return result, branch_heatmaps(maps)
    return detector.detect(image, min_score=min_score), {}


def crop_icon(qimage: QImage, box: tuple[float, float, float, float], size: int) -> QIcon:
    """A list icon: the face's crop, scaled to fit ``size`` × ``size``."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    rect = QRect(x1, y1, max(1, x2 - x1), max(1, y2 - y1)).intersected(qimage.rect())
    crop = qimage.copy(rect).scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    return QIcon(QPixmap.fromImage(crop))

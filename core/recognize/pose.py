"""The yaw the verification pipeline uses: two PnP fits fused, because face-api's landmarks fail on profiles.

Measured on CFP dev (450 identities, 4500 frontal + 1800 profile images,
``bench/cfp.py --yaw``): face-api's 68-point net *frontalises* full profiles —
it still places both eyes and a symmetric jaw, so a PnP fit on all 68 points
puts the median profile at ~40° and only ~14 % of profiles above 50°. Two
things fix most of it:

1. fit only the 51 inner points (brows, nose, eyes, mouth): on a profile the
   jaw points sit on the silhouette, not on the 3-D jaw of the mean face;
2. fit CenterFace's 5 points as well, and keep the larger ``|yaw|`` of the two
   fits. Both fits are biased *towards* frontal on profiles and neither
   overshoots on frontal faces (≥ 99.9 % of CFP frontal images stay below 20°
   with either), so the larger one is the better estimate.

Fused, frontal-vs-profile at a 35° cut is 99.7 % accurate on CFP dev; ~79 % of
profiles come out above 50° (the rest mostly 35–50°: still frontalised).

What :func:`estimate_yaw` returns is therefore one step further: the fused
estimate's sign with a magnitude from :mod:`core.recognize.yaw_cues`, a
small net over the two fits and three 2-D cues that reads clean turns as PnP
does and keeps growing on full profiles (:func:`fused_yaw` is the step before it).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from core.recognize.face_model3d import MEAN_FACE_68
from core.recognize.yaw import NO_ESTIMATE, YawEstimate, solve_pose, yaw_from_points5
from core.recognize.yaw_cues import cue_vector, shared_model

#: Brows, nose, eyes and mouth: the 68-point indices used for the PnP fit (no jaw contour).
INNER_POINTS = np.arange(17, 68)


def yaw_from_inner68(landmarks68: np.ndarray) -> YawEstimate:
    """PnP on the 51 inner points of face-api's ``(68, 2)`` landmarks."""
    pts = np.asarray(landmarks68, dtype=np.float64).reshape(68, 2)
    return solve_pose(pts[INNER_POINTS], MEAN_FACE_68[INNER_POINTS], "landmarks68")


def fuse(a: YawEstimate, b: YawEstimate) -> YawEstimate:
    """The estimate with the larger ``|yaw|``; confidence halves when the two disagree on the side."""
    finite = [e for e in (a, b) if math.isfinite(e.yaw)]
    if not finite:
        return NO_ESTIMATE
    if len(finite) == 1:
        return finite[0]
    best = max(finite, key=lambda e: abs(e.yaw))
    other = a if best is b else b
    same_side = math.copysign(1.0, a.yaw) == math.copysign(1.0, b.yaw) or min(abs(a.yaw), abs(b.yaw)) < 10
    confidence = best.confidence * (1.0 if same_side else 0.5)
    return YawEstimate(
        best.yaw,
        best.pitch,
        best.roll,
        confidence,
        f"{best.source}>{other.source}",
        best.error,
    )


def fused_yaw(landmarks68: np.ndarray | None, points5: np.ndarray | None = None) -> YawEstimate:
    """The larger of the two PnP fits (see :func:`fuse`); no cue model."""
    return cues_and_fused(landmarks68, points5)[1]


def cues_and_fused(
    landmarks68: np.ndarray | None, points5: np.ndarray | None
) -> tuple[np.ndarray | None, YawEstimate]:
    """The cue model's ``(6,)`` input (``None`` without both point sets or a fused yaw) and the fused
    estimate it refines, from one run of each PnP fit."""
    e68 = yaw_from_inner68(landmarks68) if landmarks68 is not None else NO_ESTIMATE
    e5 = yaw_from_points5(points5) if points5 is not None else NO_ESTIMATE
    fused = fuse(e68, e5)
    if landmarks68 is None or points5 is None or not math.isfinite(fused.yaw):
        return None, fused
    return cue_vector(landmarks68, points5, fused.yaw, e68.yaw, e5.yaw), fused


def estimate_yaw(landmarks68: np.ndarray | None, points5: np.ndarray | None = None) -> YawEstimate:
    """The yaw of one face from its 68 landmarks and 5 detector points (the fused fit without them)."""
    cues, fused = cues_and_fused(landmarks68, points5)
    if cues is None:
        return fused
    magnitude = float(shared_model().abs_yaw(cues))
    return replace(fused, yaw=math.copysign(magnitude, fused.yaw), source=f"cues<{fused.source}")


def estimate_yaws(landmarks68: np.ndarray, points5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 68, 2)`` and ``(N, 5, 2)`` → ``(yaw (N,), confidence (N,))`` (NaN yaw when unknown)."""
    n = len(landmarks68)
    yaw = np.full(n, np.nan)
    conf = np.zeros(n)
    for i in range(n):
        e = estimate_yaw(landmarks68[i], points5[i])
        yaw[i], conf[i] = e.yaw, e.confidence
    return yaw, conf

"""Per-frame quality gates: is this face good enough to enrol (or to verify)?

A frame passes when it shows one face (or one clearly dominant face), that
face is tall enough, turned little enough, sharp and lit. Each failed gate
adds a sentence to :attr:`FrameQuality.reasons`, so the UI can say *why* a
frame was rejected ("Face too small (72 px, need 100 px): come closer.").

Measures (documented thresholds, see ``docs/adr/0013-face-unlock.md``):

* **faces**: the detections at or above the detector threshold; a second face
  whose area is at least :attr:`QualityGates.dominance` times smaller than the
  largest is ignored (a poster in the background), otherwise "several faces".
* **face height**: the detector box height in original pixels.
* **yaw**: the fused PnP yaw (:mod:`core.recognize.pose`), degrees.
* **sharpness**: variance of the Laplacian of the grey face crop resized to
  :data:`SHARPNESS_HEIGHT` px high (INTER_AREA), so the value does not grow
  with the face's pixel size; measured on the bundled sample faces.
* **brightness**: mean grey level (0-255) of the face crop.

Coordinates: boxes ``(x1, y1, x2, y2)`` in original image pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.types import Detection

#: The face crop is resized to this height before the Laplacian (scale-independent sharpness).
SHARPNESS_HEIGHT = 112


@dataclass(frozen=True)
class QualityGates:
    """Thresholds of the gates (``None`` disables a gate).

    min_face_px: minimum face box height in original pixels (issue 8: 100).
    max_abs_yaw: maximum ``|yaw|`` in degrees (issue 8: 25).
    min_sharpness: minimum Laplacian variance at :data:`SHARPNESS_HEIGHT` px.
    min_brightness / max_brightness: mean grey level window of the face crop.
    dominance: a second face counts only if its area is more than ``1 / dominance`` of the largest.
    single_face: refuse frames with several faces of similar size (enrolment); verification
        scores the largest face whoever else is in view.
    """

    min_face_px: float | None = 100.0
    max_abs_yaw: float | None = 25.0
    min_sharpness: float | None = 40.0
    min_brightness: float | None = 50.0
    max_brightness: float | None = 235.0
    dominance: float = 2.5
    single_face: bool = True


#: Enrolment: every gate of issue 8.
ENROL_GATES = QualityGates()
#: Verification: a face must still be near and roughly frontal (a profile is not scored at all), but
#: blur and light only lower the score, which the threshold already accounts for.
VERIFY_GATES = QualityGates(
    min_face_px=80.0,
    max_abs_yaw=35.0,
    min_sharpness=None,
    min_brightness=30.0,
    max_brightness=None,
    single_face=False,
)


@dataclass(frozen=True)
class FrameQuality:
    """The gates' verdict on one frame.

    ok: every enabled gate passed.
    reasons: one human-readable sentence per failed gate (empty when ``ok``).
    face_count: faces counted (after ignoring small background faces).
    box: the main face ``(x1, y1, x2, y2)`` or ``None``.
    face_px: main face box height; yaw: degrees (NaN unknown);
    sharpness: Laplacian variance (NaN when not measured); brightness: mean grey 0-255.
    """

    ok: bool
    reasons: tuple[str, ...] = ()
    face_count: int = 0
    box: tuple[float, float, float, float] | None = None
    face_px: float = math.nan
    yaw: float = math.nan
    sharpness: float = math.nan
    brightness: float = math.nan
    failed: tuple[str, ...] = field(
        default=()
    )  # gate ids: "no_face", "faces", "size", "yaw", "blur", "dark", "bright"

    def to_json(self) -> dict:
        def r(v: float, n: int = 1) -> float | None:
            return None if not math.isfinite(v) else round(float(v), n)

        return {
            "ok": self.ok,
            "reasons": list(self.reasons),
            "failed": list(self.failed),
            "face_count": self.face_count,
            "box": None if self.box is None else [round(float(v), 1) for v in self.box],
            "face_px": r(self.face_px),
            "yaw": r(self.yaw),
            "sharpness": r(self.sharpness),
            "brightness": r(self.brightness),
        }


def _area(face: Detection) -> float:
    return max(face.width, 0.0) * max(face.height, 0.0)


def main_faces(faces: list[Detection], dominance: float) -> list[Detection]:
    """Faces by decreasing area, without those ``dominance`` times smaller than the largest."""
    ordered = sorted(faces, key=lambda f: -_area(f))
    if not ordered:
        return []
    biggest = _area(ordered[0])
    return [f for f in ordered if _area(f) * dominance > biggest]


def face_crop(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The box clipped to the image, as a view (``(h, w, 3)``, possibly empty)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    xa, ya = max(0, int(math.floor(x1))), max(0, int(math.floor(y1)))
    xb, yb = min(w, int(math.ceil(x2))), min(h, int(math.ceil(y2)))
    return image[ya : max(ya, yb), xa : max(xa, xb)]


def sharpness_and_brightness(
    image: np.ndarray, box: tuple[float, float, float, float]
) -> tuple[float, float]:
    """``(Laplacian variance at SHARPNESS_HEIGHT px, mean grey 0-255)`` of the face crop (NaN if empty)."""
    crop = face_crop(image, box)
    if crop.size == 0 or crop.shape[0] < 2 or crop.shape[1] < 2:
        return math.nan, math.nan
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    brightness = float(grey.mean())
    width = max(2, round(grey.shape[1] * SHARPNESS_HEIGHT / grey.shape[0]))
    interp = cv2.INTER_AREA if grey.shape[0] > SHARPNESS_HEIGHT else cv2.INTER_LINEAR
    small = cv2.resize(grey, (width, SHARPNESS_HEIGHT), interpolation=interp)
    return float(cv2.Laplacian(small, cv2.CV_64F).var()), brightness


def count_and_size(faces: list[Detection], gates: QualityGates) -> FrameQuality:
    """The cheap gates (face count, size) before landmarks are run; ``box`` is the main face."""
    kept = main_faces(faces, gates.dominance)
    if not kept:
        return FrameQuality(False, ("No face found: look at the camera.",), 0, failed=("no_face",))
    main = kept[0]
    reasons, failed = [], []
    if gates.single_face and len(kept) > 1:
        reasons.append(f"{len(kept)} faces of similar size: only the person enrolling may be in view.")
        failed.append("faces")
    if gates.min_face_px is not None and main.height < gates.min_face_px:
        reasons.append(
            f"Face too small ({main.height:.0f} px, need {gates.min_face_px:.0f} px): come closer."
        )
        failed.append("size")
    box = tuple(float(v) for v in main.box)
    return FrameQuality(not reasons, tuple(reasons), len(kept), box, float(main.height), failed=tuple(failed))


def assess(
    image: np.ndarray,
    faces: list[Detection],
    yaw: float,
    gates: QualityGates,
    pre: FrameQuality | None = None,
) -> FrameQuality:
    """Every gate for the main face of ``faces`` (``yaw`` of that face, NaN if unknown).

    pre: the result of :func:`count_and_size` when the caller already ran it.
    """
    base = pre if pre is not None else count_and_size(faces, gates)
    if base.box is None:
        return base
    reasons, failed = list(base.reasons), list(base.failed)
    if gates.max_abs_yaw is not None:
        if not math.isfinite(yaw):
            reasons.append("Head pose unknown: face the camera.")
            failed.append("yaw")
        elif abs(yaw) >= gates.max_abs_yaw:
            side = "left" if yaw < 0 else "right"
            reasons.append(
                f"Head turned {abs(yaw):.0f}° to the {side} (limit {gates.max_abs_yaw:.0f}°): face the camera."
            )
            failed.append("yaw")
    sharp, bright = sharpness_and_brightness(image, base.box)
    if gates.min_sharpness is not None and not (sharp >= gates.min_sharpness):
        reasons.append(f"Image blurred (sharpness {sharp:.0f}, need {gates.min_sharpness:.0f}): hold still.")
        failed.append("blur")
    if gates.min_brightness is not None and not (bright >= gates.min_brightness):
        reasons.append(
            f"Face too dark (brightness {bright:.0f}, need {gates.min_brightness:.0f}): add light."
        )
        failed.append("dark")
    if gates.max_brightness is not None and bright > gates.max_brightness:
        reasons.append(f"Face over-exposed (brightness {bright:.0f}): avoid light behind the camera.")
        failed.append("bright")
    return FrameQuality(
        not reasons,
        tuple(reasons),
        base.face_count,
        base.box,
        base.face_px,
        float(yaw),
        sharp,
        bright,
        tuple(failed),
    )

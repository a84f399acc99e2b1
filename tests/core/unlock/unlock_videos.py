"""Synthetic unlock videos: one person's face (from a bundled sample photo) in front of a webcam.

The bundled samples (``resources/samples/faceapi_demo_*.jpg``, MIT, see their
NOTICE) show different people; :data:`PEOPLE` names a few near-frontal faces
by their CenterFace box in the sample. A video puts the face (with some hair
and background around it) at ~200 px high in a 640×480 frame and moves and
rescales it a little from frame to frame, as a head in front of a laptop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.io.imageio import load_image
from core.paths import SAMPLES_DIR

# name -> (sample number, face box x1 y1 x2 y2 in the 1280-px sample); |yaw| < 20° each
PEOPLE = {
    "ann": (6, (774, 198, 926, 396)),
    "bea": (6, (983, 164, 1141, 384)),
    "cat": (5, (243, 588, 385, 783)),
    "dee": (6, (167, 321, 317, 513)),
}
SIZE = (640, 480)
FPS = 25.0
MARGIN = 0.45  # context around the face box, in box sizes on each side (neighbours stay out)


def face_patch(person: str, face_px: int = 200) -> np.ndarray:
    """The person's face with context, scaled so that the face box is ``face_px`` high (RGB uint8)."""
    sample, (x1, y1, x2, y2) = PEOPLE[person]
    image = load_image(SAMPLES_DIR / f"faceapi_demo_{sample}.jpg")
    w, h = x2 - x1, y2 - y1
    xa, ya = max(0, int(x1 - MARGIN * w)), max(0, int(y1 - MARGIN * h))
    xb, yb = min(image.shape[1], int(x2 + MARGIN * w)), min(image.shape[0], int(y2 + MARGIN * h))
    crop = image[ya:yb, xa:xb]
    scale = face_px / h
    return cv2.resize(
        crop, (round(crop.shape[1] * scale), round(crop.shape[0] * scale)), interpolation=cv2.INTER_AREA
    )


def frames(
    person: str, count: int, face_px: int = 200, seed: int = 0, brightness: float = 1.0, blur: float = 0.0
) -> list[np.ndarray]:
    """``count`` RGB 640×480 frames of ``person``: small moves and scale changes (seeded)."""
    rng = np.random.default_rng(seed)
    width, height = SIZE
    ramp = np.linspace(70, 150, width, dtype=np.float32)
    background = np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)
    out = []
    for i in range(count):
        px = int(face_px * (1.0 + 0.05 * np.sin(i / 4.0) + rng.normal(0, 0.01)))
        patch = face_patch(person, px)
        ph, pw = min(patch.shape[0], height), min(patch.shape[1], width)
        cx = width / 2 + 25 * np.sin(i / 5.0) + rng.normal(0, 2)
        cy = height / 2 + 10 * np.cos(i / 6.0) + rng.normal(0, 2)
        x, y = int(np.clip(cx - pw / 2, 0, width - pw)), int(np.clip(cy - ph / 2, 0, height - ph))
        frame = background.copy()
        frame[y : y + ph, x : x + pw] = patch[:ph, :pw]
        frame = np.clip(frame * brightness + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8)
        if blur > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), blur)
        out.append(frame)
    return out


def write_video(path: Path, images: list[np.ndarray], fps: float = FPS) -> Path:
    """An MJPG ``.avi`` of RGB frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened(), "OpenCV cannot write MJPG here"
    try:
        for image in images:
            writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def person_video(
    path: Path, person: str, count: int = 20, seed: int = 0, fps: float = 10.0, **kwargs
) -> Path:
    """A video of ``person`` at ``fps`` (10 by default: enrolment takes every other frame, 0.2 s apart)."""
    return write_video(path, frames(person, count, seed=seed, **kwargs), fps)


def webcam_frame(image: np.ndarray, detector, face_frac: float = 0.4, size=SIZE) -> np.ndarray:
    """The photo framed as a laptop webcam would see the person: a 4:3 crop centred on the largest
    face, whose height is ``face_frac`` of the frame (≈190 px of 480), resized to 640×480 (grey
    beyond the photo's edges; a low-resolution photo is upsampled, like a poor webcam)."""
    w, h = size
    faces = detector.detect(image).faces
    if not faces:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    f = max(faces, key=lambda d: d.width * d.height)
    crop_h = f.height / face_frac
    cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
    scale = h / crop_h
    m = np.array([[scale, 0, w / 2 - cx * scale], [0, scale, h / 2 - cy * scale]], dtype=np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, m, (w, h), flags=interp, borderValue=(110, 110, 110))


def jitter(frame: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A small shift / zoom / light change of a frame (a head and a camera are never still)."""
    rng = np.random.default_rng(seed * 1000 + k)
    h, w = frame.shape[:2]
    zoom = 1.0 + rng.uniform(-0.04, 0.04)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-3, 3), zoom)
    m[:, 2] += rng.uniform(-12, 12, 2)
    out = cv2.warpAffine(frame, m, (w, h), borderValue=(110, 110, 110))
    return np.clip(out * rng.uniform(0.85, 1.1) + rng.normal(0, 2, out.shape), 0, 255).astype(np.uint8)

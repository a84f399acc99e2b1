"""What do human's antispoof/liveness scores say on our inputs? A score study, printed as tables.

Usage::

    python tools/liveness_ref_study.py [--no-shared]
    python tools/liveness_ref_study.py --timing [--threads 2]

Faces: every face >= 60 px high (CenterFace, up to 3 per photo, duplicates
removed) in ``resources/samples`` and, unless ``--no-shared``, the photos of
``../shared/data/identities_dev`` (read in place, nothing is copied or written).

Conditions, each applied to the whole photo before the same box is scored:
the original; crude *simulations* of a presentation attack (a printed photo:
contrast loss, desaturation, paper tint, halftone dots, slight blur; a phone
or monitor screen: subpixel stripes, a moire pattern, brightness/blue cast,
slight blur; a low-resolution recapture: 4x down/up + JPEG q30) and plain
degradations (blur, grey); and two non-faces (flat grey, uniform noise).
These are not real attacks — nothing here was photographed off paper or a
screen — so a model that separates them is not thereby shown to stop
attacks; one that does not separate them surely does not.

Reported per condition: median and 10-90 % range of each score, the pass
rate at human's 0.6 rule, and the AUC of "original scores higher than this
condition" (0.5 = no separation, 1 = perfect). Last, the score spread under
small box changes (+-5 % shift/scale), since human crops from blazeface boxes
and our detectors draw their boxes differently.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.detect.registry import create_detector  # noqa: E402
from core.io.imageio import ImageLoadError, load_image  # noqa: E402
from core.paths import SAMPLES_DIR, SHARED_DIR  # noqa: E402
from core.recognize.liveness import LivenessChecker  # noqa: E402

MIN_FACE = 60


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _grid(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    return yy.astype(np.float32), xx.astype(np.float32)


def printed(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32)
    grey = x.mean(axis=2, keepdims=True)
    x = 0.6 * x + 0.4 * grey  # inks desaturate
    x = 0.72 * x + 38  # paper: lifted blacks, dull whites
    x *= np.array([1.0, 0.97, 0.86], dtype=np.float32)  # warm paper tint
    yy, xx = _grid(img)
    x += 9 * (np.sin(xx * 2.1) * np.sin(yy * 2.1))[..., None]  # halftone dots (~3 px)
    return _blur(np.clip(x, 0, 255).astype(np.uint8), 0.8)


def screen(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32) / 255
    x = x**0.85 * 1.08  # brighter, flatter
    x *= np.array([0.94, 1.0, 1.08], dtype=np.float32)  # blue cast
    yy, xx = _grid(img)
    stripes = np.full(img.shape, 0.78, dtype=np.float32)
    for c in range(3):
        stripes[:, :, c][(xx.astype(int) % 3) == c] = 1.0  # RGB subpixel columns
    moire = 1 + 0.10 * np.sin(2 * np.pi * (0.113 * xx + 0.041 * yy))[..., None]
    x = x * stripes * moire
    return _blur(np.clip(x * 255, 0, 255).astype(np.uint8), 0.7)


def recapture(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
    big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    ok, enc = cv2.imencode(".jpg", big[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 30])
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def grey(img: np.ndarray) -> np.ndarray:
    return np.repeat(img.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)


CONDITIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "original": lambda img: img,
    "sim. printed photo": printed,
    "sim. screen replay": screen,
    "sim. low-res recapture": recapture,
    "blur sigma 3": lambda img: _blur(img, 3.0),
    "greyscale": grey,
    "flat grey (no face)": lambda img: np.full_like(img, 128),
    "uniform noise (no face)": lambda img: np.random.default_rng(0).integers(
        0, 256, img.shape, dtype=np.uint8
    ),
}


def photos(shared: bool) -> list[Path]:
    paths = sorted(SAMPLES_DIR.glob("*.jpg"))
    if shared and (SHARED_DIR / "data" / "identities_dev").is_dir():
        root = SHARED_DIR / "data" / "identities_dev"
        paths += sorted(p for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return paths


def faces(paths: list[Path]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, image, (M, 4) boxes) per distinct photo with at least one face >= MIN_FACE px."""
    detector = create_detector("centerface")
    seen: set[str] = set()
    out = []
    for path in paths:
        try:
            image = load_image(path)
        except ImageLoadError:
            continue
        digest = hashlib.md5(image.tobytes()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        found = sorted(
            (f for f in detector.detect(image).faces if f.height >= MIN_FACE), key=lambda f: -f.score
        )
        if found:
            out.append((path.name, image, np.array([f.box for f in found[:3]], dtype=np.float64)))
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(pos > neg) + P(tie) / 2 (Mann-Whitney)."""
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def jitter_spread(checker: LivenessChecker, data: list) -> tuple[float, float]:
    """Median over faces of the range (max - min) of antispoof and liveness under +-5 % box changes."""
    spans_a, spans_l = [], []
    moves = [(dx, dy, s) for dx in (-0.05, 0, 0.05) for dy in (-0.05, 0, 0.05) for s in (0.95, 1.05)]
    for _, image, boxes in data:
        for x1, y1, x2, y2 in boxes:
            w, h = x2 - x1, y2 - y1
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            variants = [
                (
                    cx + dx * w - s * w / 2,
                    cy + dy * h - s * h / 2,
                    cx + dx * w + s * w / 2,
                    cy + dy * h + s * h / 2,
                )
                for dx, dy, s in moves
            ]
            res = checker.score_batch(image, variants)
            a = [r.antispoof for r in res]
            v = [r.liveness for r in res]
            spans_a.append(max(a) - min(a))
            spans_l.append(max(v) - min(v))
    return float(np.median(spans_a)), float(np.median(spans_l))


def study(shared: bool = True) -> int:
    checker = LivenessChecker(device="cpu")
    data = faces(photos(shared))
    n_faces = sum(len(b) for _, _, b in data)
    print(f"{n_faces} faces in {len(data)} photos (shared data: {shared and SHARED_DIR.is_dir()})\n")
    scores: dict[str, dict[str, np.ndarray]] = {}
    for cond, fn in CONDITIONS.items():
        res = [r for _, image, boxes in data for r in checker.score_batch(fn(image), boxes)]
        scores[cond] = {
            "antispoof": np.array([r.antispoof for r in res]),
            "liveness": np.array([r.liveness for r in res]),
            "real": np.array([r.real_probability for r in res]),
        }
    print(
        "| condition | antispoof median [p10, p90] | liveness median [p10, p90] | pass @0.6 | AUC antispoof / liveness / min |"
    )
    print("|---|---|---|---|---|")
    base = scores["original"]
    for cond, s in scores.items():
        cells = []
        for key in ("antispoof", "liveness"):
            p10, p50, p90 = np.percentile(s[key], [10, 50, 90])
            cells.append(f"{p50:.2f} [{p10:.2f}, {p90:.2f}]")
        aucs = " / ".join(f"{auc(base[k], s[k]):.2f}" for k in ("antispoof", "liveness", "real"))
        print(f"| {cond} | {cells[0]} | {cells[1]} | {(s['real'] >= 0.6).mean():.0%} | {aucs} |")
    span_a, span_l = jitter_spread(checker, data)
    print(
        f"\nbox +-5 % shift/scale: median per-face score range antispoof {span_a:.2f}, liveness {span_l:.2f}"
    )
    return 0


def _time(fn: Callable[[], object], repeats: int) -> np.ndarray:
    for _ in range(5):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return np.array(out)


def timing(threads: int = 2, repeats: int = 200) -> int:
    """ms per face on a 640x480 frame (a ~200 px face), whole call and by stage, on the CPU."""
    import torch

    from core.recognize.liveness import _resize, crop_faces

    torch.set_num_threads(threads)
    checker = LivenessChecker(device="cpu")
    image = load_image(SAMPLES_DIR / "faceapi_demo_1.jpg")
    frame = cv2.resize(image, (640, 426), interpolation=cv2.INTER_AREA)
    frame = np.pad(frame, ((27, 27), (0, 0), (0, 0)))  # 640x480, faces ~100 px
    frame = cv2.resize(frame[60:300, 180:500], (640, 480), interpolation=cv2.INTER_LINEAR)  # near faces
    boxes = np.array([f.box for f in create_detector("centerface").detect(frame).faces])
    box = boxes[np.argmax(boxes[:, 3] - boxes[:, 1])]
    faces = crop_faces(frame, box[None])
    cl = torch.channels_last
    a_in = _resize(faces, 128).contiguous(memory_format=cl)
    l_in = _resize(faces, 32).contiguous(memory_format=cl)
    stages = {
        "score(frame, box), total": lambda: checker.score(frame, box),
        "crop to 192 (human face tensor)": lambda: crop_faces(frame, box[None]),
        "resize 192->128 and ->32": lambda: (_resize(faces, 128), _resize(faces, 32)),
        "antispoof net": lambda: checker.antispoof(a_in),
        "liveness net": lambda: checker.liveness(l_in),
        "score_batch, 4 faces (per face)": lambda: checker.score_batch(frame, [box] * 4),
    }
    load = os.getloadavg()[0]
    print(
        f"CPU, torch {torch.__version__}, {threads} threads, face {box[3] - box[1]:.0f} px, load average {load:.1f}"
    )
    print("| stage | p50 ms | p95 ms | min ms |\n|---|---|---|---|")
    with torch.inference_mode():
        for name, fn in stages.items():
            t = _time(fn, repeats) / (4 if "4 faces" in name else 1)
            print(f"| {name} | {np.median(t):.2f} | {np.percentile(t, 95):.2f} | {t.min():.2f} |")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-shared", action="store_true", help="bundled samples only")
    parser.add_argument("--timing", action="store_true", help="measure ms per face instead")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    raise SystemExit(timing(args.threads) if args.timing else study(shared=not args.no_shared))

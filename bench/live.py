"""Live video: display rate vs detection rate, per detector, at 640×480.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/live.py [--models centerface ssd] [--threads 1 2]
        [--seconds 6] [--headless] [--device cuda] [--json OUT]

A synthetic 640×480, 25 fps MJPG video (a pan across the bundled sample photo:
three faces moving through the frame) plays in the real Live panel (offscreen
Qt, tracking on) for each detector and torch thread count. Reported per run:
capture fps (frames the source published), display fps (frames put on the
canvas), detection fps (results), mean per-stage ms, mean capture→result
latency, and how many source frames never reached the screen. ``--headless``
runs the same source + :func:`core.detect.live.loop.run_live` without Qt,
with a display thread that converts every new frame (for machines without Qt).

Target (issue 10): display at the source rate (≥ 25 fps for a 640×480 source)
while detection runs at its own rate. The machine is shared: the load average
is printed with the figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.machine import LoadWatch  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.paths import SAMPLES_DIR  # noqa: E402

SIZE = (640, 480)
FPS = 25.0


def make_video(path: Path, seconds: float) -> Path:
    """A left-to-right pan over the sample photo (scaled to 1100 px wide) as 640×480 MJPG frames."""
    photo = load_image(SAMPLES_DIR / "faceapi_demo_1.jpg")
    scaled = cv2.resize(
        photo, (1100, round(1100 * photo.shape[0] / photo.shape[1])), interpolation=cv2.INTER_AREA
    )
    frames = int(seconds * FPS)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    span_x, span_y = scaled.shape[1] - SIZE[0], max(0, scaled.shape[0] - SIZE[1])
    for i in range(frames):
        x = round(span_x * i / max(1, frames - 1))
        y = round(span_y * (0.5 + 0.5 * np.sin(i / 20)))
        crop = scaled[y : y + SIZE[1], x : x + SIZE[0]]
        writer.write(cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _summary(model, threads, frames, wall, captured, shown, results, device) -> dict:
    stages: dict[str, list[float]] = {}
    for r in results:
        for k, v in r.timings_ms.items():
            stages.setdefault(k, []).append(v)
    latency = [r.latency_ms for r in results]
    return {
        "model": model,
        "device": device,
        "threads": threads,
        "source_fps": FPS,
        "frames": frames,
        "capture_fps": round(captured / wall, 1),
        "display_fps": round(shown / wall, 1),
        "detect_fps": round(len(results) / wall, 2),
        "never_shown": frames - shown,
        "stage_ms": {k: round(float(np.mean(v)), 1) for k, v in stages.items()},
        "latency_ms": round(float(np.mean(latency)), 1) if latency else None,
        "faces_per_result": round(float(np.mean([len(r.faces) for r in results])), 2) if results else 0,
    }


def run_gui(video: Path, model: str, threads: int, device: str) -> dict:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Keys, Settings
    from core.io.video.reader import SourceSpec

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(Path(tmp) / "settings.ini")
        settings.set(Keys.DETECTION_AUTO, False)
        window = MainWindow(settings)
        window.show()
        panel = window.panel("live")
        window.show_panel("live")
        panel.model_box.setCurrentText(model)
        panel.track_box.setChecked(True)
        detector = panel.controller.detectors.get(model)
        torch.set_num_threads(threads)
        detector.detect(np.zeros((SIZE[1], SIZE[0], 3), np.uint8))  # warm-up
        results, shown = [], []
        panel.controller.result_ready.connect(results.append)
        panel.controller.frame_shown.connect(lambda f: shown.append(f.index))
        gc.collect()
        gc.freeze()  # as app.application does after start-up
        panel.open_source(SourceSpec("file", str(video)))
        while not panel.controller.active:
            app.processEvents()
            time.sleep(0.001)
        start = time.monotonic()
        source = panel.controller.source
        while source.state.value != "ended":
            app.processEvents()
            time.sleep(0.001)
        wall = time.monotonic() - start
        frames, captured = source.frames_read, source.capture_rate.count
        while panel.controller.busy:
            app.processEvents()
        window.close()
        gc.unfreeze()
    return _summary(model, threads, frames, wall, captured, len(set(shown)), results, device)


def run_headless(video: Path, model: str, threads: int, device: str) -> dict:
    from core.detect.live.loop import LiveDetector, run_live
    from core.detect.registry import create_detector
    from core.io.video.source import VideoSource

    detector = create_detector(model, device=device)
    torch.set_num_threads(threads)
    detector.detect(np.zeros((SIZE[1], SIZE[0], 3), np.uint8))
    source = VideoSource(str(video))
    shown: list[int] = []
    stop = threading.Event()

    def display() -> None:  # what a screen would do: take every new frame, convert it
        seq = 0
        while not stop.is_set():
            frame = source.wait_newer(seq, timeout=0.2)
            if frame is None:
                if source.state.value in ("ended", "failed", "closed"):
                    return
                continue
            seq = frame.seq
            cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGRA)
            shown.append(frame.index)

    viewer = threading.Thread(target=display)
    source.start()
    viewer.start()
    run = run_live(source, LiveDetector(detector, tracking=True, run_min_score=0.2))
    stop.set()
    viewer.join()
    source.close()
    return _summary(
        model,
        threads,
        source.frames_read,
        run.wall_s,
        run.frames_published,
        len(set(shown)),
        run.results,
        device,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["centerface", "ssd"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--headless", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ["FACESCOPE_DEVICE"] = args.device
    load = LoadWatch()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        video = make_video(Path(tmp) / "pan.avi", args.seconds)
        for model in args.models:
            for threads in args.threads:
                runner = run_headless if args.headless else run_gui
                row = runner(video, model, threads, args.device)
                rows.append(row)
                print(
                    f"{model:10s} {args.device:5s} threads {threads}: capture {row['capture_fps']:5.1f} fps  "
                    f"display {row['display_fps']:5.1f} fps  detect {row['detect_fps']:5.2f} fps  "
                    f"never shown {row['never_shown']:3d}/{row['frames']}  latency {row['latency_ms']} ms  "
                    f"stages {row['stage_ms']}",
                    flush=True,
                )
    mode = "headless" if args.headless else "GUI (offscreen Qt)"
    print(load.footer(f"{mode}, {SIZE[0]}x{SIZE[1]} @ {FPS:.0f} fps source"))
    load.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

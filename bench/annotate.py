"""Annotation editor speed and memory on WIDER val (needs ../shared; nothing is written there).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/annotate.py

Targets (issue 5): the WIDER val split (3226 images, 39,704 faces) opens in
under 2 s; switching images takes under 100 ms with prefetch. Label files are
copied to a temporary folder first, so sidecars and journals land there.

Figures:
- engine open: ``AnnotationSplit.open_wider`` on the val txt (parse + per-image chunks + review sidecar).
- GUI open: the panel's open until the first image is shown (worker parse, 3226-row file list).
- save after one edit: prepare (GUI thread) and write (worker) of the full val txt.
- image switch: next image until its boxes are on the canvas, on the 100 WIDER val 416-px dev
  images and the 5 crowded native-resolution ones; "prefetched" dwells 300 ms on each image
  first (an annotator looks at it), "cold" drops the image cache before every switch.
- memory: RSS growth of the process after opening the val split in the GUI.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.paths import SHARED_DIR  # noqa: E402

VAL_TXT = SHARED_DIR / "data" / "wider_val_gt" / "wider_face_val_bbx_gt.txt"
DEV_416 = SHARED_DIR / "data" / "wider_val_416_dev"
DEV_NATIVE = SHARED_DIR / "data" / "wider_val_native_dev"
TARGET_OPEN_S = 2.0
TARGET_SWITCH_MS = 100.0


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _wait(app, condition, timeout_s: float = 30.0) -> None:
    """Run the event loop until ``condition()`` holds.

    The loop sleeps in Qt (GIL released) and a 1 ms timer polls the condition, so
    the worker threads being measured are not slowed by a Python busy loop.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s

    def poll() -> None:
        if condition() or time.perf_counter() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(poll)
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("bench step timed out")


def bench_engine(tmp: Path) -> None:
    from core.annotate.faces import moved
    from core.annotate.split import AnnotationSplit, write_plan

    label = tmp / "val.txt"
    shutil.copyfile(VAL_TXT, label)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        split = AnnotationSplit.open_wider(label, tmp / "no_images")
        times.append(time.perf_counter() - start)
        split.close()
    print(
        f"engine open, WIDER val ({len(split)} images, {split.face_count()} faces): "
        f"median {statistics.median(times):.3f} s (target < {TARGET_OPEN_S:.0f} s)"
    )
    faces = split.faces(0)
    split.set_faces(0, [moved(faces[0], 1, 0), *faces[1:]])
    start = time.perf_counter()
    plan = split.prepare_save()
    prepared = time.perf_counter()
    write_plan(plan)
    written = time.perf_counter()
    split.finish_save(plan)
    print(
        f"save after one edit (full val txt, fsync'ed): prepare {1000 * (prepared - start):.1f} ms "
        f"(GUI thread), write {1000 * (written - prepared):.1f} ms (worker), "
        f"finish {1000 * (time.perf_counter() - written):.1f} ms"
    )
    split.close()


def _switches(app, window, panel, label: Path, images_root: Path, dwell_s: float, cold: bool) -> list[float]:
    prefetch = window.images.prefetch
    if cold:
        window.images.prefetch = lambda path: None
    try:
        return _run_switches(app, window, panel, label, images_root, dwell_s, cold)
    finally:
        window.images.prefetch = prefetch


def _run_switches(app, window, panel, label, images_root, dwell_s: float, cold: bool) -> list[float]:
    panel.open_split(label, images_root)
    _wait(app, lambda: panel.editor.split is not None and panel.editor.current == 0)
    out = []
    for row in range(1, window.file_model.rowCount()):
        if dwell_s:
            end = time.perf_counter() + dwell_s
            _wait(app, lambda e=end: time.perf_counter() >= e)
        if cold:
            window.images._cache.clear()
            _wait(app, lambda: not window.images._pending)  # no decode left in flight either
        start = time.perf_counter()
        window.next_image()
        _wait(app, lambda r=row: panel.editor.current == r)
        app.processEvents()  # the paint
        out.append(1000 * (time.perf_counter() - start))
    return out


def _summary(name: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    print(
        f"  {name}: median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, "
        f"max {values[-1]:.1f} ms over {len(values)} switches (target < {TARGET_SWITCH_MS:.0f} ms)"
    )


def bench_gui(tmp: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow
    from app.settings import Keys, Settings

    app = QApplication.instance() or QApplication([])
    settings = Settings(tmp / "settings.ini")
    settings.set(Keys.DETECTION_AUTO, False)
    window = MainWindow(settings)
    window.resize(1600, 1000)
    window.show()
    panel = window.panel("annotation")
    rss_before = _rss_mb()
    label = tmp / "gui_val.txt"
    shutil.copyfile(VAL_TXT, label)
    start = time.perf_counter()
    panel.open_split(label, tmp / "no_images")
    _wait(app, lambda: panel.editor.split is not None and panel.editor._row == 0)
    app.processEvents()
    print(
        f"GUI open, WIDER val: {time.perf_counter() - start:.3f} s until the first row is shown "
        f"(target < {TARGET_OPEN_S:.0f} s); RSS +{_rss_mb() - rss_before:.0f} MB"
    )

    for name, root, txt in (
        ("WIDER val 416-px dev (100 images)", DEV_416 / "images", DEV_416 / "wider_face_val_bbx_gt.txt"),
        (
            "WIDER val native dev (5 crowded 1024-px images)",
            DEV_NATIVE / "images",
            DEV_NATIVE / "wider_face_val_bbx_gt.txt",
        ),
    ):
        copy = tmp / f"{root.parent.name}.txt"
        shutil.copyfile(txt, copy)
        print(f"image switch, {name}:")
        _summary("prefetched (300 ms dwell)", _switches(app, window, panel, copy, root, 0.3, cold=False))
        _summary(
            "cold (no cache, decode included)", _switches(app, window, panel, copy, root, 0.0, cold=True)
        )

    # a crowded edit: rebuild the canvas with 1000 boxes after one change
    from core.wider.labels import FaceBox

    editor = panel.editor
    crowd = [FaceBox(float(5 + (k % 40) * 10), float(5 + (k // 40) * 10), 8.0, 8.0) for k in range(1000)]
    start = time.perf_counter()
    editor.push(crowd, "bench", set())
    app.processEvents()
    first = 1000 * (time.perf_counter() - start)
    start = time.perf_counter()
    editor.push(crowd[:-1], "bench", set())
    app.processEvents()
    print(
        f"edit on a 1000-face image (journal fsync + canvas update + paint): first {first:.1f} ms "
        f"(1000 new box items), next {1000 * (time.perf_counter() - start):.1f} ms"
    )
    editor.undo()
    editor.undo()
    print(f"RSS at the end: {_rss_mb():.0f} MB")
    window.close()


def main() -> int:
    if not VAL_TXT.exists():
        print(f"needs {VAL_TXT} (../shared is absent)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        bench_engine(Path(tmp))
        bench_gui(Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

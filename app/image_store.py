"""Decoding images off the GUI thread, with a small LRU cache and prefetch.

The store never decodes on the GUI thread: :meth:`ImageStore.request` returns
a cached image at once or submits a decode job and calls back later. Errors are
cached too (as :class:`~core.io.imageio.ImageLoadError`), so an unreadable file
shows its message immediately the second time and navigation never stalls.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.canvas.image_view import qimage_from_rgb
from app.worker import JobRunner
from core.io.imageio import ImageLoadError, load_image


@dataclass
class LoadedImage:
    """A decoded image (RGB uint8 ``(H, W, 3)``) or the error that prevented it.

    qimage is built on the worker thread too, so showing it costs the GUI
    thread only the pixmap upload.
    """

    path: Path
    image: np.ndarray | None
    error: ImageLoadError | None
    decode_ms: float
    qimage: QImage | None = None


def _decode(path: Path) -> LoadedImage:  # pool thread
    start = time.perf_counter()
    try:
        image = load_image(path)
        qimage = qimage_from_rgb(image)
        return LoadedImage(path, image, None, (time.perf_counter() - start) * 1000, qimage)
    except ImageLoadError as exc:
        return LoadedImage(path, None, exc, (time.perf_counter() - start) * 1000)


class ImageStore(QObject):
    """LRU of decoded images keyed by path.

    loaded(LoadedImage): emitted in the GUI thread when a requested decode ends.
    """

    loaded = Signal(object)

    def __init__(self, runner: JobRunner, capacity: int = 6, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._capacity = capacity
        self._cache: OrderedDict[Path, LoadedImage] = OrderedDict()
        self._pending: set[Path] = set()

    def cached(self, path: Path) -> LoadedImage | None:
        item = self._cache.get(path)
        if item is not None:
            self._cache.move_to_end(path)
        return item

    def request(
        self, path: Path, callback: Callable[[LoadedImage], None] | None = None
    ) -> LoadedImage | None:
        """Return the cached image or start decoding it (``loaded`` fires when done)."""
        path = Path(path)
        item = self.cached(path)
        if item is not None:
            return item
        if path not in self._pending:
            self._pending.add(path)
            self._runner.submit(_decode, path, name=f"decode {path.name}", on_result=self._store)
        return None

    def prefetch(self, path: Path | None) -> None:
        if path is not None and Path(path) not in self._cache:
            self.request(path)

    def invalidate(self, path: Path) -> None:
        self._cache.pop(Path(path), None)

    def _store(self, item: LoadedImage) -> None:
        self._pending.discard(item.path)
        self._cache[item.path] = item
        self._cache.move_to_end(item.path)
        while len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        self.loaded.emit(item)

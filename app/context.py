"""What panels share: the job pools, settings, the canvas and the current image."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor

from app.canvas.image_view import ImageView
from app.detectors import DetectorCache
from app.image_store import ImageStore, LoadedImage
from app.job_pools import JobPools
from app.settings import Settings


class Workbench(QObject):
    """The hub panels talk through (panels never reach into the main window).

    runner: the *fast* pool, for short jobs (decode, detect, analyse, open, save).
    long_runner: the *long* pool, for jobs that may run for minutes or hours
        (training, evaluation, batches, live-video frames), so they never starve the fast one.

    image_changed(object): the new current :class:`LoadedImage`, or ``None``
        while nothing (or an unreadable file) is shown.
    status(str): a short message for the status bar.

    File-list hooks (a panel that owns a list of images, e.g. the annotation editor):
    list_requested(object, object): ``(paths, root)`` a panel asks the file list to show.
    row_requested(int): a panel asks to show that row of the file list.
    list_changed(): the file list was replaced (by whoever asked).
    row_changed(int, object): the file list moved to ``(row, path)`` (before decoding).
    rows_changed(object): rows (``list[int]``, or ``None`` for all) whose
        :attr:`row_decorator` text changed.
    annotation_requested(object): a panel asks the annotation editor to show a face
        (a :class:`core.annotate.review.FaceReviewRequest`).
    row_decorator: ``None``, or ``fn(row, path) -> (text, QColor | None) | None``
        that overrides a row's display text and colour.
    """

    image_changed = Signal(object)
    status = Signal(str)
    list_requested = Signal(object, object)
    row_requested = Signal(int)
    list_changed = Signal()
    row_changed = Signal(int, object)
    rows_changed = Signal(object)
    annotation_requested = Signal(object)

    def __init__(self, jobs: JobPools, settings: Settings, view: ImageView, images: ImageStore) -> None:
        super().__init__()
        self.jobs = jobs
        self.runner = jobs.fast
        self.long_runner = jobs.long
        self.settings = settings
        self.view = view
        self.images = images
        self.current: LoadedImage | None = None
        self.detectors = DetectorCache(settings)  # shared by every panel that detects
        self.row_decorator: Callable[[int, Path], tuple[str, QColor | None] | None] | None = None

    def set_current(self, loaded: LoadedImage | None) -> None:
        self.current = loaded
        self.view.layers.clear_highlight()  # a face picked on the last image is not on this one
        self.image_changed.emit(loaded)

"""What panels share: the job runner, settings, the canvas and the current image."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.canvas.image_view import ImageView
from app.image_store import ImageStore, LoadedImage
from app.settings import Settings
from app.worker import JobRunner


class Workbench(QObject):
    """The hub panels talk through (panels never reach into the main window).

    image_changed(object): the new current :class:`LoadedImage`, or ``None``
        while nothing (or an unreadable file) is shown.
    status(str): a short message for the status bar.
    """

    image_changed = Signal(object)
    status = Signal(str)

    def __init__(self, runner: JobRunner, settings: Settings, view: ImageView, images: ImageStore) -> None:
        super().__init__()
        self.runner = runner
        self.settings = settings
        self.view = view
        self.images = images
        self.current: LoadedImage | None = None

    def set_current(self, loaded: LoadedImage | None) -> None:
        self.current = loaded
        self.image_changed.emit(loaded)

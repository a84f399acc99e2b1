"""Base class of the dockable feature panels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.context import Workbench


class Panel(QWidget):
    """A feature panel (Detection, Annotation, Evaluation, ...).

    Subclasses set ``title``/``object_name``, build widgets in ``__init__`` and
    react to :meth:`Workbench.image_changed`. Heavy work goes through
    ``workbench.runner`` (short jobs) or ``workbench.long_runner`` (jobs that
    may run for minutes or hours); a panel never blocks the GUI thread.
    """

    title = "Panel"
    object_name = "panel"
    area = Qt.DockWidgetArea.RightDockWidgetArea
    # Shown on first start (later starts restore the user's layout); hidden ones are in the View menu.
    start_visible = True

    def __init__(self, workbench: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.setObjectName(self.object_name)

    def apply_shortcuts(self) -> None:
        """Re-read this panel's remappable shortcuts from settings (after the shortcuts dialog)."""

    def shutdown(self) -> None:
        """Called before the window closes (cancel own jobs, drop caches)."""

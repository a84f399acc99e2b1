"""Base class of the feature panels (one workspace, or one dock, each)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QStyle, QWidget

from app.canvas.layers import CanvasLayer, LayerStyle
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
    mode = "Panel"  # its workspace's name on the mode bar: the task, as a verb where one fits
    # what its workspace shows beside it: the file list and/or the shared canvas; none: the whole window
    workspace_parts: tuple[str, ...] = ("files", "canvas")
    mode_icon = QStyle.StandardPixmap.SP_FileIcon  # its mode bar button's icon
    area = Qt.DockWidgetArea.RightDockWidgetArea  # the dock layout's side
    # below the canvas (area at the bottom): the panel's share of the workspace's height at first
    below_share = 0.5
    # Shown on first start (later starts restore the user's layout); hidden ones are in the View menu.
    start_visible = True

    def __init__(self, workbench: Workbench, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.setObjectName(self.object_name)

    def canvas_layer(self, style: LayerStyle) -> CanvasLayer:
        """This panel's own layer on the shared canvas (named after the panel)."""
        return self.workbench.view.layers.layer(self.object_name, style)

    def release(self) -> None:
        """Called when the panel's dock or workspace is closed: drop what it holds (results, embeddings,
        models, data) and clear its layer, so a closed panel costs no memory. Opening it again
        starts afresh; nothing the user saved is touched."""

    def apply_shortcuts(self) -> None:
        """Re-read this panel's remappable shortcuts from settings (after the shortcuts dialog)."""

    def shutdown(self) -> None:
        """Called before the window closes (cancel own jobs, drop caches)."""


def in_scroll_area(panel: Panel) -> QScrollArea:
    """``panel`` inside a frameless scroll area, the widget a dock holds.

    A panel taller or wider than its dock then scrolls instead of squeezing its
    widgets over each other, and its minimum size no longer makes the window grow
    past the screen when several docks share it.
    """
    scroll = QScrollArea()
    scroll.setObjectName(f"scroll_{panel.object_name}")
    scroll.setWidgetResizable(True)  # the panel fills the dock when there is room
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(panel)
    return scroll


def wrapping_column(column: QWidget) -> QScrollArea:
    """A column of word-wrapped text in a vertical scroll area.

    A splitter does not pass on how tall wrapped labels need to be at the width
    they get, so in one they are squeezed and clipped; a scroll area gives them
    their full height at its width and scrolls when the dock is shorter.
    """
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(column)
    # as wide as the column's widgets need: only the height scrolls here, the dock scrolls the rest
    scroll.setMinimumWidth(column.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
    return scroll

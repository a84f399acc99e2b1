"""Which panel the user works in, and what a closed panel gives back.

The active panel's canvas layer is drawn on top and the others are dimmed
(:class:`app.canvas.layers.CanvasLayers`). A panel becomes active when its
workspace is entered (or its dock opened, its tab brought to the front), and
when the keyboard focus moves into it (a click in its list or form). Closing a
workspace or a dock hides the panel's layer and calls
:meth:`app.panel_base.Panel.release`, so a closed panel holds no results,
embeddings, models or data sets; reopening it starts afresh.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from app.canvas.layers import CanvasLayers
from app.panel_base import Panel

log = logging.getLogger(__name__)


class PanelActivity(QObject):
    """Follows the panels' docks and the keyboard focus; owns no panel."""

    def __init__(self, layers: CanvasLayers, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._layers = layers
        self._panels: list[Panel] = []
        QApplication.instance().focusChanged.connect(self._on_focus)

    def add(self, panel: Panel) -> None:
        """Follow the keyboard focus into ``panel`` (a workspace's panel: the mode bar does the rest)."""
        self._panels.append(panel)

    def watch(self, panel: Panel, dock: QDockWidget) -> None:
        """Follow ``panel``'s dock too: opened or raised, it is active; closed, it is released."""
        self.add(panel)
        name = panel.object_name
        dock.visibilityChanged.connect(lambda visible: visible and self._layers.set_active(name))
        # the toggle action follows the dock being closed or opened, not its tab being covered
        dock.toggleViewAction().toggled.connect(lambda shown: self._on_dock_toggled(panel, shown))
        self._layers.set_hidden(name, dock.isHidden())

    def opened(self, panel: Panel) -> None:
        """``panel`` is in front: its layer shows, on top."""
        self._layers.set_hidden(panel.object_name, False)
        self._layers.set_active(panel.object_name)

    def closed(self, panel: Panel) -> None:
        """``panel`` was closed: its layer hides and it lets go of what it holds."""
        self._layers.set_hidden(panel.object_name, True)
        if self._layers.active == panel.object_name:
            self._layers.set_active(None)  # no panel in front: nothing left to dim the others for
        panel.release()
        gc.collect()  # the released tensors and arrays sit in reference cycles of Qt wrappers
        log.info("%s panel closed: released what it held", panel.title)

    def _on_dock_toggled(self, panel: Panel, shown: bool) -> None:
        if shown:
            self._layers.set_hidden(panel.object_name, False)
        else:
            self.closed(panel)

    def _on_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        panel = self._panel_holding(new)
        if panel is not None:
            self._layers.set_active(panel.object_name)

    def _panel_holding(self, widget: QWidget | None) -> Panel | None:
        while widget is not None:
            if isinstance(widget, Panel) and widget in self._panels:
                return widget
            widget = widget.parentWidget()
        return None

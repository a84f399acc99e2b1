"""The main window: menus, file list, canvas, and the panels in workspaces or docks. Thin: it wires parts together."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QFileDialog, QLabel, QListView, QMainWindow, QWidget

from app.canvas.image_view import ImageView
from app.context import Workbench
from app.dialogs.about import about_box
from app.dialogs.error_dialog import ErrorDialog, shown_details
from app.dialogs.shortcuts import ShortcutsDialog
from app.dock_layout import DockLayout
from app.file_list import FileListModel, ViewWidthRows, list_folder
from app.image_store import ImageStore, LoadedImage
from app.job_pools import JobPools
from app.panel_activity import PanelActivity
from app.panel_base import Panel
from app.panels import PANELS
from app.screen_fit import fit_to_screen
from app.settings import SHORTCUTS, Keys, Settings
from app.widgets import IMAGE_FILTER
from app.workspaces import Workspaces, fill_layout_menu
from core.io.files import expand_inputs
from core.io.imageio import is_image_path
from core.paths import SAMPLES_DIR, user_data_dir

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """FaceScope's workbench window.

    settings: where persistent state lives (tests pass one in ``tmp_path``).
    """

    def __init__(self, settings: Settings | None = None, jobs: JobPools | None = None) -> None:
        super().__init__()
        self.setWindowTitle("FaceScope")
        self.setObjectName("main_window")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.settings = settings or Settings()
        self.jobs = jobs or JobPools(parent=self)
        self.runner = self.jobs.fast  # short jobs; panels reach both pools through the workbench
        self.jobs.error.connect(self.on_job_error)
        self.view = ImageView(self)
        self.images = ImageStore(self.runner, parent=self)
        self.images.loaded.connect(self._on_image_loaded)
        self.workbench = Workbench(self.jobs, self.settings, self.view, self.images)
        self.workbench.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.error_dialog = ErrorDialog(self)
        self.file_model = FileListModel(self)
        self.workbench.list_requested.connect(self._show_requested_list)
        self.workbench.row_requested.connect(self.show_row)
        self.workbench.rows_changed.connect(self._refresh_decorations)
        self.current_row = -1
        self._shown_at: float | None = None
        self.actions: dict[str, QAction] = {}
        self._build_file_list()
        self._build_status_bar()
        self.panel_activity = PanelActivity(self.view.layers, self)
        self.panels: list[Panel] = [panel_class(self.workbench) for panel_class in PANELS]
        docks = self.settings.get(Keys.WINDOW_LAYOUT) == DockLayout.kind
        self.layout_manager = DockLayout(self) if docks else Workspaces(self)
        self._build_menus()
        self.apply_shortcuts()
        self.view.zoom_changed.connect(self._update_zoom_label)
        geometry = self.settings.get(Keys.WINDOW_GEOMETRY)
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.settings.get(Keys.WINDOW_STATE)
        if not state.isEmpty():
            self.restoreState(state)
        fit_to_screen(self)  # the default size, or geometry saved on a larger screen

    # --- construction -------------------------------------------------------
    def _build_file_list(self) -> None:
        self.file_view = QListView()
        self.file_view.setObjectName("file_list")
        self.file_view.setModel(self.file_model)
        self.file_view.setUniformItemSizes(True)  # keeps 50,000-row lists fast
        # rows from sub-folders read "event/name.jpg": keep both the folder and the file's end visible
        self.file_view.setItemDelegate(ViewWidthRows(self.file_view))
        self.file_view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.file_view.clicked.connect(lambda index: self.show_row(index.row()))
        self.file_view.activated.connect(lambda index: self.show_row(index.row()))

    def _build_status_bar(self) -> None:
        self.position_label = QLabel()
        self.size_label = QLabel()
        self.timing_label = QLabel()
        self.zoom_label = QLabel()
        self.jobs_label = QLabel()
        for label in (
            self.position_label,
            self.size_label,
            self.timing_label,
            self.zoom_label,
            self.jobs_label,
        ):
            self.statusBar().addPermanentWidget(label)
        self.jobs.busy_changed.connect(lambda n: self.jobs_label.setText(f"{n} job(s) running" if n else ""))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        fit_to_screen(self)  # the screen is known for sure once shown

    def _action(self, key: str, slot, text: str | None = None) -> QAction:
        spec = next((s for s in SHORTCUTS if s.key == key), None)
        action = QAction(text or (spec.text if spec else key), self)
        action.setObjectName(f"action_{key}")
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        self.actions[key] = action
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self._action("open_images", self.choose_images))
        file_menu.addAction(self._action("open_folder", self.choose_folder))
        file_menu.addAction(
            self._action(
                "open_folder_recursive",
                lambda: self.choose_folder(recursive=True),
                "Open folder with sub-folders…",
            )
        )
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self._action("open_samples", self.open_samples, "Open bundled samples"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("quit", self.close))
        view_menu = bar.addMenu("&View")
        for key, slot in (
            ("zoom_in", self.view.zoom_in),
            ("zoom_out", self.view.zoom_out),
            ("zoom_fit", self.view.fit),
            ("zoom_actual", self.view.actual_size),
        ):
            view_menu.addAction(self._action(key, slot))
        view_menu.addSeparator()
        self.layout_manager.fill_view_menu(view_menu)
        view_menu.addSeparator()
        fill_layout_menu(self, view_menu.addMenu("&Layout"))
        go_menu = bar.addMenu("&Go")
        go_menu.addAction(self._action("next_image", self.next_image))
        go_menu.addAction(self._action("previous_image", self.previous_image))
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("shortcuts", self.show_shortcuts))
        help_menu.addAction(self._action("open_log_folder", self.open_log_folder, "Open log folder"))
        help_menu.addAction(self._action("about", self.show_about, "About FaceScope"))

    # --- panels -------------------------------------------------------------
    @property
    def panel_docks(self) -> dict:
        """The docks of the dock layout by panel name; none in workspaces."""
        return getattr(self.layout_manager, "panel_docks", {})

    def show_panel(self, name: str) -> None:
        """Bring ``name``'s panel in front: its workspace, or its dock opened and raised."""
        self.layout_manager.show_panel(name)

    def close_panel(self, name: str) -> None:
        """Close ``name``'s workspace or dock: the panel releases what it holds."""
        self.layout_manager.close_panel(name)

    def apply_shortcuts(self) -> None:
        for spec in SHORTCUTS:
            action = self.actions.get(spec.key)
            if action is not None:
                action.setShortcuts(self.settings.shortcut_sequences(spec.key))
        for panel in self.panels:
            panel.apply_shortcuts()

    def _refresh_decorations(self, rows: list[int] | None) -> None:
        self.file_model.decorator = self.workbench.row_decorator
        self.file_model.refresh_rows(rows)

    # --- opening ------------------------------------------------------------
    def choose_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Open images",
            "",
            IMAGE_FILTER,
        )
        if files:
            self.open_paths([Path(f) for f in files])

    def choose_folder(self, recursive: bool = False) -> None:
        title = "Open folder with sub-folders" if recursive else "Open folder"
        folder = QFileDialog.getExistingDirectory(self, title)
        if folder:
            self.open_folder(Path(folder), recursive=recursive)

    def open_samples(self) -> None:
        self.open_folder(SAMPLES_DIR)

    def open_folder(self, folder: Path, recursive: bool = False) -> None:
        """List a folder (names only, nothing decoded) and show its first image.

        recursive: list every sub-folder too. Without it, a folder with no images of
        its own is still listed through its sub-folders (a WIDER ``images/`` folder).
        """
        try:
            listing = list_folder(Path(folder), recursive)
        except OSError as exc:
            self.report_error("Cannot open folder", f"{folder}: {exc.strerror or exc}")
            return
        self.settings.add_recent_path(folder)
        self.file_model.set_names(Path(folder), listing.names)
        self._after_list_change(empty_message=listing.summary())
        if listing.names:
            self.workbench.status.emit(listing.summary())

    def open_paths(self, paths: list[Path]) -> None:
        """Open files and/or folders (folders expand to their images)."""
        paths = [Path(p) for p in paths]
        if len(paths) == 1 and paths[0].is_dir():
            self.open_folder(paths[0])
            return
        files = expand_inputs(paths)
        if not files and any(p.is_dir() for p in paths):  # folders of sub-folders, as in open_folder
            files = expand_inputs(paths, recursive=True)
        for path in paths:
            self.settings.add_recent_path(path)
        self.file_model.set_paths(files)
        self._after_list_change(empty_message="No images in " + ", ".join(str(p) for p in paths) + ".")

    def _show_requested_list(self, paths, root) -> None:
        """A panel (e.g. the annotation editor) asks the file list to show its images."""
        self.file_model.set_paths(list(paths), root)
        self._after_list_change()

    def _after_list_change(self, empty_message: str = "No images here.") -> None:
        self.current_row = -1
        self.workbench.list_changed.emit()
        if self.file_model.rowCount():
            self.statusBar().clearMessage()  # a "No images" notice from an earlier list is stale now
            self.show_row(0)
        else:
            self._show_no_image(empty_message)
        self._update_position()

    def _show_no_image(self, message: str) -> None:
        """An empty list: the canvas says why, and nothing of the last image stays in the status bar."""
        self.view.show_message(message)
        for label in (self.size_label, self.timing_label, self.zoom_label):
            label.setText("")
        self.workbench.set_current(None)
        self.statusBar().showMessage(message)  # no timeout: it holds while the list is empty

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_paths():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_paths([Path(p)]))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.settings.clear_recent)

    # --- navigation ---------------------------------------------------------
    @property
    def current_path(self) -> Path | None:
        return self.file_model.path_at(self.current_row)

    def show_row(self, row: int) -> None:
        path = self.file_model.path_at(row)
        if path is None:
            return
        self.current_row = row
        self.file_view.setCurrentIndex(self.file_model.index(row))
        self.workbench.row_changed.emit(row, path)
        self._update_position()
        self._shown_at = time.perf_counter()
        loaded = self.images.request(path)
        if loaded is not None:
            self._display(loaded)
        else:
            self.size_label.setText("decoding…")
        self.images.prefetch(self.file_model.path_at(row + 1))

    def next_image(self) -> None:
        if self.current_row + 1 < self.file_model.rowCount():
            self.show_row(self.current_row + 1)

    def previous_image(self) -> None:
        if self.current_row > 0:
            self.show_row(self.current_row - 1)

    def _on_image_loaded(self, loaded: LoadedImage) -> None:
        if loaded.error is not None:
            self.file_model.set_error(loaded.path, loaded.error.reason)
        if loaded.path == self.current_path:
            self._display(loaded)

    def _display(self, loaded: LoadedImage) -> None:
        if loaded.error is not None or loaded.qimage is None:
            reason = loaded.error.reason if loaded.error else "no image data"
            self.view.show_message(f"Cannot show {loaded.path.name}\n\n{reason}")
            self.size_label.setText("unreadable")
            self.timing_label.setText("")
            self.workbench.status.emit(f"{loaded.path.name}: {reason}")
            self.workbench.set_current(None)
            return
        self.view.set_image(loaded.qimage)
        width, height = loaded.qimage.width(), loaded.qimage.height()
        self.size_label.setText(f"{width}×{height}")
        self.timing_label.setText(f"decode {loaded.decode_ms:.0f} ms")
        self.workbench.set_current(loaded)

    def _update_position(self) -> None:
        total = self.file_model.rowCount()
        name = self.file_model.name_at(self.current_row)
        self.position_label.setText(f"{self.current_row + 1}/{total}  {name}" if total else "")

    def _update_zoom_label(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    # --- errors -------------------------------------------------------------
    def on_job_error(self, name: str, exc: object, details: str) -> None:
        """The one handler every failed job ends in: status bar, dialog, log."""
        self.report_error(f"{name} failed", str(exc) or type(exc).__name__, shown_details(exc, details))

    def report_error(self, title: str, message: str, details: str = "") -> None:
        log.error("%s: %s", title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        self.error_dialog.add_error(title, message, details)

    # --- dialogs ------------------------------------------------------------
    def show_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.settings, self)
        if dialog.exec():
            self.apply_shortcuts()

    def show_about(self) -> None:
        box = about_box(self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(user_data_dir() / "logs")))

    def zoom_to_box(self, box: tuple[float, float, float, float]) -> None:
        x1, y1, x2, y2 = box
        self.view.zoom_to_rect(QRectF(x1, y1, x2 - x1, y2 - y1))

    # --- drag and drop ------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        paths = [p for p in paths if p.is_dir() or is_image_path(p) or p.is_file()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    # --- shutdown -----------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        for panel in self.panels:
            panel.shutdown()
        self.jobs.shutdown(timeout_s=10.0)
        self.error_dialog.close()
        self.settings.set(Keys.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.set(Keys.WINDOW_STATE, self.saveState())
        self.layout_manager.save()
        self.settings.sync()
        super().closeEvent(event)

    def panel(self, object_name: str) -> QWidget | None:
        return next((p for p in self.panels if p.object_name == object_name), None)

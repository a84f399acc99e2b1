"""Overlay layers on the shared canvas: one per panel, the active one on top, a legend, a highlight."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsRectItem

from app.canvas.layers import DIMMED_OPACITY
from core.paths import SAMPLES_DIR
from core.types import Detection, DetectionResult

FACES = [
    Detection((40.0, 30.0, 90.0, 95.0), 0.95, "medium"),
    Detection((300.0, 200.0, 330.0, 240.0), 0.90, "small"),
    Detection((500.0, 320.0, 560.0, 395.0), 0.85, "medium"),
]


def _show_sample(qtbot, window):
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)


def _show_detections(window) -> None:
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    branches = {name: [f for f in FACES if f.branch == name] for name in ("small", "medium", "large")}
    panel.show_result(DetectionResult(list(FACES), branches, "centerface", window.view.image_size))


def _review_box(window) -> None:
    """One evaluation verdict on the canvas, drawn the way the Evaluation panel draws it."""
    panel = window.panel("evaluation")
    item = QGraphicsRectItem(QRectF(10, 10, 40, 40))
    panel.layer.add(item)
    panel._review_items.append(item)
    panel.layer.content_changed()


def test_the_active_panels_layer_is_on_top_and_the_others_dimmed(qtbot, window):
    layers = window.view.layers
    window.show_panel("evaluation")
    qtbot.waitUntil(lambda: layers.active == "evaluation")
    assert layers.names()[-1] == "evaluation"
    assert layers.get("detection").root.opacity() == pytest.approx(DIMMED_OPACITY)
    assert layers.get("evaluation").root.opacity() == 1.0
    # a click into another panel's form makes that panel active
    detection = window.panel("detection")
    window.activateWindow()
    detection.model_box.setFocus()
    qtbot.waitUntil(lambda: layers.active == "detection")
    assert layers.names()[-1] == "detection"
    assert layers.get("evaluation").dimmed and not layers.get("detection").dimmed
    # bringing a tab to the front activates it too
    window.show_panel("annotation")
    qtbot.waitUntil(lambda: layers.names()[-1] == "annotation")


def test_legend_lists_the_visible_layers_active_first(qtbot, window):
    _show_sample(qtbot, window)
    legend = window.view.legend
    assert legend.titles() == [] and not legend.isVisible()  # nothing drawn, no legend
    _show_detections(window)
    assert legend.titles() == ["Detection"]
    window.show_panel("evaluation")
    _review_box(window)
    qtbot.waitUntil(lambda: window.view.layers.active == "evaluation")
    assert legend.titles() == ["Evaluation", "Detection"]
    assert [row.dimmed for row in legend.rows] == [False, True]
    assert "missed" in legend.rows[0].text and "(dimmed)" in legend.rows[1].text
    assert legend.isVisible() and legend.geometry().right() <= window.view.viewport().width()
    # hiding every detection leaves its layer out of the legend
    for box in window.panel("detection").branch_boxes.values():
        box.setChecked(False)
    assert legend.titles() == ["Evaluation"]
    # a closed panel's layer is hidden, and leaves the legend
    window.close_panel("evaluation")
    assert legend.titles() == []


def test_each_layer_draws_in_its_own_line_style(qtbot, window):
    _show_sample(qtbot, window)
    _show_detections(window)
    styles = {window.view.layers.get(name).style.line for name in ("detection", "evaluation", "annotation")}
    assert len(styles) == 3
    rect = next(
        child
        for group in window.view.layers.get("detection").root.childItems()
        for child in group.childItems()
        if isinstance(child, QGraphicsRectItem)
    )
    assert rect.pen().style() == Qt.PenStyle.SolidLine


def test_a_click_in_the_face_list_highlights_that_face_and_centres_it(qtbot, window):
    _show_sample(qtbot, window)
    _show_detections(window)
    panel = window.panel("detection")
    layers = window.view.layers
    assert layers.highlighted is None  # filling the list picks nothing by itself
    panel.score_slider.setValue(panel.score_slider.value() - 1)  # the list is filled again
    assert layers.highlighted is None
    window.view.set_zoom(8.0)
    window.view.centerOn(0, 0)  # the third face is far outside the view now
    assert not layers.visible_rect().contains(QRectF(500, 320, 60, 75))
    item = panel.face_list.item(2)
    qtbot.mouseClick(
        panel.face_list.viewport(),
        Qt.MouseButton.LeftButton,
        pos=panel.face_list.visualItemRect(item).center(),
    )
    assert layers.highlighted == pytest.approx(FACES[2].box)
    assert layers.visible_rect().contains(QRectF(500, 320, 60, 75).center())
    panel.face_list.setCurrentRow(0)
    assert layers.highlighted == pytest.approx(FACES[0].box)
    window.open_paths([SAMPLES_DIR / "faceapi_demo_2.jpg"])  # another image: the highlight goes
    qtbot.waitUntil(lambda: window.workbench.current.path.name == "faceapi_demo_2.jpg", timeout=5000)
    assert layers.highlighted is None

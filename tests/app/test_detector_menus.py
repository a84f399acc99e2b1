"""Detector menus show readable titles; panels, jobs and settings still get the registry names."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from app.detectors import select_detector, selected_detector
from app.live.batch_dialog import BatchDialog
from app.main_window import MainWindow
from app.settings import Keys
from core.detect.registry import DEFAULT_DETECTOR, SPECS
from core.paths import SAMPLES_DIR


def detector_boxes(window) -> dict[str, QComboBox]:
    return {
        "detection": window.panel("detection").model_box,
        "annotation": window.panel("annotation").model_box,
        "evaluation": window.panel("evaluation").model_box,
        "live": window.panel("live").model_box,
        "attributes": window.panel("attributes").detector_box,
    }


def items(box: QComboBox) -> list[tuple[str, str]]:
    return [(box.itemText(i), box.itemData(i)) for i in range(box.count())]


def test_every_detector_menu_shows_titles_and_keeps_names(qtbot, window):
    batch = BatchDialog(window.workbench, window)
    qtbot.addWidget(batch)
    expected = [(spec.title, spec.name) for spec in SPECS]
    for where, box in {**detector_boxes(window), "batch": batch.model}.items():
        assert items(box) == expected, where
        assert selected_detector(box) == DEFAULT_DETECTOR, where
        assert box.currentText() != DEFAULT_DETECTOR, where  # the title, not the id
    assert batch.options().model == DEFAULT_DETECTOR


def test_select_detector_by_name_and_refuse_unknown_names(qtbot, window):
    box = window.panel("evaluation").model_box
    assert select_detector(box, "tiny") and selected_detector(box) == "tiny"
    assert not select_detector(box, "Tiny face detector (face-api, fastest)")  # titles are not names
    assert selected_detector(box) == "tiny"


def test_detection_panel_runs_the_detector_picked_by_title(qtbot, window):
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    tiny = next(spec for spec in SPECS if spec.name == "tiny")
    panel.model_box.setCurrentIndex(panel.model_box.findText(tiny.title))  # as a user picks it
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel.run_detection()
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=60000)
    assert panel.shown.model == "tiny"


def test_live_detector_is_stored_by_name_and_restored(qtbot, window, settings):
    box = window.panel("live").model_box
    box.setCurrentIndex(box.findData("ssd"))
    assert settings.get(Keys.LIVE_MODEL) == "ssd"
    assert window.panel("live").controller.model == "ssd"
    window.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert selected_detector(again.panel("live").model_box) == "ssd"
    again.close()

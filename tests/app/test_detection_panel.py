"""Detection panel end to end with the real bundled models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.detection.panel import HEATMAPS_CACHED, RESULTS_CACHED
from app.detectors import select_detector
from core.paths import SAMPLES_DIR
from core.types import Detection, DetectionResult


def _wait_result(qtbot, panel, timeout=60000):
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=timeout)


def test_detect_sample_toggle_branches_and_analyse(qtbot, window):
    panel = window.panel("detection")
    assert select_detector(panel.model_box, "centerface")
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel.run_detection()
    _wait_result(qtbot, panel)
    result = panel.shown
    assert result.model == "centerface" and result.branch_kind == "scale_range"
    assert panel.branch_group.title() == "Size bins"
    strong = [f for f in result.faces if f.score >= 0.5]
    assert len(strong) == 3  # the three women of sample 1
    assert panel.face_list.count() == 3
    # hide every branch: nothing stays visible
    for box in panel.branch_boxes.values():
        box.setChecked(False)
    assert panel.overlay.visible_faces() == [] and panel.face_list.count() == 0
    for box in panel.branch_boxes.values():
        box.setChecked(True)
    # age / gender arrive from the worker and show in the list
    key = (window.workbench.current.path, "centerface")
    qtbot.waitUntil(lambda: len(panel.analyses.get(key, {})) == 3, timeout=60000)
    qtbot.waitUntil(lambda: "age" in panel.face_list.item(0).text(), timeout=5000)
    panel.landmark_kind.setCurrentIndex(1)
    assert all(len(f.landmarks) == 68 for f in panel.overlay.visible_faces())
    # the slider filters the list
    panel.score_slider.setValue(100)
    assert panel.face_list.count() == 0


def test_results_are_cached_per_image_and_model(qtbot, window):
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    window.open_paths([SAMPLES_DIR / "faceapi_demo_2.jpg", SAMPLES_DIR / "faceapi_demo_3.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel.run_detection()
    _wait_result(qtbot, panel)
    first = panel.shown
    window.next_image()
    qtbot.waitUntil(lambda: window.workbench.current.path.name == "faceapi_demo_3.jpg", timeout=5000)
    assert panel.shown is None  # auto-detect is off in tests
    window.previous_image()
    qtbot.waitUntil(lambda: panel.shown is first, timeout=5000)  # from the cache, no new job


def test_ssd_reports_layer_groups(qtbot, window):
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    assert select_detector(panel.model_box, "ssd")
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel.run_detection()
    _wait_result(qtbot, panel)
    assert panel.shown.branch_kind == "branch" and panel.branch_group.title() == "Layer groups"
    assert not any("px" in box.text() for box in panel.branch_boxes.values())
    assert sum(len(v) for v in panel.shown.branches.values()) == len(panel.shown.faces)
    assert np.all([f.score >= 0.2 for f in panel.shown.faces])


def _result(name: str) -> DetectionResult:
    return DetectionResult([], {}, name, (640, 480))


def _grouped_result(name: str, branch_kind: str) -> DetectionResult:
    """One 20 px face in the "large" group, as SSD reports a small face found by a large-anchor layer."""
    face = Detection((10.0, 10.0, 30.0, 30.0), 0.9, "large")
    branches = {"small": [], "medium": [], "large": [face]}
    return DetectionResult([face], branches, name, (1920, 1280), branch_kind)


def test_ssd_groups_are_named_layer_groups_without_a_size_range(window):
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    panel.show_result(_grouped_result("ssd", "branch"))
    assert panel.branch_group.title() == "Layer groups"
    large = panel.branch_boxes["large"]
    assert large.text() == "large-anchor layers: 1" and "≥140" not in large.text()
    assert not any("px" in box.text() for box in panel.branch_boxes.values())
    assert "prediction layer" in large.toolTip() and "px" not in large.toolTip()
    assert "not by its size" in panel.branch_group.toolTip()
    row = panel.face_list.item(0).text()
    assert "large-anchor layers" in row and "20×20 px" in row


def test_single_head_groups_are_size_bins_and_scaleface_has_scale_branches(window):
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    panel.show_result(_grouped_result("centerface", "scale_range"))
    assert panel.branch_group.title() == "Size bins"
    assert panel.branch_boxes["small"].text() == "small (10–40 px): 0"
    assert panel.branch_boxes["large"].text() == "large (≥140 px): 1"
    assert "box height" in panel.branch_boxes["large"].toolTip()
    panel.show_result(_grouped_result("scaleface", "branch"))
    assert panel.branch_group.title() == "Scale branches"
    assert panel.branch_boxes["medium"].text() == "medium (40–140 px): 0"
    assert "trained" in panel.branch_group.toolTip()
    # before any result, the chosen detector names the groups
    panel.on_image_changed(None)
    assert select_detector(panel.model_box, "ssd")
    assert panel.branch_group.title() == "Layer groups"
    assert select_detector(panel.model_box, "tiny")
    assert panel.branch_group.title() == "Size bins"


def test_result_and_heat_map_caches_are_bounded(window):
    panel = window.panel("detection")
    keys = [(Path(f"image_{i}.jpg"), "scaleface") for i in range(RESULTS_CACHED + 1)]
    maps = {"small": object()}  # the cache only holds it
    for key in keys[:HEATMAPS_CACHED]:
        panel._on_result(key, _result("scaleface"), maps)
    # one more image with heat maps: the oldest one's maps go, and its result with them
    panel._on_result(keys[HEATMAPS_CACHED], _result("scaleface"), maps)
    assert len(panel.heatmaps) == HEATMAPS_CACHED
    assert keys[0] not in panel.heatmaps and keys[0] not in panel.results
    assert keys[1] in panel.results and keys[1] in panel.heatmaps
    # results without maps take no heat-map room and are bounded on their own
    plain = [(Path(f"plain_{i}.jpg"), "centerface") for i in range(RESULTS_CACHED + 1)]
    for key in plain:
        panel._on_result(key, _result("centerface"), {})
    assert len(panel.results) == RESULTS_CACHED and len(panel.heatmaps) == HEATMAPS_CACHED
    assert plain[0] not in panel.results and plain[-1] in panel.results


def test_bundled_scaleface_shows_its_three_branches_and_response_maps(qtbot, window):
    """No checkpoint chosen: the bundled ScaleFace runs, as a detector like the others."""
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    assert select_detector(panel.model_box, "scaleface")
    assert panel.checkpoint_button.isVisible() or not panel.isVisible()
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel.run_detection()
    _wait_result(qtbot, panel, timeout=120000)
    result = panel.shown
    assert result.model == "scaleface" and result.branch_kind == "branch"
    assert panel.branch_group.title() == "Scale branches"
    assert sum(f.score >= 0.5 for f in result.faces) >= 3  # the three women of sample 1
    key = (window.workbench.current.path, "scaleface")
    qtbot.waitUntil(lambda: set(panel.heatmaps.get(key, {})) == {"small", "medium", "large"}, timeout=10000)

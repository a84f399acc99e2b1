"""A closed panel lets go of what it holds: embeddings, models, results; reopening starts afresh."""

from __future__ import annotations

import gc
import weakref

from core.paths import SAMPLES_DIR
from core.types import Detection, DetectionResult
from tests.app.test_attributes_panel import _synthetic_embedding


class _FakeModel:
    """Stands in for a loaded attribute recognizer (only its lifetime matters here)."""


def test_closing_the_attributes_panel_drops_its_embedding_and_models(qtbot, window, tmp_path):
    window.show_panel("attributes")
    panel = window.panel("attributes")
    data = _synthetic_embedding(tmp_path, n=500)
    panel.show_embedding(data)
    model = panel.models._recognizers.get("lmle", _FakeModel)
    data_ref, embeddings_ref, model_ref = weakref.ref(data), weakref.ref(data.embeddings), weakref.ref(model)
    del data, model
    gc.collect()
    assert data_ref() is not None and model_ref() is not None  # held while the panel is open
    window.close_panel("attributes")
    gc.collect()
    assert data_ref() is None and embeddings_ref() is None and model_ref() is None
    assert panel.embedding.data is None and len(panel.models._recognizers) == 0
    window.show_panel("attributes")  # reopened: an empty panel that works again
    panel.show_embedding(_synthetic_embedding(tmp_path, n=50))
    assert panel.embedding.data is not None and len(panel.embedding.data.paths) == 50


def test_closing_the_detection_panel_drops_its_results_and_its_layer(qtbot, window):
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    faces = [Detection((40.0, 30.0, 90.0, 95.0), 0.9, "medium")]
    result = DetectionResult(faces, {"small": [], "medium": faces, "large": []}, "centerface", (1280, 853))
    panel._on_result((window.workbench.current.path, panel.model_name), result, {})
    assert panel.shown is result and "Detection" in window.view.legend.titles()
    result_ref = weakref.ref(result)
    del result
    window.close_panel("detection")
    gc.collect()
    assert result_ref() is None and len(panel.results) == 0
    assert window.view.legend.titles() == [] and panel.face_list.count() == 0

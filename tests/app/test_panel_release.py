"""A closed panel lets go of what it holds: embeddings, models, results; reopening starts afresh."""

from __future__ import annotations

import gc
import weakref

from core.io.video.reader import SourceSpec
from core.paths import SAMPLES_DIR
from core.types import Detection, DetectionResult
from tests.app.test_attributes_panel import _synthetic_embedding
from tests.core.unlock.videos import write_video


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


class _Held:
    """Stands in for something heavy a panel holds (a session, a pipeline, a run); only its lifetime matters."""

    def lock(self) -> None:
        """An unlock session is locked when the panel stops."""


def test_closing_the_verification_panel_drops_its_comparison_cfp_run_and_verifier(qtbot, window):
    window.show_panel("verification")
    panel = window.panel("verification")
    held = {"comparison": _Held(), "faces": _Held(), "cfp run": _Held(), "verifier": _Held()}
    panel.comparison, panel.faces, panel.cfp.cfp_run = held["comparison"], held["faces"], held["cfp run"]
    held["verifier"].far = 1e-3  # the operating point the user chose
    panel.verifier._verifiers[panel.verifier.stem] = held["verifier"]
    panel.decision.setText("SAME")
    refs = {name: weakref.ref(obj) for name, obj in held.items()}
    del held
    window.close_panel("verification")
    gc.collect()
    assert [name for name, ref in refs.items() if ref() is not None] == []
    assert panel.decision.text() == "" and not panel.score_bar.isVisible()
    assert panel.verifier.far == 1e-3  # the user's choice survives the verifier


def test_closing_the_live_panel_closes_its_source_and_drops_frames(qtbot, window, tmp_path):
    window.show_panel("live")
    panel = window.panel("live")
    panel.detect_box.setChecked(False)
    panel.open_source(SourceSpec("file", str(write_video(tmp_path / "clip.avi", frames=5))), paused=True)
    qtbot.waitUntil(lambda: panel.controller.last_frame is not None, timeout=10000)
    panel.controller._live["stand-in"] = _Held()
    frame_ref, step_ref = (
        weakref.ref(panel.controller.last_frame),
        weakref.ref(panel.controller._live["stand-in"]),
    )
    window.close_panel("live")
    gc.collect()
    assert not panel.controller.active and frame_ref() is None and step_ref() is None
    assert len(panel.overlay) == 0


def test_closing_the_unlock_panel_drops_its_session_pipelines_and_liveness_nets(qtbot, window):
    window.show_panel("unlock")
    controller = window.panel("unlock").controller
    controller.session, controller._liveness._checker = _Held(), _Held()
    controller._pipelines[("faceapi", True)] = _Held()
    refs = [
        weakref.ref(controller.session),
        weakref.ref(controller._liveness._checker),
        weakref.ref(controller._pipelines[("faceapi", True)]),
    ]
    window.close_panel("unlock")
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
    assert controller.mode == "idle" and not controller.active

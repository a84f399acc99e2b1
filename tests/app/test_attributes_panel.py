"""Attributes panel: faces of a sample with their 40 attributes, the 10,000-point embedding plot
(hover thumbnail, box selection), and LMLE training in the worker with live curves."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from app.attributes.jobs import EmbeddingData
from app.detectors import select_detector
from core.attributes.celeba import CELEBA_ATTRIBUTES
from core.paths import MODELS_DIR, SAMPLES_DIR
from tests.core.attributes.fakes import fake_celeba

A = len(CELEBA_ATTRIBUTES)


def _synthetic_embedding(tmp_path, n=10_000, dim=16, seed=0) -> EmbeddingData:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(8):
        path = tmp_path / f"{i:06d}.jpg"
        Image.fromarray(np.full((109, 89, 3), 30 * i, np.uint8)).save(path)
        paths.append(path)
    labels = rng.random((n, A)) < np.linspace(0.03, 0.8, A)
    emb = rng.normal(size=(n, A, dim)).astype(np.float32)
    emb[..., 0] += np.where(labels, 2.0, -2.0)  # the classes sit apart along one axis
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    centroids = np.zeros((A, 4, dim), np.float32)
    centroids[:, 0, 0], centroids[:, 1, 0] = 1.0, -1.0
    label = np.tile(np.array([1, 0, -1, -1], np.int8), (A, 1))
    return EmbeddingData(
        [paths[i % 8] for i in range(n)], labels, emb, centroids, label, CELEBA_ATTRIBUTES, "test"
    )


class _Drag:
    """The parts of pyqtgraph's MouseDragEvent that SelectViewBox reads."""

    def __init__(self, start, end, finish):
        self._start, self._end, self._finish = start, end, finish

    def button(self):
        return Qt.MouseButton.LeftButton

    def buttonDownPos(self, button=None):  # noqa: N802 - pyqtgraph's name
        return self._start

    def pos(self):
        return self._end

    def isFinish(self):  # noqa: N802
        return self._finish

    def accept(self):
        pass


def test_embedding_plot_handles_10000_points_hover_and_box_selection(qtbot, window, tmp_path):
    panel = window.panel("attributes")
    panel.parentWidget().show()
    data = _synthetic_embedding(tmp_path)
    start = time.perf_counter()
    panel.show_embedding(data)
    view = panel.embedding
    view.attribute_box.setCurrentIndex(CELEBA_ATTRIBUTES.index("Smiling"))
    qtbot.wait(50)
    redraw_s = time.perf_counter() - start
    assert len(view.scatter.data) == 10_000 and len(view.centroid_item.data) == 2
    assert view.projection.points.shape == (10_000, 2)
    # classes separate along PC1 and each point's cluster is its side's centroid
    a = CELEBA_ATTRIBUTES.index("Smiling")
    side = view.projection.points[:, 0] > 0
    assert (side == data.labels[:, a]).mean() > 0.95 or (side != data.labels[:, a]).mean() > 0.95
    # hover: the point under the mouse shows its thumbnail
    target = 1234
    x, y = view.projection.points[target]
    view._on_mouse_moved(view.viewbox.mapViewToScene(QPointF(float(x), float(y))))
    assert view.hovered is not None and view.preview.pixmap() is not None
    assert np.allclose(view.projection.points[view.hovered], view.projection.points[target], atol=0.05)
    # box selection by a drag in the plot (left half) lists exactly the faces inside
    vb = view.viewbox
    p0 = vb.mapFromView(QPointF(-2.0, -2.0))
    p1 = vb.mapFromView(QPointF(0.0, 2.0))
    vb.mouseDragEvent(_Drag(p0, p1, finish=False))
    assert vb.band.isVisible()
    vb.mouseDragEvent(_Drag(p0, p1, finish=True))
    pts = view.projection.points
    expected = int(((pts[:, 0] >= -2) & (pts[:, 0] <= 0) & (pts[:, 1] >= -2) & (pts[:, 1] <= 2)).sum())
    assert len(view.selected) == expected > 1000 and view.selection_list.count() == expected
    assert f"{expected} faces selected" in view.summary.text()
    assert redraw_s < 10.0  # generous: the 10k-point redraw itself is a fraction of a second (bench)


@pytest.mark.skipif(
    not (MODELS_DIR / "lmle_celeba.pt").exists(), reason="bundled LMLE model not exported yet"
)
def test_faces_of_a_sample_get_40_attributes_with_margins(qtbot, window):
    panel = window.panel("attributes")
    window.open_paths([SAMPLES_DIR / "faceapi_demo_1.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    assert select_detector(panel.detector_box, "centerface")
    panel.analyze()
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=60000)
    assert len(panel.shown) >= 3 and panel.faces.face_list.count() == len(panel.shown)
    assert panel.faces.table.rowCount() == A
    face = panel.shown[0]
    assert face.frame.shape == (109, 89, 3) and face.prediction.margin.shape == (A,)
    layers = window.view.layers
    assert layers.highlighted == pytest.approx(face.box)  # the selected face is outlined on the canvas
    present = [panel.faces.table.item(r, 1).text() for r in range(A)]
    assert present == sorted(present, key=lambda t: t != "yes")  # present attributes first
    panel.faces.face_list.setCurrentRow(1)
    assert layers.highlighted == pytest.approx(panel.shown[1].box)


def test_training_tab_runs_lmle_with_live_curves_and_offers_the_model(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("FACESCOPE_FEATURE_CACHE", str(tmp_path / "cache"))
    fake_celeba(tmp_path / "celeba")
    panel = window.panel("attributes")
    panel.root_edit.setText(str(tmp_path / "celeba"))
    panel._root_changed()
    view = panel.training
    view.train_edit.setText("1-120")
    view.val_edit.setText("121-160")
    view.steps_box.setValue(24)
    view.eval_box.setValue(8)
    view.run_edit.setText(str(tmp_path / "run"))
    view.extra_edit.setText("train.batch_size=8 task.refresh_every=8 train.checkpoint_every=0")
    view.start()
    # wait until the job's ``finished`` reached the GUI thread, not just until the pool thread set
    # ``state``: the last progress records and the result are queued before ``finished``
    qtbot.waitUntil(
        lambda: view.job is not None and view.job not in window.jobs.active_jobs(), timeout=120000
    )
    assert view.job.state == "done", view.status.text()
    assert len(view.steps_x) == 24 and len(view.eval_y) == 3
    assert all(0.4 < v <= 1.0 for v in view.eval_y)
    assert len(view.last_eval) == A and len(view.ba_bars.opts["width"]) == A
    assert (tmp_path / "run" / "lmle_model.pt").is_file()
    assert panel.model_box.currentText().startswith("trained:")


def test_embedding_plot_shows_tens_of_clusters_per_class(qtbot, window, tmp_path):
    """The paper's layout: clusters of a few dozen faces, so tens of stars per class."""
    panel = window.panel("attributes")
    panel.parentWidget().show()
    data = _synthetic_embedding(tmp_path, n=2000)
    rng = np.random.default_rng(1)
    per_class = 30
    dim = data.embeddings.shape[-1]
    centroids = rng.normal(size=(A, 2 * per_class, dim)).astype(np.float32)
    centroids[:, :per_class, 0] += 2.0
    centroids[:, per_class:, 0] -= 2.0
    centroids /= np.linalg.norm(centroids, axis=-1, keepdims=True)
    label = np.tile(np.r_[[1] * per_class, [0] * (per_class - 5), [-1] * 5].astype(np.int8), (A, 1))
    data = dataclasses.replace(data, centroids=centroids, centroid_label=label)
    panel.show_embedding(data)
    view = panel.embedding
    qtbot.waitUntil(lambda: view.projection is not None, timeout=5000)
    assert len(view.centroid_item.data) == 2 * per_class - 5  # unused slots are not drawn
    assert f"{per_class} + {per_class - 5} clusters" in view.summary.text()
    assert view.centroid_item.opts["size"] == 11.0  # smaller stars than the 18 px of a two-cluster model
    # every face is outlined by its nearest drawn cluster
    assert view.projection.cluster.max() < 2 * per_class - 5


def test_on_every_image_analyses_an_image_opened_in_another_workspace(qtbot, window):
    panel = window.panel("attributes")
    panel.auto_box.setChecked(True)
    window.show_panel("detection")
    window.open_paths([SAMPLES_DIR / "faceapi_demo_2.jpg"])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    assert not panel.isVisible() and panel.shown is None  # not analysed behind another workspace
    window.show_panel("attributes")
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=60000)
    assert len(panel.shown) >= 1 and panel.faces.face_list.count() == len(panel.shown)

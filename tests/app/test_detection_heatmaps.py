"""Detection panel with a ScaleFace checkpoint: per-branch response-map heat maps, built in the
worker, toggled per branch, placed on the anchor centres in original-image pixels."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPointF
from torchvision.models.detection.image_list import ImageList

import app.detection.jobs as detection_jobs
from app.canvas.image_view import ImageView
from app.canvas.overlays import HEAT_GAMMA, HEAT_MAX_ALPHA, HeatmapOverlay, branch_heatmaps
from app.detection.panel import LAYER_STYLE
from app.detectors import select_detector
from app.settings import Keys
from core.detect.scaleface import ScaleFaceDetector, prepare_image
from core.detect.training.synthetic import make_synthetic_image
from core.models.scaleface.config import ScaleFaceConfig
from core.models.scaleface.model import ScaleFace
from core.train.checkpoint import save_checkpoint
from core.train.config import to_plain

TINY = ScaleFaceConfig(backbone="tiny", rpn_pre_nms_test=200, rpn_post_nms_test=40)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ScaleFace(TINY).eval()


@pytest.fixture
def checkpoint(tmp_path, model):
    """A random-init ScaleFace checkpoint in the layout the training engine writes."""
    path = tmp_path / "last.pt"
    save_checkpoint(
        path,
        {"task": "scaleface", "config": {"task": {"model": to_plain(TINY)}}, "model": model.state_dict()},
    )
    return path


def _anchor_centers(model, branch: int, tensor, size) -> torch.Tensor:
    """Centres of the branch's anchors per cell ``(Hf, Wf, 2)`` in network-input pixels (x, y)."""
    spec_branch = model.branches[branch]
    with torch.no_grad():
        feature = spec_branch.reduce(model.backbone(tensor)[branch])
    anchors = spec_branch.rpn.anchor_generator(ImageList(tensor, [size]), [feature])[0]
    hf, wf = feature.shape[-2:]
    centers = ((anchors[:, :2] + anchors[:, 2:]) / 2).view(hf, wf, -1, 2)
    return centers[:, :, 0]  # every anchor of a cell shares its centre


def test_heat_layers_sit_on_the_anchor_centres_of_a_downscaled_image(qtbot, model):
    image = np.ascontiguousarray(make_synthetic_image(0, 96, seed=2).image[:, :80])  # 96 x 80
    detector = ScaleFaceDetector(model=model, min_score=0.0, max_side=64)  # scale 2/3
    _, maps = detector.detect_with_maps(image)
    heat = branch_heatmaps(maps)
    view = ImageView()  # owns the scene the layer draws in
    # qtbot deletes the view after the test's own references (the overlay's items) are gone;
    # a parentless view freed by the garbage collector in whatever order crashed a later test
    qtbot.addWidget(view)
    overlay = HeatmapOverlay(view.layers.layer("detection", LAYER_STYLE))
    overlay.set_maps(heat, (80, 96))
    tensor, size, scale = prepare_image(image, 64, torch.device("cpu"))
    for index, name in enumerate(("small", "medium", "large")):
        values = maps[name].values
        centers = _anchor_centers(model, index, tensor, size) / scale  # original-image pixels
        item = overlay.items[name]
        for row, col in {(0, 0), (values.shape[0] - 1, values.shape[1] - 1), (1, 2 % values.shape[1])}:
            if row >= values.shape[0]:
                continue
            # the centre of pixmap pixel (col, row), wherever the item draws its pixmap
            got = item.mapToScene(item.offset() + QPointF(col + 0.5, row + 0.5))
            want = centers[row, col]
            assert (got.x(), got.y()) == pytest.approx((float(want[0]), float(want[1])), abs=1e-4)
            assert heat[name].cell_center(row, col) == pytest.approx((got.x(), got.y()))
        # one pixel per cell, the branch colour, alpha from the objectness
        assert (heat[name].image.width(), heat[name].image.height()) == (values.shape[1], values.shape[0])
        pixel = heat[name].image.pixelColor(0, 0)
        assert pixel.alpha() == round(float(values[0, 0]) ** HEAT_GAMMA * 255 * HEAT_MAX_ALPHA)
    assert overlay.visible() == []  # nothing shown until a branch is switched on
    overlay.visible_branches = {"medium"}
    overlay.refresh()
    assert overlay.visible() == ["medium"]


def test_panel_builds_maps_in_the_worker_and_toggles_them_per_branch(
    qtbot, window, tmp_path, checkpoint, monkeypatch
):
    threads = []
    real = detection_jobs.branch_heatmaps

    def spy(maps):
        threads.append(threading.current_thread())
        return real(maps)

    monkeypatch.setattr(detection_jobs, "branch_heatmaps", spy)
    picture = tmp_path / "faces.png"
    Image.fromarray(np.ascontiguousarray(make_synthetic_image(1, 160, seed=3).image[:150])).save(picture)
    window.settings.set(Keys.DETECTION_CHECKPOINT("scaleface"), str(checkpoint))
    panel = window.panel("detection")
    panel.analysis_box.setChecked(False)
    assert select_detector(panel.model_box, "scaleface")
    assert not any(box.isEnabled() for box in panel.map_boxes.values())
    window.open_paths([picture])
    qtbot.waitUntil(lambda: window.workbench.current is not None, timeout=5000)
    panel.run_detection()
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=60000)
    assert threads and threads[0] is not threading.main_thread()
    heat = panel.heatmaps[(window.workbench.current.path, "scaleface")]
    assert set(heat) == {"small", "medium", "large"}
    assert heat["small"].cell_size == 8 and heat["large"].values.shape == (5, 5)  # 150 x 160, no scaling
    assert all(box.isEnabled() for box in panel.map_boxes.values())
    for box in panel.map_boxes.values():
        box.setChecked(False)
    assert panel.heat_overlay.visible() == []
    panel.map_boxes["small"].setChecked(True)
    panel.map_boxes["large"].setChecked(True)
    assert sorted(panel.heat_overlay.visible()) == ["large", "small"]
    # box toggles and map toggles are independent
    panel.branch_boxes["small"].setChecked(False)
    assert "small" in panel.heat_overlay.visible()
    clip = panel.heat_overlay.items["small"].parentItem()
    assert clip.rect().width() == 160 and clip.rect().height() == 150  # clipped to the image
    assert window.settings.get(Keys.DETECTION_HEATMAP("large")) is True
    # another image: the maps go with their result
    window.open_paths([tmp_path / "faces.png"])
    panel.on_image_changed(None)
    assert panel.heat_overlay.items == {} and not panel.map_boxes["small"].isEnabled()

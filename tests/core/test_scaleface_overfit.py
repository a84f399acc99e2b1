"""ScaleFace overfit on synthetic faces: the loss falls and each branch fires on its own range."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.scaleface import ScaleFaceDetector
from core.detect.training.quick_eval import ImageEval, quick_eval
from core.detect.training.scaleface_task import ScaleFaceTask
from core.detect.training.synthetic import SyntheticFaces
from core.train.loop import train
from tests.core.test_scaleface_training import scaleface_config
from tests.core.train.helpers import run_to_end

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.slow
def test_overfit_lowers_the_loss_and_each_branch_fires_on_its_own_range(tmp_path):
    task = ScaleFaceTask()
    records, _ = run_to_end(
        train(
            task,
            scaleface_config("max_steps=50", "batch_size=3", "task.data.synthetic_images=3"),
            run_dir=tmp_path,
        )
    )
    losses = [r["loss"] for r in records if r["event"] == "step"]
    assert np.mean(losses[-10:]) < 0.85 * np.mean(losses[:10]), losses
    detector = ScaleFaceDetector(model=task.model, min_score=0.2, max_side=0)
    source = SyntheticFaces(3, 192, seed=0)  # one image per layout: large+small, medium+small, small
    items = []
    for i in range(3):
        image, boxes, invalid = source.load(i)
        result = detector.detect(image)
        assert result.branch_kind == "branch" and set(result.branches) == {"small", "medium", "large"}
        items.append(
            ImageEval(
                np.array([f.box for f in result.faces]).reshape(-1, 4),
                np.array([f.score for f in result.faces]),
                [f.branch for f in result.faces],
                boxes,
                invalid,
            )
        )
    metrics = quick_eval(items)
    assert metrics["ap"] > 0.5, metrics
    for name in ("small", "medium", "large"):
        assert metrics[f"faces_{name}"] >= 1
        assert metrics[f"recall_{name}"] >= 0.6, metrics
        # every face found is found by the branch of its own range
        assert metrics[f"branch_recall_{name}"] == metrics[f"recall_{name}"], metrics

"""The periodic WIDER evaluation: split opening, official AP per setting and branch, the
ScaleFace task's hook at checkpoints (metrics.jsonl, resume, no effect on training), CLI, cancel."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from core.cli import run_cli
from core.detect.postprocess import build_result
from core.detect.training.eval_hook import (
    EvalSplitError,
    evaluate_on_split,
    evenly_spaced,
    open_eval_split,
)
from core.detect.training.eval_synthetic import write_synthetic_split
from core.detect.training.scaleface_task import ScaleFaceTask, ScaleFaceTaskConfig
from core.scale_ranges import scale_range_of
from core.train.checkpoint import load_checkpoint
from core.train.config import apply_eval_defaults, build_config
from core.train.loop import train
from core.train.metrics_log import read_metrics
from tests.core.train.helpers import run_to_end

TINY = (
    "device=cpu",
    "batch_size=1",
    "log_every=1",
    "task.eval_images=0",
    "task.model.backbone=tiny",
    "task.model.rpn_pre_nms_test=300",
    "task.model.rpn_post_nms_test=50",
    "task.data.source=synthetic",
    "task.data.synthetic_images=4",
    "task.data.synthetic_size=96",
    "task.data.crop_size=0",
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory):
    return write_synthetic_split(tmp_path_factory.mktemp("split") / "val", num_images=5, size=160)


class _Oracle:
    """Returns each image's ground truth (in split order) as detections, branch by face height."""

    name = "oracle"
    branch_kind = "branch"

    def __init__(self, split) -> None:
        self.boxes = [split.dataset[i].boxes_xyxy for i in range(split.num_images)]
        self.calls = 0

    def detect(self, image, min_score=None):
        boxes = self.boxes[self.calls]
        self.calls += 1
        scores = np.linspace(0.9, 0.6, len(boxes))
        branches = [scale_range_of(float(b[3] - b[1])) for b in boxes]
        return build_result(
            boxes,
            scores,
            model="oracle",
            image_size=image.shape[1::-1],
            branches=branches,
            branch_kind="branch",
            branch_names=("small", "medium", "large"),
        )


def test_open_split_subset_and_errors(split_dir, tmp_path):
    full = open_eval_split(split_dir)
    assert full.num_images == 5 and full.gt.settings == ("easy", "medium", "hard")
    part = open_eval_split(split_dir, max_images=3)
    assert part.num_images == 3
    keys = [f"{s.event}/{s.path.stem}" for s in part.dataset]
    assert list(part.gt.keys) == keys == [full.gt.keys[i] for i in evenly_spaced(5, 3)]
    faces = sum(len(s.boxes) for s in part.dataset)
    assert part.gt.num_faces == faces and part.gt.keep["hard"].sum() == faces
    assert part.gt.keep["easy"].sum() <= part.gt.keep["medium"].sum() <= faces
    with pytest.raises(EvalSplitError, match="does not exist"):
        open_eval_split(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvalSplitError, match="not an evaluation split"):
        open_eval_split(tmp_path / "empty")


def test_perfect_detections_score_one_per_setting_and_branch(split_dir):
    split = open_eval_split(split_dir)
    metrics = evaluate_on_split(_Oracle(split), split)
    assert metrics["ap_easy"] == pytest.approx(1.0) and metrics["ap_hard"] == pytest.approx(1.0)
    # the synthetic faces at 160 px are small and medium; each branch finds all faces of its range
    assert metrics["ap_branch_small"] == pytest.approx(1.0)
    assert metrics["ap_branch_medium"] == pytest.approx(1.0)
    assert "ap_branch_large" not in metrics  # no face in the large range: no AP
    assert metrics["eval_images"] == 5 and metrics["eval_faces"] == split.gt.num_faces


def test_stopping_mid_evaluation_reports_nothing(split_dir):
    split = open_eval_split(split_dir)
    oracle = _Oracle(split)
    assert evaluate_on_split(oracle, split, should_stop=lambda: oracle.calls >= 2) is None
    assert oracle.calls == 2


def _config(*overrides):
    config = build_config(
        ScaleFaceTaskConfig, overrides=(*TINY, *overrides), train_defaults=ScaleFaceTask.train_defaults
    )
    apply_eval_defaults(config)
    return config


def test_training_evaluates_at_checkpoints_resumes_and_leaves_training_unchanged(split_dir, tmp_path):
    opts = ("max_steps=4", "checkpoint_every=2", f"task.eval_split={json.dumps(str(split_dir))}")
    config = _config(*opts)
    assert config.train.eval_every == 2  # a split without a cadence: at checkpoints
    gen = train(ScaleFaceTask(), config, run_dir=tmp_path / "cut")
    for record in gen:
        if record["event"] == "step" and record["step"] == 3:
            break
    gen.close()
    records, summary = run_to_end(
        train(ScaleFaceTask(), _config(*opts), run_dir=tmp_path / "cut", resume=True)
    )
    assert summary.step == 4
    assert [r["step"] for r in records if r["event"] == "eval"] == [4]  # step 2 was before the cut
    logged = [r for r in read_metrics(tmp_path / "cut" / "metrics.jsonl") if r["event"] == "eval"]
    assert [r["step"] for r in logged] == [2, 4]
    for row in logged:
        for key in ("ap_easy", "ap_medium", "ap_hard"):
            assert math.isfinite(row["metrics"][key]) and 0.0 <= row["metrics"][key] <= 1.0
        assert {"ap_branch_small", "ap_branch_medium"} <= set(row["metrics"])
    # the same run without any evaluation ends with the same weights
    run_to_end(
        train(ScaleFaceTask(), _config("max_steps=4", "checkpoint_every=2"), run_dir=tmp_path / "plain")
    )
    cut = load_checkpoint(tmp_path / "cut" / "last.pt", task="scaleface")["model"]
    plain = load_checkpoint(tmp_path / "plain" / "last.pt", task="scaleface")["model"]
    assert all(torch.equal(cut[k], plain[k]) for k in plain)


def test_a_stop_during_evaluation_logs_no_ap(split_dir, tmp_path):
    task = ScaleFaceTask()
    task.should_stop = lambda: True
    opts = ("max_steps=1", "eval_every=1", f"task.eval_split={json.dumps(str(split_dir))}")
    records, _ = run_to_end(train(task, _config(*opts), run_dir=tmp_path / "run"))
    (evaluation,) = [r for r in records if r["event"] == "eval"]
    assert evaluation["metrics"] == {"cancelled": True}


def test_cli_options_and_a_bad_split(split_dir, tmp_path, caplog):
    argv = ["train", "scaleface", "--out", str(tmp_path / "run"), "--max-steps", "1", "--batch-size", "1"]
    argv += [item for opt in TINY if not opt.startswith(("device", "batch")) for item in ("--set", opt)]
    argv += ["--device", "cpu", "--eval-every", "1", "--set", "task.eval_max_images=2"]
    assert run_cli([*argv, "--eval-split", str(split_dir)]) == 0
    (row,) = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["event"] == "eval"]
    assert row["metrics"]["eval_images"] == 2 and math.isfinite(row["metrics"]["ap_hard"])
    assert "eval at step 1: AP easy " in caplog.text
    bad = ["train", "scaleface", "--out", str(tmp_path / "bad"), "--eval-split", str(tmp_path / "missing")]
    assert run_cli([*bad, *argv[4:]]) == 2  # a missing evaluation split is a user error
    assert "does not exist" in caplog.text
    assert run_cli(["train", "lmle", "--out", str(tmp_path / "x"), "--eval-split", str(split_dir)]) == 2


@pytest.mark.shared_data
def test_the_416_dev_split_opens_and_scores_a_scaleface_model():
    from core.detect.scaleface import ScaleFaceDetector
    from core.models.scaleface.config import ScaleFaceConfig
    from core.models.scaleface.model import ScaleFace
    from core.paths import SHARED_DIR

    split = open_eval_split(SHARED_DIR / "data" / "wider_val_416_dev", max_images=4)
    assert split.num_images == 4 and split.gt.settings == ("easy", "medium", "hard")
    torch.manual_seed(0)
    model = ScaleFace(ScaleFaceConfig(backbone="tiny", rpn_pre_nms_test=300, rpn_post_nms_test=50)).eval()
    metrics = evaluate_on_split(ScaleFaceDetector(model=model, min_score=0.05), split)
    assert all(math.isfinite(metrics[f"ap_{s}"]) for s in ("easy", "medium", "hard"))
    assert metrics["eval_unreadable"] == 0 and metrics["eval_faces"] == split.gt.num_faces

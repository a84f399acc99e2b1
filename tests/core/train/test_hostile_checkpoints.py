"""Hostile, broken or foreign checkpoints and configurations: one clear line, nothing run, nothing allocated."""

from __future__ import annotations

import logging
import math
import os

import pytest
import torch

from core.cli import run_cli
from core.detect.scaleface import load_scaleface_checkpoint
from core.errors import UserError
from core.models.scaleface.config import ScaleFaceConfig
from core.train.checkpoint import FORMAT, VERSION, CheckpointError, load_checkpoint
from core.train.config import ConfigError, TrainConfig
from tests.core.train.helpers import run_to_end, toy_train

SAMPLE = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "resources", "samples", "faceapi_demo_1.jpg"
)


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def hostile(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    torch.save({"x": _Payload(str(marker))}, path)
    return path, marker


def test_a_pickle_with_code_is_refused_in_one_line_without_running(hostile):
    path, marker = hostile
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "posix.system" in message and "\n" not in message
    assert "weights_only=False" not in message and "weights_only" not in message
    assert not marker.exists()


def test_a_truncated_file_says_so(hostile, tmp_path):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(hostile[0].read_bytes()[:64])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(cut)


def _scaleface_checkpoint(path, model_cfg=None, weights=None, with_config=True):
    payload = {"format": FORMAT, "version": VERSION, "task": "scaleface", "model": weights or {}}
    if with_config:
        payload["config"] = {"task": {"model": model_cfg or {"backbone": "tiny"}}}
    torch.save(payload, path)
    return path


def test_foreign_scaleface_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="has no ScaleFace model configuration"):
        load_scaleface_checkpoint(_scaleface_checkpoint(tmp_path / "a.pt", with_config=False))
    with pytest.raises(CheckpointError, match="weights do not fit its own architecture"):
        load_scaleface_checkpoint(_scaleface_checkpoint(tmp_path / "b.pt", weights={"w": torch.zeros(2)}))
    # refused from the numbers, before a 12.8 GB layer is allocated
    huge = _scaleface_checkpoint(tmp_path / "c.pt", {"backbone": "tiny", "roi_hidden": 2_000_000})
    with pytest.raises(CheckpointError, match=r"roi_hidden=2000000 \(allowed 0\.\.8192\)"):
        load_scaleface_checkpoint(huge)


def test_detect_reports_a_hostile_checkpoint_in_one_line_with_exit_2(hostile, caplog):
    path, marker = hostile
    with caplog.at_level(logging.ERROR):
        code = run_cli(["detect", SAMPLE, "--model", "scaleface", "--checkpoint", str(path)])
    assert code == 2 and not marker.exists()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0] and "weights_only" not in errors[0]


@pytest.mark.parametrize(
    "options",
    [{"branch_channels": -4}, {"pool_sizes": (5, 0, 9)}, {"width_mult": math.inf}, {"nms_iou": 1.5}],
)
def test_model_configs_outside_sane_ranges_are_refused(options):
    with pytest.raises(ValueError, match="out of range"):
        ScaleFaceConfig(backbone="tiny", **options)


def test_an_infinite_learning_rate_is_refused():
    with pytest.raises(ConfigError, match="lr=inf"):
        TrainConfig(lr=math.inf)


def test_resuming_into_another_architecture_is_one_clear_error(tmp_path):
    run_to_end(toy_train(tmp_path, "max_steps=2", "task.hidden=8"))
    with pytest.raises(CheckpointError, match="cannot resume this run from it") as info:
        run_to_end(toy_train(tmp_path, "max_steps=4", "task.hidden=16", resume=True))
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


@pytest.mark.parametrize("option", ["task.data.synthetic_size=-5", "task.data.crop_size=100000", "lr=inf"])
def test_training_options_outside_sane_ranges_are_refused(option):
    from core.detect.training.scaleface_task import ScaleFaceTask
    from core.train.config import build_config

    task = ScaleFaceTask()
    with pytest.raises(ConfigError, match="out of range|invalid train option"):
        build_config(task.config_cls, overrides=[option], train_defaults=task.train_defaults)

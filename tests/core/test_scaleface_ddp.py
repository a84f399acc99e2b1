"""ScaleFace under DistributedDataParallel: two gloo processes on CPU stay in lockstep."""

from __future__ import annotations

import pytest
import torch

from tests.core.train.test_ddp import spawn_two


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_scaleface_trains_under_ddp_gloo(tmp_path):
    ranks = spawn_two(
        tmp_path,
        "core.detect.training.scaleface_task:ScaleFaceTask",
        "tests.core.test_scaleface_training:scaleface_config",
        ("max_steps=3", "batch_size=1", "task.data.synthetic_images=4", "task.data.synthetic_size=96"),
    )
    assert [r["step"] for r in ranks] == [3, 3] and ranks[0]["losses"] == ranks[1]["losses"]
    for key in ranks[0]["params"]:
        assert torch.equal(ranks[0]["model"][key], ranks[1]["model"][key]), key

"""DistributedDataParallel on CPU: two gloo processes train and end with identical weights."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp

from core.train.checkpoint import load_checkpoint
from core.train.metrics_log import read_metrics
from tests.core.train.ddp_worker import run_rank


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn_two(tmp_path, task_path: str, config_fn: str, opts: tuple) -> list[dict]:
    out = tmp_path / "out"
    out.mkdir()
    args = (2, _free_port(), task_path, config_fn, opts, str(tmp_path / "run"), str(out))
    mp.spawn(run_rank, args=args, nprocs=2, join=True)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_gloo_ranks_train_in_lockstep(tmp_path):
    ranks = spawn_two(
        tmp_path,
        "tests.core.train.toy_task:ToyTask",
        "tests.core.train.helpers:toy_config",
        ("max_steps=20", "checkpoint_every=5"),
    )
    assert [r["step"] for r in ranks] == [20, 20] and [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["losses"] == ranks[1]["losses"]  # rank-averaged losses
    losses = ranks[0]["losses"]
    assert sum(losses[-4:]) < sum(losses[:4]), losses
    # parameters are all-reduced every step; buffers are rank-local until DDP broadcasts
    # rank 0's at the next forward, so only rank 0's are checkpointed
    assert ranks[0]["params"]
    for key in ranks[0]["params"]:
        assert torch.equal(ranks[0]["model"][key], ranks[1]["model"][key]), key
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt", task="toy")
    assert ckpt["world_size"] == 2 and len(ckpt["rng"]) == 2 and ckpt["step"] == 20
    for key, value in ckpt["model"].items():
        assert torch.equal(value, ranks[0]["model"][key]), key
    logged = read_metrics(tmp_path / "run" / "metrics.jsonl")  # written by rank 0 only: no duplicates
    steps = [r["step"] for r in logged if r["event"] == "step"]
    assert steps == sorted(set(steps)) and logged[0]["world_size"] == 2 and logged[0]["global_batch"] == 8

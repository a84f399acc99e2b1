"""The training generator: metrics, checkpoints, exact resume, cancel, errors."""

from __future__ import annotations

import pytest
import torch

from core.train.checkpoint import load_checkpoint
from core.train.loop import NonFiniteLossError, TrainError
from core.train.metrics_log import read_metrics
from tests.core.train.helpers import run_to_end, toy_train


class Cancelled(Exception):
    """Stands in for the GUI worker's JobCancelled."""


def _final_weights(run_dir):
    return load_checkpoint(run_dir / "last.pt", task="toy")["model"]


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_trains_logs_and_checkpoints(tmp_path):
    records, summary = run_to_end(toy_train(tmp_path, "max_steps=40", "eval_every=20", "checkpoint_every=15"))
    steps = [r for r in records if r["event"] == "step"]
    assert [r["step"] for r in steps] == list(range(1, 41))
    assert set(steps[0]["losses"]) == {"mse", "l1"} and steps[0]["lr"] > 0 and steps[-1]["images_per_s"] > 0
    first = sum(r["loss"] for r in steps[:5]) / 5
    last = sum(r["loss"] for r in steps[-5:]) / 5
    assert last < 0.5 * first, (first, last)
    events = [r["event"] for r in records]
    assert events[0] == "start" and events[-1] == "end"
    assert [r["step"] for r in records if r["event"] == "checkpoint"] == [15, 30, 40]
    assert [r["step"] for r in records if r["event"] == "eval"] == [20, 40]
    logged = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in logged if r["event"] == "step"] == list(range(2, 41, 2))
    ckpt = load_checkpoint(tmp_path / "last.pt", task="toy")  # weights_only=True inside
    assert ckpt["step"] == 40 and ckpt["config"]["train"]["max_steps"] == 40
    assert summary.step == 40 and summary.checkpoint.endswith("last.pt")


@pytest.mark.parametrize(("how", "workers"), [("close", 0), ("throw", 0), ("close", 2)])
def test_cancel_then_resume_is_bit_identical(tmp_path, how, workers):
    # 24 items / batch 4: crosses epochs; with workers the loader's processes persist across epochs
    opts = ("max_steps=14", "checkpoint_every=0", "warmup_steps=3", f"num_workers={workers}")
    run_to_end(toy_train(tmp_path / "full", *opts))

    gen = toy_train(tmp_path / "cut", *opts)
    for record in gen:
        if record["event"] == "step" and record["step"] == 8:  # mid-epoch (6 batches per epoch)
            break
    if how == "close":
        gen.close()  # GeneratorExit at the yield
    else:
        with pytest.raises(Cancelled):
            gen.throw(Cancelled())
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["step"] == 8

    records, summary = run_to_end(toy_train(tmp_path / "cut", *opts, resume=True))
    assert records[0]["resumed"] and records[1]["step"] == 9 and summary.step == 14
    _assert_same(_final_weights(tmp_path / "full"), _final_weights(tmp_path / "cut"))
    full_ckpt = load_checkpoint(tmp_path / "full" / "last.pt")
    cut_ckpt = load_checkpoint(tmp_path / "cut" / "last.pt")
    assert full_ckpt["optimizer"]["state"].keys() == cut_ckpt["optimizer"]["state"].keys()
    for k in full_ckpt["optimizer"]["state"]:
        assert torch.equal(
            full_ckpt["optimizer"]["state"][k]["momentum_buffer"],
            cut_ckpt["optimizer"]["state"][k]["momentum_buffer"],
        )
    logged = [r["step"] for r in read_metrics(tmp_path / "cut" / "metrics.jsonl") if r["event"] == "step"]
    assert logged == list(range(2, 15, 2))


def test_periodic_checkpoint_resume_after_a_crash(tmp_path):
    """A crash between checkpoints: resume from the last periodic one, the metrics log is cut back."""
    run_to_end(toy_train(tmp_path / "full", "max_steps=10"))
    gen = toy_train(tmp_path / "crash", "max_steps=10", "checkpoint_every=4")
    for record in gen:
        if record["event"] == "step" and record["step"] == 6:
            break
    ckpt = tmp_path / "crash" / "last.pt"
    saved = ckpt.read_bytes()
    gen.close()  # writes a cancel checkpoint at step 6 ...
    ckpt.write_bytes(saved)  # ... which a real crash would not have: restore the step-4 one
    assert load_checkpoint(ckpt)["step"] == 4
    run_to_end(toy_train(tmp_path / "crash", "max_steps=10", "checkpoint_every=4", resume=True))
    _assert_same(_final_weights(tmp_path / "full"), _final_weights(tmp_path / "crash"))
    steps = [r["step"] for r in read_metrics(tmp_path / "crash" / "metrics.jsonl") if r["event"] == "step"]
    assert steps == [2, 4, 6, 8, 10]


def test_existing_run_is_not_overwritten_without_resume(tmp_path):
    run_to_end(toy_train(tmp_path, "max_steps=2"))
    with pytest.raises(TrainError, match="already holds a checkpoint"):
        next(toy_train(tmp_path, "max_steps=2"))


def test_resume_without_checkpoint_starts_fresh_and_finished_run_is_a_no_op(tmp_path):
    records, summary = run_to_end(toy_train(tmp_path, "max_steps=3", resume=True))
    assert summary.step == 3 and not records[0]["resumed"]
    records, summary = run_to_end(toy_train(tmp_path, "max_steps=3", resume=True))
    assert summary.step == 3 and [r["event"] for r in records] == ["start", "end"]


def test_non_finite_loss_raises_with_the_step(tmp_path):
    with pytest.raises(NonFiniteLossError) as info:
        run_to_end(toy_train(tmp_path, "max_steps=10", "task.nan_at_step=3"))
    assert info.value.step == 3 and info.value.losses["mse"] != info.value.losses["mse"]


def test_dataset_smaller_than_a_batch_is_a_clear_error(tmp_path):
    with pytest.raises(TrainError, match="smaller than one global batch"):
        run_to_end(toy_train(tmp_path, "task.num_items=3", "batch_size=4"))

"""Training records as readable log lines: one function for the CLI's log and the Training panel."""

from __future__ import annotations

import logging

from core.cli.train import _log_record
from core.train.records import describe_eval, describe_record, describe_step, log_line

STEP = {
    "event": "step",
    "step": 120,
    "epoch": 0,
    "losses": {"small/rpn_cls": 0.25, "small/rpn_box": 0.25, "large/rpn_cls": 0.734},
    "loss": 1.234,
    "lr": 0.01,
    "grad_norm": 3.2,
    "images_per_s": 1.72,
    "elapsed_s": 70.0,
    "eta_s": 192.0,
}


def test_a_step_record_reads_as_one_line_not_a_dict():
    line = describe_step(STEP)
    assert line == "step 120 · loss 1.2340 (small 0.5000, large 0.7340) · lr 0.0100 · 1.7 img/s · ETA 3.2 min"
    assert "{" not in line and "'" not in line


def test_checkpoint_start_and_end_lines_are_readable():
    checkpoint = {"event": "checkpoint", "step": 20, "path": "/runs/a/last.pt", "reason": "periodic"}
    assert describe_record(checkpoint) == "checkpoint at step 20 (periodic): /runs/a/last.pt"
    start = {
        "event": "start",
        "step": 0,
        "max_steps": 100,
        "task": "scaleface",
        "device": "cpu",
        "world_size": 1,
        "amp": False,
        "dataset_size": 5,
        "global_batch": 2,
        "config": {"train": {}},
    }
    assert (
        describe_record(start) == "scaleface started at step 0 of 100 · on cpu · 5 training images · batch 2"
    )
    end = {"event": "end", "step": 100, "elapsed_s": 300.0, "images_per_s": 0.66}
    assert describe_record(end) == "finished at step 100 · in 5.0 min · 0.7 img/s"


def test_log_line_skips_steps_between_log_every():
    assert log_line({**STEP, "step": 121}, log_every=20) is None
    assert log_line({**STEP, "step": 140}, log_every=20).startswith("step 140 · ")
    assert log_line({"event": "eval", "step": 121, "metrics": {}}, log_every=20) is not None


def test_the_cli_logs_the_same_line(caplog):
    caplog.set_level(logging.INFO, logger="core.cli.train")
    _log_record(STEP, log_every=20)
    assert describe_step(STEP) in caplog.messages


def test_eval_line_keeps_scalars_and_counts_per_item_figures():
    line = describe_eval(
        {"step": 500, "metrics": {"mean_balanced_accuracy": 0.8261, "ba/Bald": 0.91, "ba/Male": 0.97}}
    )
    assert line == "eval at step 500: mean_balanced_accuracy 0.8261 (+2 per-item figures in metrics.jsonl)"
    assert "Bald" not in line and "AP" not in line


def test_eval_line_puts_ap_first():
    line = describe_eval({"step": 1, "metrics": {"ap_easy": 0.5, "ap_hard": 0.25, "images": 3}})
    assert line == "eval at step 1: AP easy 0.5000 hard 0.2500 images 3"


def test_a_stopped_evaluation_says_so():
    assert (
        describe_eval({"step": 4, "metrics": {"cancelled": True}})
        == "eval at step 4: stopped before the end (no figures)"
    )

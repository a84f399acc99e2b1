"""``python main.py train ...`` drives the same generator; its options map onto the config."""

from __future__ import annotations

import json

import pytest

from core.cli import run_cli
from core.train import registry
from core.train.checkpoint import load_checkpoint


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(registry.TASKS, "toy", "tests.core.train.toy_task:ToyTask")


def test_cli_trains_resumes_and_prints_a_summary(tmp_path, toy_registered, capsys):
    cfg = tmp_path / "toy.toml"
    cfg.write_text("[train]\nlr = 0.01\nlog_every = 1\n\n[task]\nhidden = 8\n")
    out = tmp_path / "run"
    argv = [
        "train",
        "toy",
        "--out",
        str(out),
        "--config",
        str(cfg),
        "--max-steps",
        "3",
        "--batch-size",
        "2",
        "--device",
        "cpu",
        "--set",
        "task.num_items=10",
    ]
    assert run_cli(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 3 and summary["task"] == "toy"
    ckpt = load_checkpoint(out / "last.pt", task="toy")
    assert ckpt["config"]["train"]["lr"] == 0.01 and ckpt["config"]["train"]["batch_size"] == 2
    assert ckpt["config"]["task"] == {"hidden": 8, "num_items": 10, "nan_at_step": 0}
    assert run_cli(argv) == 2  # the run folder is taken: the user's mistake
    assert run_cli([*argv[:7], "5", *argv[8:], "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 5


def test_cli_reports_bad_task_and_bad_option(tmp_path, toy_registered, caplog):
    assert run_cli(["train", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown training task" in caplog.text
    assert run_cli(["train", "toy", "--out", str(tmp_path), "--set", "task.hiden=3"]) == 2
    assert "task.hiden" in caplog.text

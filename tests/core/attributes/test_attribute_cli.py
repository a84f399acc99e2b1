"""attributes-eval (JSON schema, default split = outside the model's training range, errors),
the lmle task through the engine (loss goes down, exact resume), export and the train CLI flags."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.attributes.celeba import CELEBA_ATTRIBUTES
from core.attributes.export import export_linear, export_run
from core.attributes.lmle_task import LMLETask
from core.attributes.model import AttributeModel
from core.cli import run_cli
from core.paths import MODELS_DIR, SAMPLES_DIR
from core.progress import relay
from core.train.config import build_config
from core.train.loop import train
from tests.core.attributes.fakes import fake_celeba

TINY = [
    "device=cpu",
    "lr=0.01",
    "batch_size=8",
    "log_every=1",
    "checkpoint_every=0",
    "eval_every=10",
    "task.refresh_every=5",
]


def _run(task, root, run_dir, steps, resume=False, extra=()):
    overrides = [*TINY, f"max_steps={steps}", f'task.celeba_root="{root}"', 'task.train_range="1-120"']
    overrides += ['task.val_range="121-160"', *extra]
    config = build_config(task.config_cls, overrides=overrides, train_defaults=task.train_defaults)
    records: list = []
    return records, relay(train(task, config, run_dir=run_dir, resume=resume), records.append)


@pytest.fixture
def celeba(tmp_path, monkeypatch):
    monkeypatch.setenv("FACESCOPE_FEATURE_CACHE", str(tmp_path / "cache"))
    labels = fake_celeba(tmp_path / "celeba")
    return tmp_path / "celeba", labels


def test_engine_trains_lmle_lowers_loss_and_resumes_exactly(celeba, tmp_path):
    root, _ = celeba
    records, summary = _run(LMLETask(), root, tmp_path / "a", 30)
    losses = [r["loss"] for r in records if r["event"] == "step"]
    assert summary.step == 30 and np.mean(losses[-5:]) < np.mean(losses[:5])
    evals = [r for r in records if r["event"] == "eval"]
    assert len(evals) == 3 and evals[-1]["metrics"]["mean_balanced_accuracy"] > 0.62
    assert {f"ba/{n}" for n in CELEBA_ATTRIBUTES} <= set(evals[-1]["metrics"])
    # stop at 7, resume to 12: the same weights and cluster state as straight through
    task = LMLETask()
    gen = train(
        task,
        build_config(
            task.config_cls,
            overrides=[
                *TINY,
                "max_steps=12",
                f'task.celeba_root="{root}"',
                'task.train_range="1-120"',
                'task.val_range=""',
            ],
            train_defaults=task.train_defaults,
        ),
        run_dir=tmp_path / "b",
    )
    for record in gen:
        if record["event"] == "step" and record["step"] == 7:
            gen.close()
            break
    resumed_task = LMLETask()
    _run(resumed_task, root, tmp_path / "b", 12, resume=True, extra=['task.val_range=""'])
    straight_task = LMLETask()
    _run(straight_task, root, tmp_path / "c", 12, extra=['task.val_range=""'])
    for (name, a), b in zip(
        resumed_task.model.state_dict().items(), straight_task.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_triplet_baseline_runs_through_the_same_task(celeba, tmp_path):
    root, _ = celeba
    records, summary = _run(LMLETask(), root, tmp_path / "t", 10, extra=['task.method="triplet"'])
    assert summary.losses.keys() == {"triplet"}
    assert records[-2]["event"] == "eval" or any(r["event"] == "eval" for r in records)


def test_export_then_attributes_eval_json(celeba, tmp_path, capsys):
    root, labels = celeba
    _run(LMLETask(), root, tmp_path / "run", 20)
    path = export_run(tmp_path / "run", out=tmp_path / "model.pt")
    side = json.loads(path.with_suffix(".json").read_text())
    assert "research use" in side["licence"] and "--train-range 1-120" in side["regenerate"]
    assert "--set train.max_steps=20" in side["regenerate"]
    model = AttributeModel.load(path)
    assert model.method == "lmle" and model.meta["train_range"] == "1-120"
    code = run_cli(["attributes-eval", "--celeba-root", str(root), "--model", str(path), "--json", "-"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert (
        doc["method"] == "lmle" and doc["images"] == 40 and doc["range"] == "121-160"
    )  # not the training rows
    assert set(doc["attributes"]) == set(CELEBA_ATTRIBUTES)
    assert set(doc["attributes"]["Bald"]) == {"accuracy", "balanced_accuracy", "positive_rate"}
    assert doc["attributes"]["Bald"]["positive_rate"] == pytest.approx(labels[120:, 4].mean())
    assert 0.5 < doc["mean_balanced_accuracy"] <= 1.0
    # a range, the text table, and errors
    assert (
        run_cli(["attributes-eval", "--celeba-root", str(root), "--model", str(path), "--range", "1-10"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("lmle on 10 images (1-10)") and "mean" in out.splitlines()[-1]
    assert run_cli(["attributes-eval", "--celeba-root", str(tmp_path), "--model", str(path)]) == 1
    assert run_cli(["attributes-eval", "--celeba-root", str(root), "--model", str(tmp_path / "no.pt")]) == 1
    assert run_cli(["attributes-eval", "--celeba-root", str(root), "--model", str(path), "--range", "x"]) == 2


def test_train_cli_takes_the_issue_flags(celeba, tmp_path, capsys, caplog):
    root, _ = celeba
    argv = ["train", "lmle", "--celeba-root", str(root), "--train-range", "1-120", "--val-range", "121-160"]
    argv += ["--out", str(tmp_path / "cli_run"), "--max-steps", "4", "--device", "cpu", "--quiet"]
    argv += ["--set", "train.batch_size=8", "--set", "train.eval_every=0"]
    assert run_cli(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["task"] == "lmle" and summary["step"] == 4
    assert run_cli(["train", "lmle", "--cfp-root", str(root), "--out", str(tmp_path / "x")]) == 2
    # a flag two tasks share is accepted by both and refused by a third
    assert run_cli(["train", "dream", "--celeba-root", str(root), "--out", str(tmp_path / "y")]) == 2
    assert "of the lmle and lmle_learned tasks, not of dream" in caplog.text


@pytest.mark.skipif(
    not (MODELS_DIR / "lmle_celeba.pt").exists(), reason="bundled LMLE model not exported yet"
)
def test_attributes_cli_on_a_sample_with_the_bundled_model(tmp_path, capsys):
    sample = SAMPLES_DIR / "faceapi_demo_1.jpg"
    assert run_cli(["attributes", str(sample), "--json", str(tmp_path / "out.json")]) == 0
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["method"] == "lmle" and doc["detector"] == "centerface"
    faces = doc["images"][0]["faces"]
    assert doc["images"][0]["error"] is None and len(faces) == 3  # the three women of sample 1
    for face in faces:
        attrs = face["attributes"]
        assert set(attrs) == set(CELEBA_ATTRIBUTES) and len(face["box"]) == 4
        assert not attrs["Male"]["present"] and attrs["Male"]["margin"] < 0
        assert all((v["margin"] > 0) == v["present"] for v in attrs.values() if v["margin"] != 0)
    assert run_cli(["attributes", str(sample), str(tmp_path / "missing.jpg")]) == 1
    out = capsys.readouterr().out
    assert "face 1" in out and "missing.jpg: error" in out


def test_attributes_eval_compare_reports_bootstrap_intervals(celeba, tmp_path, capsys):
    root, _ = celeba
    _run(LMLETask(), root, tmp_path / "run", 20)
    lmle = export_run(tmp_path / "run", out=tmp_path / "lmle.pt")
    linear = export_linear(root, "1-120", 0.01, tmp_path / "linear.pt")
    args = ["attributes-eval", "--celeba-root", str(root), "--model", str(lmle), "--compare"]
    assert run_cli([*args, "--against", str(linear), "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["images"] == 40 and doc["range"] == "121-160"
    assert set(doc["methods"]) == {"lmle", "linear"}
    assert len(doc["rarest10"]) == 10 and set(doc["rarest10"]) <= set(CELEBA_ATTRIBUTES)
    for part in ("all", "rarest10"):
        d = doc["differences"]["lmle - linear"][part]
        assert d["ci95_low"] <= d["difference"] <= d["ci95_high"] and d["resamples"] == 2000
    gap = (
        doc["methods"]["lmle"]["mean_balanced_accuracy"] - doc["methods"]["linear"]["mean_balanced_accuracy"]
    )
    assert doc["differences"]["lmle - linear"]["all"]["difference"] == pytest.approx(gap, abs=1e-4)
    # the text form names the pair and its interval
    assert run_cli([*args, "--against", str(linear)]) == 0
    assert "lmle - linear:" in capsys.readouterr().out

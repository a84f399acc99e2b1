"""CFP evaluation, DREAM training through the engine, export and the CLI, on a synthetic CFP."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cfp.dream_task import DreamTask
from core.cfp.evaluate import evaluate_protocol
from core.cfp.export import export_dream
from core.cfp.features import attach_yaw, load_features, yaw_file
from core.cfp.protocol import CfpProtocol
from core.cfp.stitching import build_stitching, dream_center, identities_of_folds
from core.recognize.dream import DreamMapper
from core.train.config import build_config
from core.train.loop import train
from tests.core.dream.cfp_fixture import PAIRS_PER_FOLD, make_cfp


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    base = tmp_path_factory.mktemp("cfp")
    root, cache = base / "cfp", base / "cache"
    make_cfp(root, folds=2, cache_dir=cache)
    cfp = CfpProtocol.open(root)
    table = load_features(root, cfp.existing_keys(), cache)  # all cached: no model runs
    return root, cache, cfp, table


@pytest.fixture(scope="module")
def trained(synthetic, tmp_path_factory):
    root, cache, _, _ = synthetic
    run = tmp_path_factory.mktemp("run")
    task = DreamTask()
    config = build_config(
        task.config_cls,
        overrides=[
            f'task.cfp_root="{root}"',
            f'task.feature_cache="{cache}"',
            'task.train_folds="1"',
            'task.val_folds="2"',
            "train.max_steps=300",
            "train.eval_every=300",
            'train.device="cpu"',
        ],
        train_defaults=task.train_defaults,
    )
    records = list(train(task, config, run_dir=run))
    out = run / "dream_test.pt"
    meta = export_dream(run, out_path=out)
    return run, out, meta, records


def test_yaw_and_stitching_set(synthetic):
    _, _, _, table = synthetic
    assert table.yaw is not None
    profile = np.array(["/profile/" in k for k in table.keys])
    assert (np.abs(table.yaw[~profile]) < 20).all() and (np.abs(table.yaw[profile]) > 50).all()
    ids = identities_of_folds("1")
    center = dream_center(table, ids)
    stitched = build_stitching(table, ids, center)
    assert len(stitched) == 50 * 4 and stitched.inputs.shape == stitched.targets.shape == (200, 128)
    np.testing.assert_allclose(np.linalg.norm(stitched.targets, axis=1), 1.0, atol=1e-5)


def test_attach_yaw_is_memoised(synthetic, tmp_path):
    _, _, _, table = synthetic
    first = attach_yaw(table.subset(table.keys[:5]), tmp_path)
    assert (tmp_path / yaw_file()).exists() and yaw_file().startswith("yaw_v2_")
    again = attach_yaw(table.subset(table.keys[:5]), tmp_path)
    np.testing.assert_array_equal(first.yaw, again.yaw)


def test_thresholds_come_from_the_other_folds(synthetic):
    _, _, cfp, table = synthetic
    ev = evaluate_protocol(cfp, table, "FF", [1, 2], shipped_threshold=None)
    assert [f.fold for f in ev.folds] == [1, 2] and all(f.threshold_source == "other folds" for f in ev.folds)
    assert all(f.pairs == 2 * PAIRS_PER_FOLD for f in ev.folds)
    assert ev.folds[0].threshold != ev.folds[1].threshold or ev.folds[0].accuracy == ev.folds[1].accuracy
    single = evaluate_protocol(cfp, table, "FP", [2], shipped_threshold=0.5)
    assert single.folds[0].threshold == 0.5 and single.folds[0].threshold_source == "shipped"
    with pytest.raises(ValueError, match="shipped threshold"):
        evaluate_protocol(cfp, table, "FP", [2])
    payload = ev.to_json()
    assert set(payload) == {
        "protocol",
        "dream",
        "folds",
        "accuracy_mean",
        "accuracy_std",
        "eer_mean",
        "auc_mean",
    }
    assert {"fold", "accuracy", "eer", "auc"} <= set(payload["folds"][0])
    for kind in ("fa", "fr"):
        for i in ev.worst(kind):
            wrong = ev.pairs.scores[i] >= ev.pairs.thresholds[i]
            assert wrong if kind == "fa" else not wrong


def test_training_lowers_held_out_fp_eer_and_keeps_ff(synthetic, trained):
    _, _, cfp, table = synthetic
    _, out, meta, records = trained
    assert records[0]["event"] == "start" and records[-1]["event"] == "end"
    steps = [r for r in records if r["event"] == "step"]
    assert steps[-1]["losses"]["stitch"] < steps[0]["losses"]["stitch"]
    evals = [r for r in records if r["event"] == "eval"]
    assert evals and evals[-1]["metrics"]["val_fp_eer_dream"] <= evals[-1]["metrics"]["val_fp_eer_stem"]
    mapper = DreamMapper(out)
    assert meta["training_pairs"] == 200 and set(mapper.calibration) == {"stem", "dream"}
    fp_stem = evaluate_protocol(cfp, table, "FP", [2], mapper, use_dream=False)
    fp_dream = evaluate_protocol(cfp, table, "FP", [2], mapper, use_dream=True)
    assert fp_dream.eer_mean < fp_stem.eer_mean
    ff_stem = evaluate_protocol(cfp, table, "FF", [2], mapper, use_dream=False)
    ff_dream = evaluate_protocol(cfp, table, "FF", [2], mapper, use_dream=True)
    assert abs(ff_dream.eer_mean - ff_stem.eer_mean) < 1e-9
    assert np.abs(ff_dream.pairs.scores - ff_stem.pairs.scores).max() < 1e-4
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert "CFP" in sidecar["training_data"] and "research" in sidecar["licence"] and sidecar["regenerate"]


def test_cfp_eval_cli_json(synthetic, capsys):
    from core.cli import run_cli

    root, cache, _, _ = synthetic
    assert (
        run_cli(["cfp-eval", "--root", str(root), "--protocol", "FP", "--cache", str(cache), "--json", "-"]
                + ["--stem", "faceapi"])
        == 0
    )  # fmt: skip
    payload = json.loads(capsys.readouterr().out)
    assert payload["protocol"] == "FP" and payload["dream"] is True and len(payload["folds"]) == 2
    assert payload["stem"] == "faceapi"
    assert 0 <= payload["eer_mean"] <= 1 and 0 <= payload["auc_mean"] <= 1
    argv = ["cfp-eval", "--root", str(root), "--protocol", "FF", "--folds", "2", "--dream", "off"]
    assert run_cli([*argv, "--cache", str(cache)]) == 0  # the default stem, faceres: its own thresholds
    out = capsys.readouterr().out
    assert "shipped" in out and "stem faceres" in out
    assert (
        run_cli(["cfp-eval", "--root", str(root), "--protocol", "FP", "--folds", "7", "--cache", str(cache)])
        == 2
    )


def test_train_cli_with_the_dream_flags(synthetic, tmp_path, capsys):
    from core.cli import run_cli
    from core.train.checkpoint import load_checkpoint

    root, cache, _, _ = synthetic
    out = tmp_path / "run"
    argv = [
        "train",
        "dream",
        "--cfp-root",
        str(root),
        "--train-folds",
        "1",
        "--val-folds",
        "2",
        "--out",
        str(out),
    ]
    assert run_cli([*argv, "--max-steps", "5", "--set", f'task.feature_cache="{cache}"', "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 5
    task_cfg = load_checkpoint(out / "last.pt", task="dream")["config"]["task"]
    assert task_cfg["train_folds"] == "1" and task_cfg["val_folds"] == "2"  # strings, not TOML integers
    assert task_cfg["cfp_root"] == str(root)  # recorded, so tools/export_dream.py needs no --data
    assert run_cli(["train", "scaleface", "--train-folds", "1", "--out", str(tmp_path / "x")]) == 2

"""Turn a ScaleFace training run into the bundled ``resources/models/scaleface.pt``.

Reads ``RUN_DIR/last.pt`` and ``RUN_DIR/metrics.jsonl``. A run on CenterFace's
frozen trunk (``init_from_centerface`` + ``freeze_trunk``) ships its branches
only, with the trunk recorded as ``CENTERFACE_TRUNK`` and the sha256 of the bundled
CenterFace it was trained on (:func:`core.detect.scaleface.build_bundled` copies
the trunk back in); any other run ships every tensor. The meta holds the model
configuration, steps, training wall time and the last evaluation; the sidecar
its provenance, data and the command that regenerates it. Run ``python
tools/make_notice.py`` afterwards.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from core.detect.scaleface import BUNDLED, CENTERFACE_TRUNK, NAME
from core.paths import MODELS_DIR
from core.train.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
from core.zoo.weights import read_sidecar, resolve, save_weights

log = logging.getLogger(__name__)

REGENERATE = (
    "python main.py train scaleface --config configs/scaleface_cpu.toml --data ../shared/data/wider_val_416_dev "
    "--out runs/scaleface_cpu && python tools/export_scaleface.py runs/scaleface_cpu && python tools/make_notice.py"
)
TRUNK_PREFIXES = ("backbone.", "neck.")
TUNED_STAGE_PREFIX = "backbone.stages.2."


def run_summary(run_dir: Path) -> dict:
    """Training seconds (summed over resumes) and the last evaluation of a run's metrics log."""
    seconds, last_eval = 0.0, {}
    path = run_dir / "metrics.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "end":
            seconds += float(record.get("elapsed_s", 0.0))
        elif record.get("event") == "eval":
            last_eval = {"step": record.get("step"), **record.get("metrics", {})}
    return {"train_seconds": round(seconds, 1), "last_eval": last_eval}


def export_scaleface(
    run_dir: str | Path, out_path: str | Path | None = None, extra_meta: dict | None = None
) -> dict:
    run_dir = Path(run_dir)
    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME, task=NAME)
    try:
        model_cfg = dict(ckpt["config"]["task"]["model"])
        data_cfg = dict(ckpt["config"]["task"]["data"])
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{run_dir}: no ScaleFace configuration in the checkpoint ({exc})") from None
    on_centerface = bool(model_cfg.get("init_from_centerface")) and bool(model_cfg.get("freeze_trunk"))
    state = ckpt["model"]
    # a tuned last stage is the model's own: it ships, and overrides CenterFace's at load
    kept_trunk = (TUNED_STAGE_PREFIX,) if model_cfg.get("tune_last_stage") else ()
    tensors = {
        k: v.detach().float().contiguous()
        for k, v in state.items()
        if not (on_centerface and k.startswith(TRUNK_PREFIXES) and not k.startswith(kept_trunk))
    }
    summary = run_summary(run_dir)
    meta = {
        "config": json.dumps(model_cfg, sort_keys=True),
        "trunk": CENTERFACE_TRUNK if on_centerface else "own",
        "trunk_sha256": read_sidecar(resolve("centerface")).get("sha256", "") if on_centerface else "",
        "steps": int(ckpt["step"]),
        "train_config": json.dumps(ckpt["config"]["train"], sort_keys=True),
        "data": json.dumps(data_cfg, sort_keys=True),
        "train_seconds": summary["train_seconds"],
        "last_eval": json.dumps(summary["last_eval"], sort_keys=True),
        **(extra_meta or {}),
    }
    sidecar = {
        "description": "ScaleFace (Yang et al., arXiv 1706.02863): three scale branches (RPN + RoI head each, "
        "OHEM) on CenterFace's WIDER-trained MobileNetV2 trunk (frozen; copied from centerface.pt at load)",
        "source_package": "trained by FaceScope (configs/scaleface_cpu.toml, core/detect/training)",
        "authors": "FaceScope; method by Shuo Yang, Yuanjun Xiong, Chen Change Loy, Xiaoou Tang (ScaleFace)",
        "training_data": "composites of CFP dev and identities_dev face photos (boxes by CenterFace), "
        "the 'train' part of WIDER FACE val 416 px dev (core/wider/dev_split.py); "
        f"{int(ckpt['step'])} steps, {summary['train_seconds'] / 60:.0f} min of training on 2 CPU cores",
        "metrics": summary["last_eval"],
        "licence": "research use only: trained on WIDER FACE and CFP images, distributed for research under "
        "their own terms; the trunk is CenterFace's (MIT)",
        "regenerate": REGENERATE,
    }
    path = Path(out_path) if out_path is not None else MODELS_DIR / f"{BUNDLED}.pt"
    save_weights(path, tensors=tensors, meta=meta, sidecar=sidecar)
    log.info("exported %s (step %d, %d tensors)", path, ckpt["step"], len(tensors))
    return meta

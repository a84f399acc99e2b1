"""Ship DREAM blocks: face-api's from a ``dream`` training run, a 5-point stem's (faceres) trained here.

:func:`export_dream` turns a training run into ``resources/models/dream_faceapi.pt``:
it reads ``RUN_DIR/last.pt`` (the training engine's checkpoint: block weights
and the run's task options), rebuilds the DREAM-space centre from the same
cached features and options, calibrates thresholds on the *training* folds
for the stem alone and the stem + DREAM (:mod:`core.cfp.calibrate`), and
writes the weights container with its sidecar (provenance, licence note,
regenerate command). :func:`export_stem_dream` trains, chooses and calibrates a
faceres block on clean folds (:mod:`core.cfp.dream_stem`) and writes
``resources/models/dream_faceres.pt``. Run ``python tools/make_notice.py`` afterwards.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from core.cfp.calibrate import DEFAULT_FARS, calibrate_buckets
from core.cfp.dream_stem import TEST_FOLD, TRAIN_FOLDS, VAL_FOLD, ChosenBlock, choose_form, train_and_choose
from core.cfp.dream_task import DreamConfig, load_cfp_table
from core.cfp.evaluate import table_features
from core.cfp.features import FeatureTable
from core.cfp.protocol import CfpProtocol, parse_folds
from core.cfp.stitching import build_stitching, dream_center, identities_of_folds, table_identities
from core.models.dream import DreamBlock
from core.paths import MODELS_DIR
from core.recognize.dream import FORMS, WEIGHTS_NAME, DreamMapper, calibration_to_json
from core.recognize.stems import stem_spec
from core.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from core.train.config import from_dict
from core.zoo.weights import save_weights

log = logging.getLogger(__name__)

REGENERATE = (
    "python main.py train dream --cfp-root ../shared/data/cfp_dev --train-folds 1-8 --val-folds 9 --out runs/dream "
    "&& python tools/export_dream.py runs/dream && python tools/make_notice.py"
)


def export_dream(
    run_dir: str | Path,
    data_dir: str | Path | None = None,
    out_path: str | Path | None = None,
    fars: tuple[float, ...] = DEFAULT_FARS,
) -> dict:
    """Write the shipped DREAM file from a finished run; returns the meta written."""
    run_dir = Path(run_dir)
    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME, task="dream")
    cfg: DreamConfig = from_dict(DreamConfig, ckpt["config"]["task"])
    table, cfp = load_cfp_table(cfg, Path(data_dir) if data_dir else None)
    train_ids = identities_of_folds(cfg.train_folds)
    center = dream_center(table, train_ids, cfg.frontal_max_yaw)
    block = DreamBlock(cfg.dim)
    block.load_state_dict(ckpt["model"])
    mapper = DreamMapper(block=block, center=center)
    train_folds = parse_folds(cfg.train_folds)
    calibration = {
        "stem": calibrate_buckets(cfp, table, table_features(table, None), train_ids, train_folds, fars),
        "dream": calibrate_buckets(cfp, table, table_features(table, mapper), train_ids, train_folds, fars),
    }
    stitched = build_stitching(table, train_ids, center, cfg.profile_min_yaw, cfg.frontal_max_yaw)
    meta = {
        "dim": cfg.dim,
        "method": "DREAM (Cao et al., CVPR 2018): f' = f + sigmoid(10(|yaw|/45-1)) * ReLU(FC(ReLU(FC(f))))",
        "feature_space": "centred: f_c = (f - center)/|f - center|; mapped f_c renormalised; f' = center + |f - center| f_c'",
        "stem": "faceapi_face_recognition (face-api 128-d dlib descriptor)",
        "train_folds": cfg.train_folds,
        "val_folds": cfg.val_folds,
        "profile_min_yaw": cfg.profile_min_yaw,
        "frontal_max_yaw": cfg.frontal_max_yaw,
        "training_pairs": len(stitched),
        "steps": int(ckpt["step"]),
        "train_config": json.dumps(ckpt["config"]["train"], sort_keys=True),
        "calibration": json.dumps(calibration_to_json(calibration), sort_keys=True),
    }
    tensors = {k: v.detach().cpu().float() for k, v in block.state_dict().items()}
    tensors["center"] = torch.from_numpy(np.asarray(center, dtype=np.float32))
    sidecar = {
        "description": "DREAM block (two 128x128 FC layers, yaw gate) stitched onto face-api's "
        "128-d descriptor, its DREAM-space centre, and calibrated FF/FP thresholds (meta)",
        "source_package": "trained by FaceScope (core/cfp/dream_task.py, core/cfp/export.py)",
        "authors": "FaceScope; method by Kaidi Cao, Yu Rong, Cheng Li, Xiaoou Tang, Chen Change Loy (DREAM, CVPR 2018)",
        "training_data": f"CFP dev folds {cfg.train_folds} (identities of ../shared/data/cfp_dev; "
        "Sengupta et al., WACV 2016), stem features of face-api 1.7.15",
        "licence": "research use only: trained on CFP, whose images are distributed for research "
        "under their own terms; the stem it extends is MIT (face-api)",
        "regenerate": REGENERATE,
    }
    path = Path(out_path) if out_path is not None else MODELS_DIR / f"{WEIGHTS_NAME}.pt"
    save_weights(path, tensors=tensors, meta=meta, sidecar=sidecar)
    log.info("exported %s (%d training pairs, step %d)", path, len(stitched), ckpt["step"])
    return meta


def export_stem_dream(
    cfp: CfpProtocol,
    table: FeatureTable,
    stem: str,
    forms: tuple[str, ...] = FORMS,
    out_path: str | Path | None = None,
    fars: tuple[float, ...] = DEFAULT_FARS,
) -> tuple[dict, ChosenBlock]:
    """Train, choose and ship ``stem``'s DREAM block (``resources/models/dream_<stem>.pt``).

    ``table``: CFP features of folds 1–8 with ``stem``'s embeddings; a block per feature form in
    ``forms`` trains on folds 1–7 with its learning rate and steps chosen on fold 8
    (:func:`core.cfp.dream_stem.train_and_choose`); the form with the lower fold-8 FP EER ships
    (a tie keeps the first: the paper's raw form). The thresholds of both modes are calibrated on
    folds 1–8. Fold 9 is never read. Returns ``(meta, chosen)``.
    """
    spec = stem_spec(stem)
    if identities_of_folds([TEST_FOLD]) & set(table_identities(table).tolist()):
        raise ValueError(f"the table holds fold {TEST_FOLD} (the test fold): load folds 1-{VAL_FOLD} only")
    blocks = [train_and_choose(cfp, table, form) for form in forms]
    chosen = choose_form(blocks)
    form = chosen.form
    calib_folds = list(range(1, VAL_FOLD + 1))
    calib_ids = identities_of_folds(calib_folds)
    calibration = {
        "stem": calibrate_buckets(cfp, table, table_features(table, None), calib_ids, calib_folds, fars),
        "dream": calibrate_buckets(
            cfp, table, table_features(table, chosen.mapper()), calib_ids, calib_folds, fars
        ),
    }
    dim = int(table.embeddings.shape[1])
    meta = {
        "dim": dim,
        "form": form,
        "method": "DREAM (Cao et al., CVPR 2018): f' = f + sigmoid(10(|yaw|/45-1)) * ReLU(FC(ReLU(FC(f))))",
        "feature_space": "raw: f = unit stem embedding, f' renormalised"
        if form == "raw"
        else "centred: f_c = (f - center)/|f - center|; mapped f_c renormalised; f' = center + |f - center| f_c'",
        "stem": spec.weights,
        "views": spec.views,
        "train_folds": TRAIN_FOLDS,
        "val_folds": str(VAL_FOLD),
        "calibration_folds": f"1-{VAL_FOLD}",
        "chosen": f"lr {chosen.lr:g}, {chosen.steps} full-batch Adam steps (fold {VAL_FOLD} FP EER "
        f"{100 * chosen.val_eer:.2f} %)",
        "form_choice": ", ".join(f"{b.form} {100 * b.val_eer:.2f} %" for b in blocks)
        + f" (fold {VAL_FOLD} FP EER)",
        "training_pairs": chosen.training_pairs,
        "calibration": json.dumps(calibration_to_json(calibration), sort_keys=True),
    }
    tensors = {k: v.detach().cpu().float() for k, v in chosen.block.state_dict().items()}
    if form == "centred":
        tensors["center"] = torch.from_numpy(np.asarray(chosen.center, dtype=np.float32))
    sidecar = {
        "description": f"DREAM block (two {dim}x{dim} FC layers, yaw gate, {form} form) stitched onto "
        f"{spec.label}, and calibrated FF/FP thresholds (meta)",
        "source_package": "trained by FaceScope (core/cfp/dream_stem.py, core/cfp/export.py)",
        "authors": "FaceScope; method by Kaidi Cao, Yu Rong, Cheng Li, Xiaoou Tang, Chen Change Loy (DREAM, CVPR 2018)",
        "training_data": f"CFP dev folds {TRAIN_FOLDS} (chosen on fold {VAL_FOLD}; identities of "
        f"../shared/data/cfp_dev; Sengupta et al., WACV 2016), embeddings of {spec.weights}.pt",
        "licence": "research use only: trained on CFP, whose images are distributed for research "
        f"under their own terms; the stem it extends ({spec.weights}) is MIT",
        "regenerate": f"OMP_NUM_THREADS=1 python tools/export_dream.py --stem {spec.name} && python tools/make_notice.py",
    }
    path = (
        Path(out_path)
        if out_path is not None
        else MODELS_DIR / f"{spec.dream_weights or 'dream_' + spec.name}.pt"
    )
    save_weights(path, tensors=tensors, meta=meta, sidecar=sidecar)
    log.info("exported %s (%d training pairs, %s)", path, chosen.training_pairs, meta["chosen"])
    return meta, chosen

"""A synthetic CFP root (protocol files, placeholder images) and a pre-filled feature cache.

Identities 1..50·folds, 10 frontal + 4 profile images each. Descriptors are
``common + identity + pose shift (profiles) + noise`` so that a profile is
measurably harder to match than a frontal image and a DREAM block can learn
to undo the shift; landmarks are projections of the mean 3-D face at yaw 0°
(frontal) or ±70° (profile), so the real yaw code sees real geometry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from core.cfp.features import FeatureTable, _write_shard, cache_key
from core.recognize.face_model3d import MEAN_FACE_5, MEAN_FACE_68
from core.recognize.yaw import project, rotation_from_angles

PAIRS_PER_FOLD = 30  # same and diff pairs each
NOISE, PROFILE_NOISE, SHIFT = 0.3, 0.3, 0.6


def _points(yaw: float, model: np.ndarray) -> np.ndarray:
    return project(model, rotation_from_angles(yaw), 1500.0, 1200.0) + np.array([60.0, 60.0])


def make_cfp(root: Path, folds: int = 2, cache_dir: Path | None = None, seed: int = 0) -> FeatureTable:
    """Write the protocol (and 8×8 placeholder JPEGs); fill ``cache_dir`` with synthetic features."""
    rng = np.random.default_rng(seed)
    ids = range(1, 50 * folds + 1)
    frontal = [f"Data/Images/{i:03d}/frontal/{k:02d}.jpg" for i in ids for k in range(1, 11)]
    profile = [f"Data/Images/{i:03d}/profile/{k:02d}.jpg" for i in ids for k in range(1, 5)]
    proto = root / "Protocol"
    proto.mkdir(parents=True)
    (proto / "image_list_F.txt").write_text("".join(f"{n} {k}\n" for n, k in enumerate(frontal, 1)))
    (proto / "image_list_P.txt").write_text("".join(f"{n} {k}\n" for n, k in enumerate(profile, 1)))
    placeholder = Image.fromarray(np.full((8, 8, 3), 128, np.uint8))
    for key in (*frontal, *profile):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        placeholder.save(root / key)
    for fold in range(1, folds + 1):
        fold_ids = np.arange(50 * (fold - 1) + 1, 50 * fold + 1)
        for name in ("FF", "FP"):
            folder = proto / "Split" / name / f"{fold:02d}"
            folder.mkdir(parents=True)
            same, diff = [], []
            for _ in range(PAIRS_PER_FOLD):
                i, j = rng.choice(fold_ids, 2, replace=False)
                a = (i - 1) * 10 + rng.integers(1, 11)
                b_same = (i - 1) * (4 if name == "FP" else 10) + rng.integers(1, 5 if name == "FP" else 11)
                b_diff = (j - 1) * (4 if name == "FP" else 10) + rng.integers(1, 5 if name == "FP" else 11)
                same.append(f"{a},{b_same}")
                diff.append(f"{a},{b_diff}")
            (folder / "same.txt").write_text("\n".join(same) + "\n")
            (folder / "diff.txt").write_text("\n".join(diff) + "\n")
    keys = frontal + profile
    n = len(keys)
    common = rng.normal(size=128) * 0.6
    identity = {i: rng.normal(size=128) * 0.25 for i in ids}
    shift = (
        np.abs(rng.normal(size=128)) * SHIFT
    )  # a pose shift DREAM's non-negative residual can undo from the other side
    emb, lm68, p5 = np.zeros((n, 128), np.float32), np.zeros((n, 68, 2)), np.zeros((n, 5, 2))
    for r, key in enumerate(keys):
        ident = int(key.split("/")[2])
        is_profile = "/profile/" in key
        yaw = (70.0 if ident % 2 else -70.0) if is_profile else float(rng.normal(0, 4))
        vec = common + identity[ident] + rng.normal(size=128) * NOISE
        if is_profile:
            vec = vec - shift + rng.normal(size=128) * PROFILE_NOISE
        emb[r] = vec
        lm68[r] = _points(yaw, MEAN_FACE_68)
        p5[r] = _points(yaw, MEAN_FACE_5)
    table = FeatureTable(
        keys,
        np.tile([0.0, 0.0, 120.0, 120.0], (n, 1)),
        np.full(n, 0.9),
        np.ones(n, bool),
        p5,
        lm68,
        emb,
        np.tile([120, 120], (n, 1)),
    )
    if cache_dir is not None:
        _write_shard(Path(cache_dir) / cache_key(root), table)
    return table

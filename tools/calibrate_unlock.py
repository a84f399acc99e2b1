"""Compute the shipped unlock thresholds: resources/models/unlock_calibration.json.

    python tools/calibrate_unlock.py [--cfp ../shared/data/cfp_dev] [--enrol 5] [--max-yaw 35] [--out PATH]

Protocol (core/unlock/calibrate.py): CFP dev *frontal* images (the ten per
identity of image_list_F) whose estimated yaw is below ``--max-yaw`` (the unlock
verification gate); per identity a template = normalised mean of ``--enrol``
random images, genuine = its remaining images, impostor = every template
against every image of every other identity. Descriptors are face-api's
(face-api 1.7.15 through CenterFace at 320 px, the CFP feature cache of
core/cfp/features.py) with and without the shipped DREAM block (modes
``stem`` and ``dream``), and faceres's on the same images, 5-point aligned on
CenterFace's points (core/cfp/stem_features.py), without and with its own DREAM
block (modes ``faceres`` and ``faceres_dream``). Only derived
numbers are written (thresholds, counts, measured FAR/TAR) with provenance:
no image, descriptor or per-image value leaves ../shared.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core.cfp.features import load_features  # noqa: E402
from core.cfp.protocol import CfpProtocol, identity_of  # noqa: E402
from core.cfp.stem_features import with_stem  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.calibration import calibrate_many  # noqa: E402
from core.recognize.dream import l2_normalize  # noqa: E402
from core.recognize.stem_calibration import mapper_for_stem  # noqa: E402
from core.recognize.stems import STEMS, stem_spec  # noqa: E402
from core.unlock.calibrate import CALIBRATION_FILE, FARS, UnlockCalibration, template_protocol_scores  # noqa: E402
from core.zoo.weights import read_sidecar, resolve  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cfp", default=str(SHARED_DIR / "data" / "cfp_dev"), help="CFP root")
    parser.add_argument("--enrol", type=int, default=5, help="images per template")
    parser.add_argument("--max-yaw", type=float, default=35.0, help="keep frontal images below this |yaw|")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(CALIBRATION_FILE))
    parser.add_argument("--cache", default=None, help="CFP feature cache folder (default: user data folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfp = CfpProtocol.open(args.cfp)
    keys = [k for k in cfp.frontal if (cfp.root / k).is_file()]
    table = load_features(cfp.root, keys, args.cache)
    ids = np.array([identity_of(k) for k in table.keys])
    keep = table.detected & np.isfinite(table.yaw) & (np.abs(table.yaw) < args.max_yaw)
    raw = table.embeddings[keep]
    yaw = table.yaw[keep]
    ids = ids[keep]
    mapper = mapper_for_stem("faceapi")
    faceres = with_stem(cfp.root, table, "faceres", args.cache).embeddings[keep]
    features = {
        "stem": l2_normalize(raw),
        "dream": mapper.map(raw, yaw),
        "faceres": l2_normalize(faceres),
        "faceres_dream": mapper_for_stem("faceres").map(faceres, yaw),
    }
    points = {}
    counts = {}
    for mode, emb in features.items():
        gen, imp, counts = template_protocol_scores(emb, ids, args.enrol, args.seed)
        points[mode] = calibrate_many(imp, FARS, gen)
        for op in points[mode]:
            print(
                f"{mode:5s} FAR {op.target_far:g}: threshold {op.threshold:.4f}  TAR {op.tar:.4f}  "
                f"false accepts {op.false_accepts}/{op.impostors}  (genuine {op.genuines})"
            )
    sidecars = {
        name: str(read_sidecar(resolve(name)).get("sha256", ""))
        for name in (
            "centerface",
            "faceapi_face_landmark_68",
            "faceapi_face_recognition",
            "dream_faceapi",
            "faceres",
            "dream_faceres",
        )
    }
    provenance = {
        "data": "CFP dev (../shared/data/cfp_dev), frontal images of identities 001-450 (image_list_F)",
        "filter": f"face detected, |yaw| < {args.max_yaw:g} deg (core.recognize.pose.estimate_yaw)",
        "protocol": (
            f"template = normalised mean of {args.enrol} random images per identity (seed {args.seed}); "
            "genuine = the identity's other images; impostor = every template vs every image of other identities"
        ),
        "pipeline": "CenterFace (max side 320) -> face-api 68 landmarks -> face-api descriptor (+ DREAM by yaw)",
        "pipeline_faceres": "CenterFace (max side 320) 5 points -> ArcFace-template chips 224 px, views "
        f"{stem_spec('faceres').views} (looseness, m = mirrored; unit embeddings averaged) -> faceres "
        "(mode faceres; + its DREAM block by yaw: mode faceres_dream)",
        **counts,
        "identities": int(len(np.unique(ids))),
        "weights_sha256": sidecars,
        "views": {name: spec.views for name, spec in STEMS.items() if spec.views},
        "tool": "python tools/calibrate_unlock.py",
        "created": time.strftime("%Y-%m-%d"),
        "note": "FAR is per frame and per enrolled user; only derived numbers are stored here",
    }
    cal = UnlockCalibration(points, provenance)
    path = cal.save(args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

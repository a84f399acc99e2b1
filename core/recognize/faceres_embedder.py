"""1024-d face embeddings with HSE FaceRec's MobileNet (human's ``faceres``), on 5-point aligned chips.

``FaceResEmbedder().embed(image, points5)`` warps each face so its five
points (eye centres, nose tip, mouth corners) land on the ArcFace template
scaled to the net's 224 px input (:func:`faceres_chip`), converts the chip to
the net's input (:data:`PREPROCESSING`) and returns ``(N, 1024)`` float32
embeddings, not L2-normalised; compare them by cosine.

The defaults (:data:`DEFAULT_LOOSENESS`, :data:`DEFAULT_PREPROCESSING`) were
chosen on CFP dev folds 1–8 (ADR 0025): BGR with the VGGFace2 channel means
subtracted, the input HSE's training used, beats human's own RGB 0..255 input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable

import numpy as np
import torch
from torch import nn

from core.models.faceres import FaceResNet
from core.recognize.align import ARCFACE_112, AlignedFace, align_5pt, landmarks68_to_5
from core.recognize.runner import FaceModelRunner, as_image

#: VGGFace2 channel means in BGR order (keras-vggface ``preprocess_input(version=2)``).
VGGFACE2_MEAN_BGR = (91.4953, 103.8827, 131.0912)
#: ImageNet "caffe" channel means in BGR order (Keras ``preprocess_input(mode="caffe")``).
IMAGENET_MEAN_BGR = (103.939, 116.779, 123.68)


def _bgr_minus(mean: tuple[float, float, float]) -> Callable[[torch.Tensor], torch.Tensor]:
    def prepare(batch: torch.Tensor) -> torch.Tensor:
        shift = torch.tensor(mean, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
        return batch.flip(1) - shift

    return prepare


#: name -> ``(N, 3, S, S)`` RGB 0..255 batch -> network input.
PREPROCESSING: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "bgr_vggface2": _bgr_minus(VGGFACE2_MEAN_BGR),
    "bgr_imagenet": _bgr_minus(IMAGENET_MEAN_BGR),
    "rgb255": lambda batch: batch,  # human's faceres.ts: the RGB crop times 255
}
DEFAULT_PREPROCESSING = "bgr_vggface2"
#: Template shrink around the chip centre: 1.0 = the ArcFace chip, 1.25 = a quarter more context.
DEFAULT_LOOSENESS = 1.0


def faceres_template(looseness: float = DEFAULT_LOOSENESS) -> np.ndarray:
    """The ArcFace 112 template shrunk ``looseness`` times around its centre (112 units; the warp scales it)."""
    if looseness <= 0:
        raise ValueError(f"looseness must be positive, got {looseness}")
    return (ARCFACE_112 - 56.0) / looseness + 56.0


def faceres_chip(
    image: np.ndarray,
    points5: np.ndarray,
    looseness: float = DEFAULT_LOOSENESS,
    size: int = FaceResNet.INPUT_SIZE,
) -> AlignedFace:
    """The 5-point aligned ``(size, size, 3)`` uint8 RGB chip the embedder sees."""
    return align_5pt(image, points5, size=size, template=faceres_template(looseness))


class FaceResEmbedder(FaceModelRunner):
    """human's ``faceres`` behind a batch API (see the module docstring).

    weights: ``"faceres"`` (bundled) or another converted file of the same graph.
    """

    weights_name = "faceres"
    input_size = FaceResNet.INPUT_SIZE
    dim = FaceResNet.DIM
    max_batch = 16

    def __init__(
        self,
        model: nn.Module | None = None,
        device: torch.device | str | None = None,
        weights: str | os.PathLike | None = None,
        preprocessing: str = DEFAULT_PREPROCESSING,
        looseness: float = DEFAULT_LOOSENESS,
        fused: bool = True,
    ):
        if preprocessing not in PREPROCESSING:
            raise ValueError(f"preprocessing must be one of {sorted(PREPROCESSING)}, got {preprocessing!r}")
        self.preprocessing = preprocessing
        self.looseness = float(looseness)
        #: the weights file's name or path (what caches of these embeddings are keyed by)
        self.weights_file = str(weights if weights is not None else self.weights_name)
        super().__init__(model, device, weights, fused)

    def network_variant(self) -> Hashable:
        return "faceres"

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return FaceResNet.from_weights(tensors)

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        return PREPROCESSING[self.preprocessing](batch)

    def chips(self, image: np.ndarray, points5: np.ndarray) -> list[AlignedFace | None]:
        """One aligned chip per ``(5, 2)`` point set; ``None`` where a point is missing (NaN)."""
        image = as_image(image)
        pts = np.asarray(points5, dtype=np.float64).reshape(-1, 5, 2)
        return [faceres_chip(image, p, self.looseness) if np.isfinite(p).all() else None for p in pts]

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """``(N, S, S, 3)`` uint8 RGB aligned chips -> ``(N, 1024)`` float32."""
        chips = np.asarray(chips)
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if chips.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(
                f"expected (N, {self.input_size}, {self.input_size}, 3) chips, got {chips.shape}"
            )
        batch = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).to(torch.float32)
        return self.forward_batch(batch).numpy()

    def embed(self, image: np.ndarray, points5: np.ndarray) -> np.ndarray:
        """``(N, 1024)`` float32 embeddings for ``(N, 5, 2)`` points (NaN rows where points are missing)."""
        chips = self.chips(image, points5)
        out = np.full((len(chips), self.dim), np.nan, dtype=np.float32)
        valid = [i for i, c in enumerate(chips) if c is not None]
        if valid:
            out[valid] = self.embed_chips(np.stack([chips[i].chip for i in valid]))
        return out


#: Where the 5 alignment points come from: the detector's (CenterFace), or the 68-point landmarks' eyes,
#: nose tip and mouth corners.
POINT_SOURCES = ("detector", "landmarks68")
DEFAULT_POINT_SOURCE = "detector"


def alignment_points(
    points5: np.ndarray, landmarks68: np.ndarray, source: str = DEFAULT_POINT_SOURCE
) -> np.ndarray:
    """``(5, 2)`` points to align on; the detector's fall back to the landmarks' when missing (NaN)."""
    if source not in POINT_SOURCES:
        raise ValueError(f"point source must be one of {POINT_SOURCES}, got {source!r}")
    pts = np.asarray(points5, dtype=np.float64).reshape(5, 2)
    if source == "detector" and np.isfinite(pts).all():
        return pts
    return landmarks68_to_5(landmarks68)

"""1024-d face embeddings with HSE FaceRec's MobileNet (human's ``faceres``), on 5-point aligned chips.

``FaceResEmbedder().embed(image, points5)`` warps each face so its five
points (eye centres, nose tip, mouth corners) land on the ArcFace template
scaled to the net's 224 px input (:func:`faceres_chip`), converts the chip to
the net's input (:data:`PREPROCESSING`) and returns ``(N, 1024)`` float32
embeddings; compare them by cosine.

Each face is seen through several *views* (:class:`ChipView`): the chip at a
template looseness, as it is or mirrored. With more than one view the
embedding is the mean of the views' unit embeddings (test-time augmentation);
a single view returns the network's output as it is.

The defaults (:data:`DEFAULT_VIEWS`, :data:`DEFAULT_PREPROCESSING`) were
chosen on CFP dev folds 1–8 (ADR 0025, ADR 0031): BGR with the VGGFace2
channel means subtracted, the input HSE's training used, beats human's own
RGB 0..255 input; the ArcFace chip and a 1.3× looser one, each with its
mirror, beat any single chip on frontal-to-profile pairs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from core.models.faceres import FaceResNet
from core.recognize.align import ARCFACE_112, AlignedFace, align_5pt, landmarks68_to_5
from core.recognize.runner import FaceModelRunner, as_image
from core.recognize.stems import stem_spec

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


@dataclass(frozen=True)
class ChipView:
    """One way of looking at a face: the chip at ``looseness`` (:func:`faceres_template`), mirrored or not."""

    looseness: float = DEFAULT_LOOSENESS
    mirrored: bool = False

    @property
    def name(self) -> str:
        """``"1.3"`` or ``"1.3m"`` (mirrored): the form :func:`parse_views` reads."""
        return f"{self.looseness:g}{'m' if self.mirrored else ''}"


def parse_views(text: str) -> tuple[ChipView, ...]:
    """``"1.0+1.0m+1.3"`` -> views (``m``: mirrored); a clear ``ValueError`` for anything else."""
    views = []
    for part in (p.strip() for p in text.split("+")):
        mirrored = part.endswith("m")
        try:
            looseness = float(part[:-1] if mirrored else part)
        except ValueError:
            raise ValueError(f"a view is a looseness with an optional 'm' (mirrored), got {part!r}") from None
        if not looseness > 0:
            raise ValueError(f"a view's looseness must be positive, got {part!r}")
        views.append(ChipView(looseness, mirrored))
    return tuple(views)


def views_name(views: Sequence[ChipView]) -> str:
    """The ``+``-joined view names (the inverse of :func:`parse_views`)."""
    return "+".join(v.name for v in views)


#: The faceres stem's views (its :class:`~core.recognize.stems.StemSpec` row): the ArcFace chip and a
#: 1.3x looser one, each as it is and mirrored.
DEFAULT_VIEWS = parse_views(stem_spec("faceres").views)


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
    views: the chips each face is embedded through (default :data:`DEFAULT_VIEWS`); ``looseness``
    alone means the one unmirrored view at that looseness.
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
        looseness: float | None = None,
        fused: bool = True,
        views: Sequence[ChipView] | None = None,
    ):
        if preprocessing not in PREPROCESSING:
            raise ValueError(f"preprocessing must be one of {sorted(PREPROCESSING)}, got {preprocessing!r}")
        if looseness is not None and views is not None:
            raise ValueError("give looseness or views, not both")
        self.preprocessing = preprocessing
        if looseness is not None:
            views = (ChipView(float(looseness)),)
        self.views: tuple[ChipView, ...] = tuple(views) if views is not None else DEFAULT_VIEWS
        if not self.views:
            raise ValueError("an embedder needs at least one view")
        faceres_template(min(v.looseness for v in self.views))  # a clear error for a bad looseness
        #: the weights file's name or path (what caches of these embeddings are keyed by)
        self.weights_file = str(weights if weights is not None else self.weights_name)
        super().__init__(model, device, weights, fused)

    def network_variant(self) -> Hashable:
        return "faceres"

    def build(self, tensors: dict[str, torch.Tensor]) -> nn.Module:
        return FaceResNet.from_weights(tensors)

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        return PREPROCESSING[self.preprocessing](batch)

    def view_chips(self, image: np.ndarray, points5: np.ndarray) -> list[np.ndarray | None]:
        """Per ``(5, 2)`` point set a ``(V, S, S, 3)`` uint8 stack of its views; ``None`` where a point is NaN."""
        image = as_image(image)
        pts = np.asarray(points5, dtype=np.float64).reshape(-1, 5, 2)
        looseness = sorted({v.looseness for v in self.views})
        stacks: list[np.ndarray | None] = []
        for p in pts:
            if not np.isfinite(p).all():
                stacks.append(None)
                continue
            plain = {loose: faceres_chip(image, p, loose).chip for loose in looseness}
            stacks.append(
                np.stack(
                    [plain[v.looseness][:, ::-1] if v.mirrored else plain[v.looseness] for v in self.views]
                )
            )
        return stacks

    def embed_views(self, stacks: np.ndarray) -> np.ndarray:
        """``(N, V, S, S, 3)`` view stacks (:meth:`view_chips`) -> ``(N, 1024)`` float32.

        One view: the network's output. Several: the mean of the views' unit embeddings, so
        each view weighs the same whatever its norm.
        """
        stacks = np.asarray(stacks)
        if stacks.ndim != 5 or stacks.shape[1] != len(self.views):
            raise ValueError(f"expected (N, {len(self.views)}, S, S, 3) view stacks, got {stacks.shape}")
        n, v = stacks.shape[:2]
        flat = self.embed_chips(stacks.reshape(n * v, *stacks.shape[2:]))
        if v == 1:
            return flat
        flat = flat / np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
        return flat.reshape(n, v, -1).mean(axis=1).astype(np.float32)

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
        stacks = self.view_chips(image, points5)
        out = np.full((len(stacks), self.dim), np.nan, dtype=np.float32)
        valid = [i for i, c in enumerate(stacks) if c is not None]
        if valid:
            out[valid] = self.embed_views(np.stack([stacks[i] for i in valid]))
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

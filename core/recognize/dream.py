"""DREAM at run time: load a shipped block, map features, read its thresholds.

Feature forms. Verification compares L2-normalised stem embeddings by cosine
("stem alone"). A block works in one of two forms, named in its file's meta:

* ``raw`` (the paper's; faceres): ``f' = normalise(f̂ + Y(yaw) · R(f̂))`` with
  ``f̂`` the unit embedding;
* ``centred`` (face-api's). face-api descriptors share a large common
  component (impostor cosines ≈ 0.85), so the block works in a centred space,
  the "DREAM space" (training and inference alike)::

    f_c  = (f − μ) / ‖f − μ‖                  # μ: mean frontal descriptor of the training folds
    f_c' = normalise(f_c + Y(yaw) · R(f_c))    # the block (core.models.dream)
    f'   = μ + ‖f − μ‖ · f_c'                  # back to descriptor space, compared by cosine

With the gate at 0 ``f' = f``; frontal faces have ``Y < 0.004`` (below 20°), so
frontal–frontal scores are the stem's to ~1e-5, and "with / without DREAM"
differ only by the block. (In the raw normalised space the block's
non-negative residual hardly moves the features and its ReLUs die at useful
learning rates; measured in docs/adr/0010-dream.md.)

A shipped file (``resources/models/dream_<stem>.pt``, a
:mod:`core.zoo.weights` container) holds the two layers (and the centre of the
centred form) and, in its
``meta["calibration"]`` JSON, the calibrated thresholds per pose bucket (FF,
FP) for the stem alone and the stem + DREAM (:mod:`core.cfp.export`).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from core.models.dream import DreamBlock, yaw_gate
from core.recognize.calibration import OperatingPoint
from core.zoo.weights import WeightsError, load_weights, resolve

WEIGHTS_NAME = "dream_faceapi"
#: Feature forms of a block (see the module docstring); files without a ``form`` meta are centred.
FORMS = ("raw", "centred")
#: Pose buckets of a pair: both faces below the profile cut, or at least one above it.
PROFILE_CUT_DEG = 35.0
BUCKETS = ("FF", "FP")
DEFAULT_FAR = 1e-2


def l2_normalize(features: np.ndarray) -> np.ndarray:
    """Rows divided by their L2 norm (NaN rows stay NaN)."""
    f = np.asarray(features, dtype=np.float32)
    norm = np.linalg.norm(f, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return f / norm


def to_dream_space(features: np.ndarray, center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, d)`` raw descriptors → ``(f_c (N, d) unit rows, ‖f − μ‖ (N, 1))``."""
    diff = np.asarray(features, dtype=np.float32) - np.asarray(center, dtype=np.float32)
    norm = np.linalg.norm(diff, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return diff / norm, norm


def from_dream_space(mapped: np.ndarray, norm: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_dream_space` after the block: ``μ + ‖f − μ‖ · normalise(mapped)``."""
    return np.asarray(center, dtype=np.float32) + norm * l2_normalize(mapped)


def gate_value(yaw_deg: float | np.ndarray) -> np.ndarray:
    """The block's yaw gate ``Y(θ)`` as numpy; a NaN yaw (unknown pose) gives exactly 0."""
    arr = np.asarray(yaw_deg, dtype=np.float64)
    yaw = np.atleast_1d(arr)
    gate = yaw_gate(torch.from_numpy(np.nan_to_num(yaw, nan=0.0))).numpy()
    gate[np.isnan(yaw)] = 0.0
    return gate.reshape(arr.shape)


def bucket_of(yaw_a: float, yaw_b: float, cut: float = PROFILE_CUT_DEG) -> str:
    """``"FP"`` when either face is at or beyond the profile cut, else ``"FF"`` (unknown yaw counts as frontal)."""

    def profile(y: float) -> bool:
        return bool(np.isfinite(y) and abs(y) >= cut)

    return "FP" if profile(yaw_a) or profile(yaw_b) else "FF"


@dataclass
class BucketCalibration:
    """Thresholds of one (mode, bucket): the best-accuracy cut and FAR operating points."""

    accuracy_threshold: float
    operating_points: list[OperatingPoint] = field(default_factory=list)
    accuracy_far: float = float("nan")  # impostor acceptance at accuracy_threshold on the calibration pairs

    def at_far(self, far: float) -> OperatingPoint:
        """The operating point calibrated for ``far`` (``KeyError`` lists the available ones)."""
        for op in self.operating_points:
            if abs(op.target_far - far) <= 1e-12 * max(1.0, far):
                return op
        raise KeyError(
            f"no threshold calibrated at FAR {far:g}; have {[op.target_far for op in self.operating_points]}"
        )

    def to_json(self) -> dict:
        return {
            "accuracy_threshold": round(self.accuracy_threshold, 6),
            "accuracy_far": None if self.accuracy_far != self.accuracy_far else round(self.accuracy_far, 6),
            "operating_points": [op.to_json() for op in self.operating_points],
        }

    @classmethod
    def from_json(cls, data: dict) -> BucketCalibration:
        far = data.get("accuracy_far")
        return cls(
            float(data["accuracy_threshold"]),
            [OperatingPoint.from_json(op) for op in data.get("operating_points", [])],
            float("nan") if far is None else float(far),
        )


Calibration = dict[str, dict[str, BucketCalibration]]  # mode ("stem"/"dream") -> bucket -> thresholds


def calibration_to_json(cal: Calibration) -> dict:
    return {mode: {b: c.to_json() for b, c in buckets.items()} for mode, buckets in cal.items()}


def calibration_from_json(data: dict) -> Calibration:
    return {
        mode: {b: BucketCalibration.from_json(c) for b, c in buckets.items()}
        for mode, buckets in data.items()
    }


class DreamMapper:
    """The trained block on the CPU; ``map(features, yaw)`` in numpy.

    weights: a bundled name or ``.pt`` path (default face-api's block), or an
    in-memory :class:`DreamBlock` via ``block`` (with its ``center`` and ``form``).
    Raises :class:`~core.zoo.weights.WeightsError` when the file is missing or corrupt.
    """

    has_dream = True

    def __init__(
        self,
        weights: str | os.PathLike = WEIGHTS_NAME,
        block: DreamBlock | None = None,
        center: np.ndarray | torch.Tensor | None = None,
        form: str = "centred",
    ) -> None:
        self.meta: dict = {}
        if block is not None:
            if center is None and form == "centred":
                raise ValueError("an in-memory centred block needs its DREAM-space centre")
        else:
            tensors, self.meta = load_weights(weights)
            form = str(self.meta.get("form", "centred"))
            dim = int(self.meta.get("dim", tensors["fc1.weight"].shape[1]))
            block = DreamBlock(dim)
            center = tensors.pop("center", None)
            if center is None and form == "centred":
                raise WeightsError(resolve(weights), "no 'center' tensor (the DREAM-space mean)")
            missing, unexpected = block.load_state_dict(tensors, strict=False)
            if missing or unexpected:
                raise WeightsError(
                    resolve(weights), f"not a DREAM block (missing {missing}, unexpected {unexpected})"
                )
        if form not in FORMS:
            raise ValueError(f"DREAM form must be one of {FORMS}, got {form!r}")
        self.block = block.eval()
        self.form = form
        self.center = (
            np.zeros(self.block.dim, np.float32)
            if form == "raw"
            else np.asarray(center, dtype=np.float32).reshape(self.block.dim)
        )
        raw = self.meta.get("calibration")
        self.calibration: Calibration = calibration_from_json(json.loads(raw)) if raw else {}

    def map(self, features: np.ndarray, yaw_deg: np.ndarray) -> np.ndarray:
        """``(N, d)`` raw descriptors + ``(N,)`` yaw → ``(N, d)`` L2-normalised mapped descriptors.

        Compare the rows by dot product (cosine). Rows with a NaN yaw (unknown
        pose) are left exactly as they are; NaN features stay NaN.
        """
        raw = np.asarray(features, dtype=np.float32).reshape(-1, self.block.dim)
        yaw_in = np.asarray(yaw_deg, dtype=np.float32).reshape(-1)
        if len(raw) == 0:
            return raw.copy()
        yaw = torch.from_numpy(np.nan_to_num(yaw_in, nan=0.0))
        if self.form == "raw":
            with torch.inference_mode():
                out = l2_normalize(self.block(torch.from_numpy(l2_normalize(raw)), yaw).numpy())
        else:
            fc, norm = to_dream_space(raw, self.center)
            with torch.inference_mode():
                mapped = self.block(torch.from_numpy(np.ascontiguousarray(fc)), yaw).numpy()
            out = l2_normalize(from_dream_space(mapped, norm, self.center))
        unknown = np.isnan(yaw_in)
        out[unknown] = l2_normalize(raw[unknown])
        return out

    def thresholds(self, mode: str, bucket: str) -> BucketCalibration:
        try:
            return self.calibration[mode][bucket]
        except KeyError:
            raise KeyError(f"the DREAM file has no calibration for {mode}/{bucket}") from None


_SHARED: dict[str, DreamMapper] = {}
_LOCK = threading.Lock()


def shared_mapper(weights: str | os.PathLike = WEIGHTS_NAME) -> DreamMapper:
    """One :class:`DreamMapper` per weights file for the process (GUI and CLI reuse it)."""
    key = str(resolve(weights))
    with _LOCK:
        if key not in _SHARED:
            _SHARED[key] = DreamMapper(weights)
        return _SHARED[key]

"""A yaw that holds on full profiles: the PnP fits and three 2-D cues of the points, combined by a small net.

Landmark nets trained on near-frontal faces *frontalise* a profile: they
still place both eyes and a symmetric mouth, so every PnP fit on their points
reads a CFP profile at 35–60° (:mod:`core.recognize.pose`). The points still
move the right way as the head turns, only too little. Six cues, each
scale-free and each growing with ``|yaw|``, are combined by a one-hidden-layer
net trained on CFP's frontal / profile labels and on synthetic turns
(``tools/train_yaw_cues.py``):

* ``fused``, ``inner68``, ``points5``: ``|yaw|`` of the fused estimate and of
  its two PnP fits, over 90°;
* ``nose_offset``: the nose tip's distance from the eye-mouth midline, over the
  eye-mouth height (5 points);
* ``eye_ratio``: the eye distance over the eye-mouth height (5 points; falls
  as the head turns);
* ``nose_jaw``: the nose tip's (point 30) offset from the jaw's centre over the
  jaw's half-width (68 points).

Training has two anchors. Points that *are* a rotated head, the mean 3-D face
projected at yaw 0–60° (pitch ±15°, roll ±10°, 1.5 % landmark noise), pull the
output to their true yaw, so a well-fitted turn reads as PnP reads it; CFP
frontal images pull it to their fused PnP yaw (both by a Huber loss); CFP
profiles are only pushed above a floor (a hinge: a CFP profile's true yaw is
not known, only that it is a profile). A linear model cannot honour both
anchors (a frontalised profile's cues look like a clean 45° turn); one hidden
layer of 8 tanh units can. The output is clipped to 0–90° and takes the sign of
the fused estimate.
"""

from __future__ import annotations

import math
import threading

import numpy as np

#: The cues in the order of the model's weights.
CUE_NAMES = ("fused", "inner68", "points5", "nose_offset", "eye_ratio", "nose_jaw")
WEIGHTS_NAME = "yaw_cues"
MAX_YAW = 90.0


def cue_vector(
    landmarks68: np.ndarray, points5: np.ndarray, fused: float, inner68: float, points5_yaw: float
) -> np.ndarray | None:
    """The ``(6,)`` cues of one face (``None`` when the points cannot give them)."""
    lm = np.asarray(landmarks68, dtype=np.float64).reshape(68, 2)
    p5 = np.asarray(points5, dtype=np.float64).reshape(5, 2)
    if not (np.isfinite(lm).all() and np.isfinite(p5).all() and math.isfinite(fused)):
        return None
    eyes, mouth = (p5[0] + p5[1]) / 2, (p5[3] + p5[4]) / 2
    height = float(np.linalg.norm(mouth - eyes))
    jaw_lo, jaw_hi = lm[0:17, 0].min(), lm[0:17, 0].max()
    if height <= 1e-6 or jaw_hi - jaw_lo <= 1e-6:
        return None
    down = (mouth - eyes) / height
    across = np.array([down[1], -down[0]])
    nose_offset = abs(float((p5[2] - (eyes + mouth) / 2) @ across)) / height
    eye_ratio = float(np.linalg.norm(p5[1] - p5[0])) / height
    nose_jaw = abs(lm[30, 0] - (jaw_hi + jaw_lo) / 2) / ((jaw_hi - jaw_lo) / 2)
    pnp = [abs(v) / MAX_YAW if math.isfinite(v) else 0.0 for v in (fused, inner68, points5_yaw)]
    return np.array([*pnp, nose_offset, eye_ratio, nose_jaw], dtype=np.float64)


class CueYawModel:
    """``|yaw|`` (degrees) from the cues by a one-hidden-layer net on standardised cues.

    ``clip(tanh(z @ hidden_weight.T + hidden_bias) @ out_weight + out_bias, 0, 90)`` with
    ``z = (cues - mean) / std``; shapes ``(H, 6)``, ``(H,)``, ``(H,)``, scalar.
    """

    def __init__(self, mean, std, hidden_weight, hidden_bias, out_weight, out_bias: float, meta=None):
        n = len(CUE_NAMES)
        self.mean = np.asarray(mean, dtype=np.float64).reshape(n)
        self.std = np.asarray(std, dtype=np.float64).reshape(n)
        self.hidden_weight = np.asarray(hidden_weight, dtype=np.float64).reshape(-1, n)
        hidden = len(self.hidden_weight)
        self.hidden_bias = np.asarray(hidden_bias, dtype=np.float64).reshape(hidden)
        self.out_weight = np.asarray(out_weight, dtype=np.float64).reshape(hidden)
        self.out_bias = float(out_bias)
        self.meta = dict(meta or {})
        arrays = (self.mean, self.hidden_weight, self.hidden_bias, self.out_weight)
        if not (all(np.isfinite(a).all() for a in arrays) and math.isfinite(self.out_bias)):
            raise ValueError("yaw cue model: non-finite weights")
        if not (self.std > 0).all():
            raise ValueError("yaw cue model: a cue with zero spread")

    def abs_yaw(self, cues: np.ndarray) -> np.ndarray:
        """``(N, 6)`` or ``(6,)`` cues → ``|yaw|`` degrees, same leading shape."""
        z = (np.asarray(cues, dtype=np.float64) - self.mean) / self.std
        hidden = np.tanh(z @ self.hidden_weight.T + self.hidden_bias)
        return np.clip(hidden @ self.out_weight + self.out_bias, 0.0, MAX_YAW)

    def tensors(self):
        # lazy: only the trainer writes the model; reading cues and yaw needs no torch
        import torch

        return {
            "mean": torch.tensor(self.mean),
            "std": torch.tensor(self.std),
            "hidden.weight": torch.tensor(self.hidden_weight),
            "hidden.bias": torch.tensor(self.hidden_bias),
            "out.weight": torch.tensor(self.out_weight),
            "out.bias": torch.tensor([self.out_bias]),
        }

    @classmethod
    def load(cls, weights: str = WEIGHTS_NAME) -> CueYawModel:
        """The shipped model (raises :class:`~core.zoo.weights.WeightsError` when missing or damaged)."""
        # lazy: weights files are read with torch, which the PnP geometry around this does not need
        from core.zoo.weights import WeightsError, load_weights, resolve

        tensors, meta = load_weights(weights)
        try:
            arrays = [
                tensors[k].double().numpy()
                for k in ("mean", "std", "hidden.weight", "hidden.bias", "out.weight")
            ]
            return cls(*arrays, float(tensors["out.bias"].reshape(-1)[0]), meta)
        except (KeyError, ValueError, IndexError, RuntimeError) as exc:
            raise WeightsError(resolve(weights), f"not a yaw cue model ({exc})") from None


_SHARED: CueYawModel | None = None
_LOCK = threading.Lock()


def shared_model() -> CueYawModel:
    """One model for the process (loaded on first use)."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = CueYawModel.load()
        return _SHARED

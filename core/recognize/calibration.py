"""Thresholds at a target false-accept rate, from impostor (and genuine) scores.

A threshold ``t`` accepts a pair when ``score >= t``. For ``n`` impostor
scores and a target FAR ``a``, at most ``k = floor(a · n)`` impostors may be
accepted: ``t`` lies between the k-th and (k+1)-th highest impostor score
(their midpoint; just above the top score when ``k = 0``). Below ``1 / n`` the
FAR cannot be measured at all, and with few expected false accepts the
operating point is noisy; :class:`OperatingPoint` reports the counts so every
user of a threshold can see how many impostor pairs back it
(``supported`` = at least :data:`MIN_FALSE_ACCEPTS` false accepts expected).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: An operating point is "supported" when ``far · impostors`` reaches this (Doddington's rule of 30 is stricter).
MIN_FALSE_ACCEPTS = 10


@dataclass(frozen=True)
class OperatingPoint:
    """One calibrated threshold.

    target_far: the requested FAR; threshold: the score cut.
    impostors / genuines: how many pairs of each kind the calibration saw.
    false_accepts: impostors at or above the threshold (≤ ``target_far · impostors``).
    measured_far: ``false_accepts / impostors``; tar: genuine acceptance (NaN without genuines).
    supported: ``target_far · impostors >= MIN_FALSE_ACCEPTS``.
    """

    target_far: float
    threshold: float
    impostors: int
    genuines: int
    false_accepts: int
    measured_far: float
    tar: float
    supported: bool

    def to_json(self) -> dict:
        out = asdict(self)
        for key in ("threshold", "measured_far", "tar"):
            value = out[key]
            out[key] = None if not math.isfinite(value) else round(float(value), 6)
        return out

    @classmethod
    def from_json(cls, data: dict) -> OperatingPoint:
        def num(v) -> float:
            return math.nan if v is None else float(v)

        return cls(
            float(data["target_far"]),
            num(data["threshold"]),
            int(data["impostors"]),
            int(data["genuines"]),
            int(data["false_accepts"]),
            num(data["measured_far"]),
            num(data["tar"]),
            bool(data["supported"]),
        )


def threshold_at_far(impostor_scores: np.ndarray, far: float) -> float:
    """The score cut that accepts at most ``floor(far · n)`` of the ``n`` impostors."""
    scores = np.sort(np.asarray(impostor_scores, dtype=np.float64).ravel())[::-1]
    if len(scores) == 0:
        raise ValueError("calibration needs impostor scores")
    if not 0 < far < 1:
        raise ValueError(f"target FAR must be in (0, 1), got {far}")
    k = int(math.floor(far * len(scores) + 1e-9))
    if k == 0:
        return float(np.nextafter(scores[0], np.inf))
    if k >= len(scores):
        return float(scores[-1])
    upper, lower = scores[k - 1], scores[k]
    if upper > lower:
        return float((upper + lower) / 2.0)
    # ties straddle the cut: move above the tied value so no more than k are accepted
    return float(np.nextafter(lower, np.inf))


def calibrate(
    impostor_scores: np.ndarray, far: float, genuine_scores: np.ndarray | None = None
) -> OperatingPoint:
    """An :class:`OperatingPoint` at ``far`` (see module docstring)."""
    imp = np.asarray(impostor_scores, dtype=np.float64).ravel()
    gen = np.asarray(genuine_scores if genuine_scores is not None else [], dtype=np.float64).ravel()
    t = threshold_at_far(imp, far)
    false_accepts = int((imp >= t).sum())
    tar = float((gen >= t).mean()) if len(gen) else math.nan
    return OperatingPoint(
        target_far=float(far),
        threshold=t,
        impostors=len(imp),
        genuines=len(gen),
        false_accepts=false_accepts,
        measured_far=false_accepts / len(imp),
        tar=tar,
        supported=far * len(imp) >= MIN_FALSE_ACCEPTS,
    )


def calibrate_many(
    impostor_scores: np.ndarray, fars: tuple[float, ...], genuine_scores: np.ndarray | None = None
) -> list[OperatingPoint]:
    return [calibrate(impostor_scores, f, genuine_scores) for f in fars]

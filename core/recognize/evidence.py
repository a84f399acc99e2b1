"""How much a verification decision can be trusted, from the calibration shipped with DREAM.

A decision is a score against one threshold, but the thresholds of a pose
bucket are calibrated at several operating points (FAR 1e-1 … 1e-4, and the
best-accuracy cut), each with the error rates measured on CFP. Two things make
a decision weak, and :class:`DecisionEvidence` names both:

* **borderline**: the score lies between this threshold and a neighbouring
  calibrated one, so an operating point 10× looser or stricter would decide
  the other way. At the loosest or strictest point the missing neighbour is
  mirrored about the threshold.
* **weak**: the bucket's measured rate of this decision's error at the
  threshold is high (:data:`WEAK_ERROR_RATE`): a "different" in the FP bucket
  at FAR 1e-2 rejects about three in four same-person pairs, so it says little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the dream module loads torch; the GUI reads this module's texts without it
    from core.recognize.dream import BucketCalibration

# A decision whose own error (FRR for a reject, FAR for an accept) is measured at or above
# this rate is reported as weak evidence: one in four such decisions is wrong.
WEAK_ERROR_RATE = 0.25


@dataclass(frozen=True)
class DecisionEvidence:
    """One decision and what the calibration says about it.

    score / threshold / accepted: the decision (``score >= threshold``).
    bucket: the pair's pose bucket (``"FF"`` or ``"FP"``).
    target_far: the FAR the threshold was calibrated for (NaN at the best-accuracy cut).
    measured_far: impostor pairs accepted at the threshold on the calibration pairs.
    frr: same-person pairs rejected at the threshold on the calibration pairs (NaN: not measured).
    band: ``(lower, upper)`` thresholds of the neighbouring operating points.
    """

    score: float
    threshold: float
    accepted: bool
    bucket: str
    target_far: float
    measured_far: float
    frr: float
    band: tuple[float, float]

    @property
    def borderline(self) -> bool:
        """A neighbouring operating point would decide the other way."""
        return math.isfinite(self.score) and self.band[0] <= self.score < self.band[1]

    @property
    def error_rate(self) -> float:
        """The measured rate of this decision's own error: FAR for an accept, FRR for a reject."""
        return self.measured_far if self.accepted else self.frr

    @property
    def weak(self) -> bool:
        return math.isfinite(self.error_rate) and self.error_rate >= WEAK_ERROR_RATE

    @property
    def verdict(self) -> str:
        return "SAME PERSON" if self.accepted else "DIFFERENT"

    @property
    def strength(self) -> str:
        """``"borderline"``, ``"weak"`` or ``""`` (a clear decision)."""
        return "borderline" if self.borderline else "weak" if self.weak else ""

    def headline(self) -> str:
        """``"DIFFERENT (borderline)"``, ``"SAME PERSON"``…"""
        return f"{self.verdict} ({self.strength})" if self.strength else self.verdict

    def rates_text(self) -> str:
        """``"FRR 74 % at FAR 1 %"``: the bucket's measured error rates at this threshold."""
        frr = "FRR not measured" if not math.isfinite(self.frr) else f"FRR {percent(self.frr)}"
        if math.isfinite(self.target_far):
            return f"{frr} at FAR {percent(self.target_far)}"
        return f"{frr}, FAR {percent(self.measured_far)} (best-accuracy cut)"

    def summary(self) -> str:
        """``"DIFFERENT (borderline: 0.878 vs threshold 0.918, FP bucket, FRR 74 % at FAR 1 %)"``."""
        relation = "≥" if self.accepted else "<"
        facts = f"{self.score:.3f} {relation} threshold {self.threshold:.3f}, {self.bucket} bucket, {self.rates_text()}"
        return f"{self.verdict} ({self.strength}: {facts})" if self.strength else f"{self.verdict} ({facts})"


def percent(rate: float) -> str:
    """``0.74 -> "74 %"``, ``0.01 -> "1 %"``, ``1e-4 -> "0.01 %"``, ``0.0124 -> "1.2 %"``."""
    value = 100.0 * rate
    return f"{value:.0f} %" if value >= 10 else f"{value:.2g} %"


def neighbour_band(thresholds: list[float], threshold: float) -> tuple[float, float]:
    """The nearest calibrated thresholds below and above ``threshold`` (mirrored where one is missing)."""
    below = [t for t in thresholds if t < threshold]
    above = [t for t in thresholds if t > threshold]
    lower = max(below) if below else None
    upper = min(above) if above else None
    if lower is None and upper is None:
        return threshold, threshold
    if lower is None:
        lower = 2 * threshold - upper
    if upper is None:
        upper = 2 * threshold - lower
    return lower, upper


def decision_evidence(
    cal: BucketCalibration, far: float | None, bucket: str, score: float, threshold: float
) -> DecisionEvidence:
    """The evidence of ``score`` decided at ``threshold`` (the point of ``far``; ``None``: best accuracy)."""
    if far is None:
        target_far, measured_far, frr = math.nan, cal.accuracy_far, math.nan
    else:
        op = cal.at_far(far)
        target_far, measured_far = op.target_far, op.measured_far
        frr = 1.0 - op.tar if math.isfinite(op.tar) else math.nan
    band = neighbour_band([op.threshold for op in cal.operating_points], threshold)
    accepted = bool(math.isfinite(score) and score >= threshold)
    return DecisionEvidence(score, threshold, accepted, bucket, target_far, measured_far, frr, band)

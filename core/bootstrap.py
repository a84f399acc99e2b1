"""Percentile intervals of a paired bootstrap: one shape for every difference the benches claim.

Two systems measured on the *same* units (verification pairs, WIDER images,
CelebA faces) have correlated errors; resampling the units once for both (a
paired bootstrap) gives an honest interval for their difference. Each domain
resamples its own units; :func:`percentile_interval` turns the replicates'
differences into the one result type, :class:`BootstrapInterval`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BootstrapInterval:
    """``difference`` = metric(b) − metric(a) on the units as given; ``low``/``high`` its interval."""

    difference: float
    low: float
    high: float
    level: float
    replicates: int

    def __str__(self) -> str:
        pct = round(100 * self.level)
        return f"{self.difference:+.4f} [{pct} % CI {self.low:+.4f}, {self.high:+.4f}]"

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def to_json(self) -> dict[str, float | int]:
        """``{"difference", "ci95_low", "ci95_high", "resamples"}`` (the level names the keys)."""
        pct = round(100 * self.level)
        return {
            "difference": round(self.difference, 5),
            f"ci{pct}_low": round(self.low, 5),
            f"ci{pct}_high": round(self.high, 5),
            "resamples": self.replicates,
        }


def percentile_interval(difference: float, replicate_diffs: np.ndarray, level: float) -> BootstrapInterval:
    """The ``level`` percentile interval of the replicates' differences (NaN replicates skipped)."""
    diffs = np.asarray(replicate_diffs, dtype=np.float64)
    finite = diffs[np.isfinite(diffs)]
    if finite.size == 0:
        raise ValueError("no bootstrap replicate gave a finite difference")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return BootstrapInterval(float(difference), float(low), float(high), level, int(diffs.size))

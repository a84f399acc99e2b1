"""What a batch run is asked to do and what it reports: options, progress and summary (plain data).

Kept apart from :mod:`core.detect.batch.run` so the GUI can build options and
read reports without the run's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.detect.batch.ledger import WIDER_LEDGER_NAME
from core.detect.registry import DEFAULT_DETECTOR, FAST
from core.progress import Progress


@dataclass
class BatchOptions:
    """How to run. ``jsonl``/``wider_out``: outputs (both resumable); ``every``: detect every N-th video frame."""

    model: str = DEFAULT_DETECTOR
    mode: str = FAST  # or ACCURATE: several scales, mirrored, box voting
    min_score: float | None = None
    max_side: int | None = None
    min_face: float | None = None  # smallest face wanted (px): detectors that take it shrink their input
    precision: str | None = None  # the network's arithmetic (None: float; "int8" where the detector has it)
    jsonl: Path | None = None
    wider_out: Path | None = None
    verify: str = "stat"
    resume: bool = True
    every: int = 1
    keep_records: bool = False
    checkpoint: Path | None = None  # for detectors trained by the user (DetectorSpec.takes_checkpoint)
    wait: bool = False  # outputs locked by another run: wait for it (else OutputBusyError)

    @property
    def ledger_path(self) -> Path | None:
        """Where records go: the JSON-lines output, else a hidden ledger in the WIDER folder, else nowhere."""
        if self.jsonl is not None:
            return Path(self.jsonl)
        if self.wider_out is not None:
            return Path(self.wider_out) / WIDER_LEDGER_NAME
        return None


@dataclass(frozen=True, kw_only=True)
class BatchProgress(Progress):
    """A :class:`Progress` with the batch's rates.

    done/total: units (images + sampled video frames; total is an estimate for
    videos of unknown length).
    """

    skipped: int
    failed: int
    elapsed_s: float
    rate: float  # detected units per second (skipped ones excluded)
    eta_s: float | None
    current: str

    def describe(self) -> str:
        eta = "?" if self.eta_s is None else _clock(self.eta_s)
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        failed = f", {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.total} {self.rate:.1f} img/s ETA {eta}{skipped}{failed}"


@dataclass
class BatchSummary:
    """One process's outcome (``records`` only with ``keep_records``: this rank's, in input order)."""

    items: int
    processed: int
    skipped: int
    failures: list[tuple[str, int | None, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    records: list[dict] = field(default_factory=list)
    output: Path | None = None

    @property
    def rate(self) -> float:
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"

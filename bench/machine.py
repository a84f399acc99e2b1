"""What every benchmark prints beside its figures: cores and the load average.

The project's machines are shared, so a timing means little without the load
it was taken under. :class:`LoadWatch` notes the load at the start and writes
the footer line and the ``--json`` document the same way for every script.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


class LoadWatch:
    """Load average at construction and now, for a footer line and the JSON output."""

    def __init__(self) -> None:
        self.start = load_average()

    def footer(self, what: str) -> str:
        """``"<what>, N cores, load average a at start, b at end"``."""
        return f"{what}, {cpu_cores()} cores, load average {self.start:.1f} at start, {load_average():.1f} at end"

    def write_json(self, path: Path | None, rows: list[dict]) -> None:
        """``{"rows": rows, "load_average": [start, end]}`` to ``path`` (nothing when ``None``)."""
        if path is not None:
            path.write_text(
                json.dumps({"rows": rows, "load_average": [self.start, load_average()]}, indent=1)
            )

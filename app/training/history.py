"""A run's ``metrics.jsonl`` read back for the Training panel's curves.

The engine appends to the file while the GUI may read it, so a last line can
be half written: unreadable lines are skipped rather than failing the read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.train.metrics_log import METRICS_NAME


def metrics_path(run_dir: str | os.PathLike) -> Path:
    return Path(run_dir) / METRICS_NAME


def read_history(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every readable record of ``run_dir/metrics.jsonl`` (``[]`` when there is none)."""
    path = metrics_path(run_dir)
    if not path.is_file():
        return []
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def replayable(records: list[dict[str, Any]], up_to_step: int | None = None) -> list[dict[str, Any]]:
    """Records to redraw: steps and evaluations, up to ``up_to_step`` inclusive (a resume point).

    ``start``/``end``/``checkpoint`` records are not curves; the rows after a
    resume point arrive live from the job and must not be drawn twice.
    """
    out = []
    for record in records:
        if record.get("event") not in ("step", "eval"):
            continue
        step = record.get("step")
        if not isinstance(step, (int, float)):
            continue
        if up_to_step is not None and step > up_to_step:
            continue
        out.append(record)
    return out

"""``RUN_DIR/metrics.jsonl``: one JSON object per line, appended as training goes.

Records are the dicts the training generator yields (``event`` = ``"start"``,
``"step"``, ``"checkpoint"``, ``"eval"``, ``"end"``). On resume the file is cut
back to the checkpoint's step, so curves never show the steps that were
computed after the last checkpoint and then lost.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from core.atomic import write_text_atomic

METRICS_NAME = "metrics.jsonl"


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as strings so a log line stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class MetricsLog:
    """Appends records to a JSON-lines file (line-buffered, flushed per record)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(_clean(record), separators=(",", ":")) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def truncate_after(path: str | os.PathLike, step: int) -> None:
    """Drop records whose ``step`` is greater than ``step`` (and unreadable lines)."""
    target = Path(path)
    if not target.is_file():
        return
    kept = []
    for line in target.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if int(record.get("step", 0)) <= step:
            kept.append(line)
    write_text_atomic(target, "".join(k + "\n" for k in kept), fsync=False)


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All records of a metrics file (for the GUI's curves and for tests)."""
    target = Path(path)
    if not target.is_file():
        return []
    return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines() if line.strip()]

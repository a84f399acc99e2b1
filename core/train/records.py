"""The engine's records as readable log lines, the same in the CLI's log and the Training panel.

A record is one of the dicts :func:`core.train.loop.train` yields (``start``,
``step``, ``eval``, ``checkpoint``, ``end``). Losses named ``"<group>/<term>"``
(ScaleFace's ``small/rpn_cls`` ...) are summed per group, so a line stays short;
the full figures are in ``metrics.jsonl``.
"""

from __future__ import annotations

import math
from typing import Any

SEP = " · "


def _number(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"


def loss_groups(losses: dict[str, float]) -> dict[str, float]:
    """``"small/rpn_cls"`` → per-group totals; flat names stay as they are."""
    groups: dict[str, float] = {}
    for key, value in losses.items():
        group = key.split("/")[0]
        groups[group] = groups.get(group, 0.0) + float(value)
    return groups


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def describe_step(record: dict[str, Any]) -> str:
    """``step 120/1000 · loss 1.2340 (small 0.5000, large 0.7340) · lr 0.0100 · 1.7 img/s · ETA 3.2 min``."""
    total = record.get("max_steps")
    parts = [f"step {record['step']}" + (f"/{total}" if total else "")]
    if "loss" in record:
        groups = loss_groups(record.get("losses", {}))
        detail = ", ".join(f"{k} {_number(v)}" for k, v in groups.items()) if len(groups) > 1 else ""
        parts.append(f"loss {_number(record['loss'])}" + (f" ({detail})" if detail else ""))
    if "lr" in record:
        parts.append(f"lr {_number(record['lr'])}")
    if "images_per_s" in record:
        parts.append(f"{record['images_per_s']:.1f} img/s")
    if record.get("eta_s") is not None:
        parts.append(f"ETA {_duration(record['eta_s'])}")
    if "gpu_mem_mb" in record:
        parts.append(f"GPU {record['gpu_mem_mb']:,.0f} MB")
    return SEP.join(parts)


def describe_eval(record: dict[str, Any]) -> str:
    """AP figures first (ScaleFace), then other scalar metrics, then how many per-item
    figures (``ba/<attribute>``, per branch ...) went to metrics.jsonl only."""
    metrics = record.get("metrics", {})
    if not isinstance(metrics, dict):
        metrics = {}
    head = f"eval at step {record.get('step')}"
    if metrics.get("cancelled"):
        return f"{head}: stopped before the end (no figures)"
    aps = " ".join(
        f"{k[3:]} {_number(v)}" for k, v in metrics.items() if k.startswith("ap_") and isinstance(v, float)
    )
    rest = " ".join(
        f"{k} {_number(v)}" for k, v in metrics.items() if not k.startswith("ap_") and "/" not in k
    )
    per_item = sum("/" in k for k in metrics)
    parts = [
        f"AP {aps}" if aps else "",
        rest,
        f"(+{per_item} per-item figures in metrics.jsonl)" if per_item else "",
    ]
    return f"{head}: " + (" ".join(p for p in parts if p) or "no figures")


def describe_start(record: dict[str, Any]) -> str:
    verb = "resumed" if record.get("resumed") else "started"
    parts = [
        f"{record.get('task', 'training')} {verb} at step {record.get('step', 0)} of {record.get('max_steps')}"
    ]
    if "device" in record:
        world = record.get("world_size", 1)
        parts.append(f"on {record['device']}" + (f" × {world} processes" if world and world > 1 else ""))
    if "dataset_size" in record:
        parts.append(f"{record['dataset_size']:,} training images")
    if "global_batch" in record:
        parts.append(f"batch {record['global_batch']}")
    if record.get("amp"):
        parts.append("mixed precision")
    return SEP.join(parts)


def describe_checkpoint(record: dict[str, Any]) -> str:
    reason = record.get("reason")
    return (
        f"checkpoint at step {record.get('step')}"
        + (f" ({reason})" if reason else "")
        + f": {record.get('path')}"
    )


def describe_end(record: dict[str, Any]) -> str:
    parts = [f"finished at step {record.get('step')}"]
    if "elapsed_s" in record:
        parts.append(f"in {_duration(record['elapsed_s'])}")
    if "images_per_s" in record:
        parts.append(f"{record['images_per_s']:.1f} img/s")
    return SEP.join(parts)


_DESCRIBE = {
    "start": describe_start,
    "step": describe_step,
    "eval": describe_eval,
    "checkpoint": describe_checkpoint,
    "end": describe_end,
}


def describe_record(record: dict[str, Any]) -> str:
    """One readable line for any record (an unknown event shows its name and step)."""
    describe = _DESCRIBE.get(record.get("event", ""))
    if describe is None:
        return f"{record.get('event', 'record')} at step {record.get('step')}"
    return describe(record)


def log_line(record: dict[str, Any], log_every: int = 1) -> str | None:
    """The line a training log shows for ``record``, or ``None`` for a step between ``log_every`` steps."""
    if record.get("event") == "step" and record.get("step", 0) % max(1, log_every):
        return None
    return describe_record(record)

"""Training checkpoints: everything needed to continue a run bit-exactly.

A checkpoint (``RUN_DIR/last.pt``) is a dict of plain types and tensors only,
so it loads with ``torch.load(..., weights_only=True)``:

* ``format``/``version``, ``task`` (registry name), ``config`` (plain dict of
  the :class:`~core.train.config.RunConfig`);
* ``step`` (optimiser steps done), ``epoch`` and ``batch_in_epoch`` (the
  sampler position: batches of ``epoch`` already consumed);
* ``model`` (state dict, never DDP-prefixed), ``optimizer``, ``scheduler``,
  ``scaler`` (AMP GradScaler, ``{}`` when unused);
* ``rng``: one entry per rank, each with the torch CPU state (uint8 tensor),
  the CUDA states (list of tensors), NumPy's MT19937 state and ``random``'s
  state, stored as int64 tensors and plain numbers;
* ``world_size`` the run used, ``torch_version``.

Writes are atomic (temporary file in the same folder, fsync, ``os.replace``):
a crash while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.atomic import atomic_write
from core.errors import UserError

log = logging.getLogger(__name__)

FORMAT = "facescope-train-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "last.pt"


class CheckpointError(UserError, RuntimeError):
    """A checkpoint is missing, unreadable or from another task; the message names the file."""


def capture_rng_state() -> dict[str, Any]:
    """The torch (CPU and CUDA), NumPy and ``random`` global states as tensors/plain types."""
    np_state = np.random.get_state(legacy=False)
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_initialized() else [],
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "random": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss": None if gauss is None else float(gauss),
        },
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA states only when CUDA is in use)."""
    torch.set_rng_state(state["torch"].to(torch.uint8).cpu())
    if state.get("cuda") and torch.cuda.is_available():
        cuda_states = [s.to(torch.uint8).cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            log.warning(
                "checkpoint has %d CUDA RNG states for %d devices; not restored",
                len(cuda_states),
                torch.cuda.device_count(),
            )
    np_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": np_state["key"].numpy().astype(np.uint32), "pos": int(np_state["pos"])},
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        }
    )
    py = state["random"]
    random.setstate((int(py["version"]), tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (plus format/version tags) to ``path`` atomically."""
    target = Path(path)
    data = {"format": FORMAT, "version": VERSION, "torch_version": str(torch.__version__), **payload}
    with atomic_write(target) as handle:
        torch.save(data, handle)
    return target


def unreadable_reason(exc: BaseException) -> str:
    """One line saying why ``torch.load(weights_only=True)`` refused a file.

    torch's own text runs to several lines and advises loading with
    ``weights_only=False``, which would run whatever code the file carries;
    the user gets what is wrong instead, and never that advice.
    """
    text = str(exc)
    blocked = re.search(r"GLOBAL ([\w.]+)", text)
    if "Weights only load failed" in text or blocked:
        what = f" ({blocked.group(1)})" if blocked else ""
        return (
            f"holds Python objects{what} that a safe, weights-only load refuses: not a checkpoint, not loaded"
        )
    if "zip archive" in text or "central directory" in text or isinstance(exc, EOFError):
        return "truncated or corrupt: not a complete torch file"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"not a readable checkpoint ({first[:200]})"


def mismatch_line(exc: BaseException) -> str:
    """The first concrete complaint of ``load_state_dict`` (whose message lists every key), shortened."""
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} entry" if exc.args else "an entry is missing"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 else (lines[0] if lines else type(exc).__name__)
    return detail if len(detail) <= 160 else detail[:157] + "..."


def load_checkpoint(path: str | os.PathLike, *, task: str | None = None) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` onto the CPU.

    ``task``: when given, the checkpoint must have been written by that task.
    Raises :class:`CheckpointError` naming the file.
    """
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"no checkpoint at {source}")
    try:
        data = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling errors come in many types
        raise CheckpointError(f"{source}: {unreadable_reason(exc)}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{source} is not a FaceScope training checkpoint")
    if int(data.get("version", -1)) > VERSION:
        raise CheckpointError(
            f"{source} has checkpoint version {data.get('version')}; this FaceScope reads ≤ {VERSION}"
        )
    if task is not None and data.get("task") != task:
        raise CheckpointError(f"{source} was written by task {data.get('task')!r}, not {task!r}")
    return data

"""Pick the compute device once: CUDA when present, else CPU with sane threads."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

import torch

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def default_device() -> torch.device:
    """``cuda`` when a GPU is usable, else ``cpu``.

    ``FACESCOPE_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``) overrides the choice.
    On CPU the intra-op thread count is capped at the number of usable cores so
    that inference in a worker thread does not oversubscribe the machine that
    also runs the GUI.
    """
    forced = os.environ.get("FACESCOPE_DEVICE")
    if forced:
        device = torch.device(forced)
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        device = torch.device("cpu")
    if device.type == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        torch.set_num_threads(max(1, cores))
    log.info("compute device: %s (torch threads: %d)", device, torch.get_num_threads())
    return device

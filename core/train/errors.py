"""Errors the training engine raises (re-exported by :mod:`core.train.loop`)."""

from __future__ import annotations

from core.errors import FaceScopeError, UserError


class TrainError(UserError, RuntimeError):
    """The run cannot start or continue (bad data size, occupied run folder ...)."""


class NonFiniteLossError(FaceScopeError, FloatingPointError):
    """A loss (or, without AMP, the gradient norm) became NaN or infinite.

    step: the 1-based optimiser step being computed; losses: the rank-averaged
    values of that step (``nan``/``inf`` included); what: which quantity.
    """

    def __init__(self, step: int, losses: dict[str, float], what: str = "loss") -> None:
        self.step = step
        self.losses = dict(losses)
        self.what = what
        bad = ", ".join(f"{k}={v}" for k, v in losses.items()) or "-"
        super().__init__(f"non-finite {what} at step {step} ({bad})")

"""Name → detector factory. Imports are lazy so listing names loads no weights."""

from __future__ import annotations

from collections.abc import Callable

from core.detect.protocol import Detector

DEFAULT_DETECTOR = "centerface"


def _centerface(**kwargs) -> Detector:
    from core.detect.centerface import CenterFaceDetector

    return CenterFaceDetector(**kwargs)


def _ssd(**kwargs) -> Detector:
    from core.detect.ssd import SsdDetector

    return SsdDetector(**kwargs)


def _tiny(**kwargs) -> Detector:
    from core.detect.tiny import TinyFaceDetector

    return TinyFaceDetector(**kwargs)


def _scaleface(checkpoint=None, **kwargs) -> Detector:
    from core.detect.scaleface import ScaleFaceDetector

    if checkpoint is None:
        raise ValueError(
            "the scaleface detector needs a checkpoint: train one with `main.py train scaleface`"
        )
    return ScaleFaceDetector(checkpoint=checkpoint, **kwargs)


# Detectors that need a file of the user's (a trained checkpoint) rather than bundled weights.
NEEDS_CHECKPOINT = frozenset({"scaleface"})

DETECTORS: dict[str, Callable[..., Detector]] = {
    "centerface": _centerface,
    "ssd": _ssd,
    "scaleface": _scaleface,
    "tiny": _tiny,
}


def create_detector(name: str = DEFAULT_DETECTOR, **kwargs) -> Detector:
    """Build the named detector (loads its bundled weights)."""
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}") from None
    return factory(**kwargs)

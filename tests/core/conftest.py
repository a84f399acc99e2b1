"""Fixtures shared by the face-api detector tests (models and demo photos, built once per module)."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.ssd import SsdDetector
from core.detect.tiny import TinyFaceDetector
from core.imageio import load_image
from core.paths import REPO_ROOT

SAMPLES = REPO_ROOT / "tests" / "data" / "faceapi_demo"


@pytest.fixture(scope="module")
def ssd() -> SsdDetector:
    return SsdDetector(device="cpu")


@pytest.fixture(scope="module")
def tiny416() -> TinyFaceDetector:
    return TinyFaceDetector(device="cpu", input_size=416)


@pytest.fixture(scope="module")
def tiny608() -> TinyFaceDetector:
    return TinyFaceDetector(device="cpu", input_size=608)


_DECODED: dict[str, np.ndarray] = {}


def faceapi_sample(name: str) -> np.ndarray:
    """Decoded demo photo, decoded once per test session (1920 px JPEGs)."""
    if name not in _DECODED:
        _DECODED[name] = load_image(SAMPLES / f"{name}.jpg")
    return _DECODED[name]


@pytest.fixture(scope="module")
def sample1() -> np.ndarray:
    return faceapi_sample("sample1")


@pytest.fixture(scope="module")
def ssd_sample1(ssd, sample1):
    """SSD on sample1 at the references' threshold 0.2 (shared by several tests)."""
    return ssd.locate(sample1, min_score=0.2)

"""Fixtures shared by the engine tests: face-api detectors and demo photos (built once per module), thread count."""

from __future__ import annotations

import numpy as np
import pytest

from core.detect.ssd import SsdDetector
from core.detect.tiny import TinyFaceDetector
from core.io.imageio import load_image
from core.paths import REPO_ROOT

SAMPLES = REPO_ROOT / "tests" / "data" / "faceapi_demo"


@pytest.fixture(scope="module")
def ssd() -> SsdDetector:
    return SsdDetector(device="cpu")


@pytest.fixture(scope="module")
def tiny416() -> TinyFaceDetector:
    return TinyFaceDetector(device="cpu", max_side=416)


@pytest.fixture(scope="module")
def tiny608() -> TinyFaceDetector:
    return TinyFaceDetector(device="cpu", max_side=608)


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


@pytest.fixture
def one_torch_thread():
    """One intra-op thread: on two shared cores, two threads fighting make small nets several times slower.

    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

"""Peer face detectors for the benchmarks, run by onnxruntime (bench only, never core/ or app/).

Rows (``PEERS``): UltraFace RFB-320/640 (Linzaer), YuNet n/s
(libfacedetection.train), RetinaFace-MobileNet0.25 (biubug6's
Face-Detector-1MB-with-landmark). Their files are read from
``../shared/data/peers`` (research data, never copied into this repository);
the decoders (priors, anchor grids, box coders) are ours, written from each
project's published design: see each module's docstring.

    from bench.peers import create_peer, peers_missing
    if (why := peers_missing()) is None:
        detector = create_peer("yunet-n", threads=2)   # a core.detect.protocol.Detector
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from core.paths import SHARED_DIR

PEERS_DIR = SHARED_DIR / "data" / "peers"
PEERS: tuple[str, ...] = (
    "ultraface-rfb320",
    "ultraface-rfb640",
    "yunet-n",
    "yunet-s",
    "retinaface-mnet",
)


def peers_missing(peers_dir: Path = PEERS_DIR) -> str | None:
    """Why peer rows cannot run (``None`` when they can)."""
    if not peers_dir.is_dir():
        return f"{peers_dir} is absent (the peer detectors live in ../shared)"
    for module in ("onnxruntime", "onnx"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (bench-only dependency: pip install {module})"
    return None


def create_peer(name: str, threads: int | None = None, peers_dir: Path = PEERS_DIR, **kwargs):
    """Build the named peer (``PEERS``); ``kwargs`` go to the detector (e.g. ``min_score``)."""
    if name.startswith("ultraface-"):
        from bench.peers.ultraface import UltraFace

        return UltraFace(name, peers_dir, threads, **kwargs)
    if name.startswith("yunet-"):
        from bench.peers.yunet import YuNet

        return YuNet(name, peers_dir, threads, **kwargs)
    if name == "retinaface-mnet":
        from bench.peers.retinaface import RetinaFace

        return RetinaFace(peers_dir, threads, **kwargs)
    raise ValueError(f"unknown peer {name!r}; choose one of {', '.join(PEERS)}")

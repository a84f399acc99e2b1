"""Thresholds of a stem that has no DREAM block, and the mapper each stem verifies with.

Verification reads two things from its *mapper*: ``map(features, yaw)`` (unit
descriptors, DREAM-mapped or not) and ``thresholds(mode, bucket)``. A stem
with a DREAM file (face-api, faceres) reads both modes' calibration from its
meta. A stem without one has a calibration file instead,
``resources/models/<weights>_calibration.json`` (written by
``tools/calibrate_stem.py`` from CFP dev folds 1–8), and a
:class:`StemOnlyMapper` that only normalises; faceres keeps its file from
before its block shipped (the same stem-mode numbers as the block's). The
file names the sha256 of the weights it was measured on, and both kinds of
file name the chip views of the embeddings (:attr:`StemSpec.views`): another
weights file, or views other than the stem's, is refused.
"""

from __future__ import annotations

import json
import threading

import numpy as np

from core.errors import UserError
from core.paths import MODELS_DIR
from core.recognize.dream import (
    BucketCalibration,
    Calibration,
    calibration_from_json,
    l2_normalize,
    shared_mapper,
)
from core.recognize.stems import StemSpec, stem_spec
from core.zoo.weights import WeightsError, read_sidecar, resolve


class NoDreamError(UserError, ValueError):
    """DREAM was asked for a stem that has no DREAM block."""


def calibration_path(stem: str):
    return MODELS_DIR / f"{stem_spec(stem).weights}_calibration.json"


class StemOnlyMapper:
    """A stem's calibration without a DREAM block: :meth:`map` L2-normalises, ``mode`` must be ``"stem"``."""

    has_dream = False

    def __init__(self, stem: str) -> None:
        spec = stem_spec(stem)
        path = calibration_path(stem)
        weights = resolve(spec.weights)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise WeightsError(weights, f"unreadable calibration {path.name}: {exc}") from None
        expected = str(read_sidecar(weights).get("sha256", ""))
        if data.get("weights_sha256") != expected:
            raise WeightsError(
                weights, f"{path.name} was calibrated on other weights: run tools/calibrate_stem.py"
            )
        check_views(spec, data, path, f"python tools/calibrate_stem.py --stem {spec.name}")
        self.stem = spec.name
        self.meta: dict = {k: v for k, v in data.items() if k != "calibration"}
        self.calibration: Calibration = calibration_from_json(data["calibration"])

    def map(self, features: np.ndarray, yaw_deg: np.ndarray) -> np.ndarray:
        del yaw_deg  # no pose-dependent mapping without DREAM
        return l2_normalize(np.asarray(features, dtype=np.float32))

    def thresholds(self, mode: str, bucket: str) -> BucketCalibration:
        if mode != "stem":
            raise NoDreamError(f"the {self.stem} stem has no DREAM block: verify without DREAM")
        try:
            return self.calibration[mode][bucket]
        except KeyError:
            raise KeyError(f"the {self.stem} calibration has no thresholds for {mode}/{bucket}") from None


_SHARED: dict[str, StemOnlyMapper] = {}
_LOCK = threading.Lock()


def check_views(spec: StemSpec, meta: dict, path, regenerate: str) -> None:
    """Refuse a block or calibration made on other chip views than ``spec``'s (a different embedding)."""
    made_on = str(meta.get("views", ""))
    if made_on != spec.views:
        raise WeightsError(
            path,
            f"made on the {spec.name} stem seen through views {made_on or 'one chip'}, "
            f"but the stem now uses {spec.views or 'one chip'}",
            regenerate,
        )


def mapper_for_stem(stem: str):
    """The mapper verification uses for ``stem``: its DREAM block, or the stem's calibration."""
    spec = stem_spec(stem)
    if spec.has_dream:
        mapper = shared_mapper(spec.dream_weights)
        check_views(
            spec,
            mapper.meta,
            resolve(spec.dream_weights),
            f"python tools/export_dream.py --stem {spec.name}",
        )
        return mapper
    with _LOCK:
        if stem not in _SHARED:
            _SHARED[stem] = StemOnlyMapper(stem)
        return _SHARED[stem]

"""Bundled weights: every file has provenance, matches its hash, and fails loudly when damaged."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from core.paths import MODELS_DIR
from core.zoo.weights import WeightsError, dequantize, load_weights, save_weights

WEIGHT_FILES = sorted(MODELS_DIR.glob("*.pt"))


def test_models_are_bundled():
    assert WEIGHT_FILES, "resources/models holds no weights"


@pytest.mark.parametrize("path", WEIGHT_FILES, ids=lambda p: p.name)
def test_every_weight_file_has_a_sidecar_and_notice_entry(path):
    sidecar = json.loads(path.with_suffix(".json").read_text())
    for key in ("sha256", "source_package", "licence", "regenerate", "training_data"):
        assert sidecar.get(key), f"{path.name}: sidecar lacks {key}"
    notice = (MODELS_DIR / "NOTICE.md").read_text()
    assert f"`{path.name}`" in notice and sidecar["sha256"] in notice, "run tools/make_notice.py"


@pytest.mark.parametrize("path", WEIGHT_FILES, ids=lambda p: p.name)
def test_every_weight_file_loads_and_verifies(path):
    tensors, _ = load_weights(path)
    assert tensors and all(t.dtype in (torch.float32, torch.int32, torch.int64) for t in tensors.values())


def test_missing_file_names_the_regenerate_command(tmp_path):
    src = MODELS_DIR / "faceapi_face_landmark_68_tiny.pt"
    shutil.copy(src.with_suffix(".json"), tmp_path / src.with_suffix(".json").name)
    with pytest.raises(WeightsError, match="missing") as info:
        load_weights(tmp_path / src.name)
    assert "tools/convert_faceapi.py" in str(info.value)


def test_corrupt_file_fails_its_hash(tmp_path):
    src = MODELS_DIR / "faceapi_face_landmark_68_tiny.pt"
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    data = bytearray(dst.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_weights(dst)


def test_truncated_file_without_sidecar_is_a_clear_error(tmp_path):
    src = MODELS_DIR / "faceapi_face_landmark_68_tiny.pt"
    dst = tmp_path / src.name
    dst.write_bytes(src.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="cannot read"):
        load_weights(dst)


def test_save_then_load_round_trip_with_quantised_tensors(tmp_path):
    q = torch.tensor([0, 1, 255], dtype=torch.uint8)
    digest = save_weights(
        tmp_path / "toy.pt",
        tensors={"w": torch.ones(2, dtype=torch.float16)},
        quantized={"b": (q, 0.5, -1.0)},
        meta={"note": "toy"},
        sidecar={"regenerate": "nothing"},
    )
    tensors, meta = load_weights(tmp_path / "toy.pt")
    assert tensors["w"].dtype == torch.float32 and tensors["w"].tolist() == [1.0, 1.0]
    assert tensors["b"].tolist() == [-1.0, -0.5, 126.5]
    assert meta == {"note": "toy"}
    assert json.loads((tmp_path / "toy.json").read_text())["sha256"] == digest
    assert dequantize(q, 0.1, 0.0).dtype == torch.float32

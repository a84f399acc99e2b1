"""Parity of the face-api detector ports with face-api 1.7.15 in node.

Reads the references in ``../shared/data/faceapi_ref/ref`` (every test is
marked ``shared_data`` and skipped with a reason when ../shared is absent):
decoded-pixel md5 first, then detections on the six demo photos and the
per-layer summaries (``layers_ssd.json``, ``layers_tiny_face_detector.json``,
``ssd_raw_sample1_pil.json``).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from core.detect.faceapi_input import detector_batch
from core.detect.ssd import SsdDetector, decode_boxes
from core.io.imageio import load_image
from core.paths import SHARED_DIR
from tests.core.conftest import faceapi_sample

REF = SHARED_DIR / "data" / "faceapi_ref" / "ref"
IMAGES = [f"sample{i}" for i in range(1, 7)]

pytestmark = pytest.mark.shared_data


def _ref(name: str) -> dict:
    return json.loads((REF / name).read_text(encoding="utf-8"))


def _xyxy(dets: list[dict]) -> np.ndarray:
    return np.array(
        [
            [
                d["box"]["x"],
                d["box"]["y"],
                d["box"]["x"] + d["box"]["width"],
                d["box"]["y"] + d["box"]["height"],
            ]
            for d in dets
        ]
    )


def _load_checked(name: str) -> tuple[np.ndarray, dict]:
    """The Pillow-decoded sample and its reference, after checking the decoded-pixel md5."""
    ref = _ref(f"images_pil/{name}.json")
    image = faceapi_sample(name)
    md5 = hashlib.md5(image.tobytes()).hexdigest()
    assert md5 == ref["md5_rgb"], (
        f"{name}: decoded pixels differ from the reference's (Pillow/libjpeg-turbo version?)"
    )
    return image, ref


@pytest.mark.parametrize("name", IMAGES)
def test_decoded_pixels_match_reference(name):
    _load_checked(name)


@pytest.mark.parametrize("name", IMAGES)
def test_ssd_parity(ssd, ssd_sample1, name):
    image, ref = _load_checked(name)
    found = ssd_sample1 if name == "sample1" else ssd.locate(image, min_score=0.2)
    dims = ref["ssd"]["reshaped_dims"]
    assert (found.reshaped.width, found.reshaped.height) == (dims["width"], dims["height"])
    expected = ref["ssd"]["detections"]
    assert len(found.boxes) == len(expected)
    np.testing.assert_allclose(found.boxes, _xyxy(expected), rtol=0, atol=1.0)
    np.testing.assert_allclose(found.scores, [d["score"] for d in expected], rtol=0, atol=1e-3)
    # measured: 1.6e-4 px and 1.5e-6; a much larger error means a real regression
    assert np.abs(found.boxes - _xyxy(expected)).max() < 0.01


def test_ssd_raw_sample1(ssd, ssd_sample1):
    """Every layer on a real 1920x1280 photo (3.75x legacy downscale), the top anchors and NMS picks."""
    image, _ = _load_checked("sample1")
    raw = _ref("ssd_raw_sample1_pil.json")
    found = ssd_sample1
    assert found.anchor_indices.tolist() == [p["anchor_index"] for p in raw["nms_picks"]]
    assert found.reshaped.height == raw["reshaped_dims"]["height"]
    nhwc, enc, logits = _ssd_taps(ssd, image)
    assert set(raw["layer_stats"]) == set(nhwc), "every recorded layer is checked"
    for name, entry in raw["layer_stats"].items():
        _assert_stats(name, nhwc[name], entry, atol=1e-4)
    for top in raw["top40_by_score"]:
        i = top["anchor_index"]
        np.testing.assert_allclose(logits[i].tolist(), top["class_logits"], atol=1e-4)
        np.testing.assert_allclose(enc[i].tolist(), top["box_encoding_ty_tx_th_tw"], atol=1e-4)
        np.testing.assert_allclose(ssd.anchors[i].tolist(), top["anchor_ymin_xmin_ymax_xmax"], atol=1e-7)
        np.testing.assert_allclose(
            nhwc["decoded_boxes"][i].tolist(), top["decoded_ymin_xmin_ymax_xmax"], atol=1e-5
        )


@pytest.mark.parametrize("size", [416, 608])
@pytest.mark.parametrize("name", IMAGES)
def test_tiny_parity(tiny416, tiny608, name, size):
    det = tiny416 if size == 416 else tiny608
    image, ref = _load_checked(name)
    expected = ref["tiny_face_detector"][f"input{size}"]["detections"]
    result = det.detect(image, min_score=0.3)
    assert len(result.faces) == len(expected)
    np.testing.assert_allclose([f.box for f in result.faces], _xyxy(expected), rtol=0, atol=1.0)
    np.testing.assert_allclose(
        [f.score for f in result.faces], [d["score"] for d in expected], rtol=0, atol=1e-3
    )


def _assert_stats(name: str, value: torch.Tensor, ref: dict, atol: float) -> None:
    """Compare an NHWC-ordered tensor with a ``layer_stats`` entry of the references.

    Each entry holds shape, mean/std/min/max/absmean over all values, ``first8``
    (flat NHWC values 0..7), ``samples`` ([flat index, value] pairs) and, for 4-D
    maps, ``center`` (channels 0..7 at pixel (H/2, W/2)), at 8 significant digits.
    """
    assert list(value.shape) == ref["shape"], name
    flat = value.reshape(-1).to(torch.float64)
    std, mean = torch.std_mean(flat, correction=0)  # the references use the population std
    lo, hi = torch.aminmax(flat)
    got = {
        "mean": mean.item(),
        "std": std.item(),
        "min": lo.item(),
        "max": hi.item(),
        "absmean": flat.abs().mean().item(),
    }
    for key, val in got.items():
        assert val == pytest.approx(ref[key], abs=atol), f"{name}.{key}"
    np.testing.assert_allclose(flat[:8].tolist(), ref["first8"], atol=atol, err_msg=f"{name}.first8")
    idx = [i for i, _ in ref["samples"]]
    np.testing.assert_allclose(
        flat[idx].tolist(), [v for _, v in ref["samples"]], atol=atol, err_msg=f"{name}.samples"
    )
    if "center" in ref and value.dim() == 4:
        c = ref["center"]
        got_c = value[0, c["y"], c["x"]].reshape(-1)[: len(c["c0_8"])].tolist()
        np.testing.assert_allclose(got_c, c["c0_8"], atol=atol, err_msg=f"{name}.center")


def _ssd_taps(
    ssd: SsdDetector, image: np.ndarray
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Every SSD tensor the references summarise, NHWC-ordered under their names,
    plus the concatenated encodings ``(5118, 4)`` and logits ``(5118, 3)``."""
    x = ssd.preprocess(image)
    taps: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        enc, logits = ssd.model(x, taps)
    nhwc = {k: v.permute(0, 2, 3, 1) for k, v in taps.items()}
    nhwc["batch_tensor_512"] = detector_batch(image, 512).permute(0, 2, 3, 1)
    nhwc["input_normalized"] = x.permute(0, 2, 3, 1)
    for i in range(6):
        nhwc[f"box_predictor_{i}/box_encoding"] = enc[i].reshape(1, -1, 1, 4)
        nhwc[f"box_predictor_{i}/class_logits"] = logits[i]
    enc_all, logits_all = torch.cat(enc, 1), torch.cat(logits, 1)
    nhwc["raw_box_encodings"] = enc_all.reshape(1, -1, 1, 4)
    nhwc["raw_class_logits"] = logits_all
    nhwc["decoded_boxes"] = decode_boxes(enc_all[0], ssd.anchors)
    nhwc["scores"] = torch.sigmoid(logits_all[0, :, 1])
    return nhwc, enc_all[0], logits_all[0]


def test_ssd_layers(ssd):
    """The decoder-independent PNG input: every layer, the top anchors and the detections."""
    ref = _ref("layers_ssd.json")
    image = load_image(REF / "det_input.png")
    assert hashlib.md5(image.tobytes()).hexdigest() == ref["md5_rgb"]
    stats = ref["layer_stats"]
    nhwc, _, _ = _ssd_taps(ssd, image)
    assert set(stats) == set(nhwc), "every recorded layer is checked"
    for name, entry in stats.items():
        # measured worst: 1.8e-5 absolute (8-digit references, float32 noise)
        _assert_stats(name, nhwc[name], entry, atol=1e-4)
    for top in ref["top20_by_score"]:
        i = top["anchor_index"]
        assert nhwc["scores"][i].item() == pytest.approx(top["score"], abs=1e-5)
        np.testing.assert_allclose(nhwc["decoded_boxes"][i].tolist(), top["decoded"], atol=1e-5)
    result = ssd.detect(image, min_score=0.2)
    np.testing.assert_allclose([f.box for f in result.faces], _xyxy(ref["detections"]), atol=1e-2)


@pytest.mark.parametrize("size", [416, 608])
def test_tiny_layers(tiny416, tiny608, size):
    det = tiny416 if size == 416 else tiny608
    ref = _ref("layers_tiny_face_detector.json")
    run = ref["runs"][f"input{size}"]
    image = load_image(REF / "det_input.png")
    assert hashlib.md5(image.tobytes()).hexdigest() == ref["md5_rgb"]
    x = det.preprocess(image)
    taps: dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        out = det.model(x, taps)
    nhwc = {k: v.permute(0, 2, 3, 1) for k, v in taps.items()}
    nhwc["batch_tensor"] = detector_batch(image, size).permute(0, 2, 3, 1)
    nhwc["input_normalized"] = x.permute(0, 2, 3, 1)
    nhwc["conv8_raw_output"] = out.permute(0, 2, 3, 1)
    assert set(run["layer_stats"]) == set(nhwc), "every recorded layer is checked"
    for name, entry in run["layer_stats"].items():
        _assert_stats(name, nhwc[name], entry, atol=1e-4)  # measured worst 2.2e-5
    raw = nhwc["conv8_raw_output"][0]
    for cell in run["top15_cells"]:
        a = cell["anchor"]
        got = raw[cell["row"], cell["col"], 5 * a : 5 * a + 5].tolist()
        np.testing.assert_allclose(got, cell["raw_tx_ty_tw_th_conf"], atol=1e-4)
    result = det.detect(image, min_score=run["options"]["scoreThreshold"])
    np.testing.assert_allclose([f.box for f in result.faces], _xyxy(run["detections"]), atol=1e-2)
    np.testing.assert_allclose(
        [f.score for f in result.faces], [d["score"] for d in run["detections"]], atol=1e-5
    )

"""Parity of the faceres port (HSE FaceRec MobileNet) with the original runtime (tfjs 4.22 cpu in node).

The reference outputs in ``tests/data/faceres_ref.npz`` were made by
``tools/faceres_ref.py`` from seeded noise and from one aligned face of each
bundled sample, fed as HSE's BGR-minus-means input and as human's RGB 0..255
input. The port measures a largest absolute difference of 4.1e-6 on the
1024-d embeddings (values up to 2.5) and 2.6e-7 on the gender and age heads;
the tolerances are 2e-5 and 2e-6 (float32 summation order differs).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from core.io.imageio import load_image
from core.paths import REPO_ROOT, SAMPLES_DIR
from core.recognize.faceres_embedder import (
    DEFAULT_VIEWS,
    PREPROCESSING,
    FaceResEmbedder,
    faceres_chip,
    parse_views,
    views_name,
)

REF = np.load(REPO_ROOT / "tests" / "data" / "faceres_ref.npz")
EMBEDDING_TOL = 2e-5
HEAD_TOL = 2e-6


@pytest.fixture(scope="module")
def embedder() -> FaceResEmbedder:
    return FaceResEmbedder(device="cpu")


@pytest.fixture(scope="module")
def chips() -> np.ndarray:
    out = []
    for name, points, digest in zip(
        REF["sample_names"], REF["sample_points5"], REF["chip_sha256"], strict=True
    ):
        chip = faceres_chip(load_image(SAMPLES_DIR / str(name)), points).chip
        assert hashlib.sha256(chip.tobytes()).hexdigest() == str(digest), (
            f"{name}: the aligned chip differs from the one tfjs saw (another JPEG decoder or OpenCV?)"
        )
        out.append(chip)
    return np.stack(out)


def _check(embedder: FaceResEmbedder, nhwc: np.ndarray, case: str) -> None:
    assert hashlib.sha256(nhwc.tobytes()).hexdigest() == str(REF[f"{case}_input_sha256"])
    x = torch.from_numpy(nhwc).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        embedding = embedder.model(x)
        gender, age = embedder.model.heads(embedding)
    np.testing.assert_allclose(embedding.numpy(), REF[f"{case}_embedding"], rtol=0, atol=EMBEDDING_TOL)
    np.testing.assert_allclose(gender.numpy(), REF[f"{case}_gender"], rtol=0, atol=HEAD_TOL)
    np.testing.assert_allclose(age.numpy(), REF[f"{case}_age"], rtol=0, atol=HEAD_TOL)


def test_network_matches_tfjs_on_noise(embedder: FaceResEmbedder) -> None:
    noise = np.random.default_rng(20261207).random((2, 224, 224, 3), dtype=np.float32) * 256 - 128
    _check(embedder, noise, "noise")


@pytest.mark.parametrize("preprocessing", ["bgr_vggface2", "rgb255"])
def test_network_matches_tfjs_on_aligned_faces(
    embedder: FaceResEmbedder, chips: np.ndarray, preprocessing: str
) -> None:
    batch = torch.from_numpy(chips).permute(0, 3, 1, 2).to(torch.float32)
    nhwc = PREPROCESSING[preprocessing](batch).permute(0, 2, 3, 1).contiguous().numpy()
    _check(embedder, nhwc, f"chips_{preprocessing}")


def test_embedder_runs_the_default_input(embedder: FaceResEmbedder, chips: np.ndarray) -> None:
    assert embedder.preprocessing == "bgr_vggface2"
    np.testing.assert_allclose(
        embedder.embed_chips(chips), REF["chips_bgr_vggface2_embedding"], rtol=0, atol=EMBEDDING_TOL
    )


def test_float16_weights_are_stored_exactly() -> None:
    blob = torch.load(REPO_ROOT / "resources" / "models" / "faceres.pt", weights_only=True)
    assert {t.dtype for t in blob["tensors"].values()} == {torch.float16}


def test_depthwise_batch_norm_is_folded_into_the_kernel(embedder: FaceResEmbedder) -> None:
    # the graph's multiply-add after each depthwise conv lives in the conv's kernel and bias: one op, not three
    from core.zoo.weights import load_weights

    tensors, _ = load_weights("faceres")
    block = embedder.model.blocks[0]
    kernel = tensors["dw1/kernel"].float().permute(2, 3, 0, 1)
    scale = tensors["dw1/scale"].float().view(-1, 1, 1, 1)
    torch.testing.assert_close(block.dw.weight.detach(), kernel * scale)
    torch.testing.assert_close(block.dw.bias.detach(), tensors["dw1/offset"].float())
    assert not any("scale" in name or "offset" in name for name, _ in embedder.model.named_buffers())


def test_views_average_the_unit_embeddings_of_each_chip(embedder: FaceResEmbedder) -> None:
    # the embedding of several views is the mean of their unit embeddings: checked against chips made by hand
    ref_names, ref_points = REF["sample_names"], REF["sample_points5"]
    image, points = load_image(SAMPLES_DIR / str(ref_names[0])), ref_points[0]
    views = FaceResEmbedder(device="cpu", views=parse_views("1+1.3m"))
    plain, loose = faceres_chip(image, points).chip, faceres_chip(image, points, 1.3).chip
    by_hand = embedder.embed_chips(np.stack([plain, loose[:, ::-1].copy()]))
    by_hand /= np.linalg.norm(by_hand, axis=1, keepdims=True)
    np.testing.assert_allclose(views.embed(image, points[None])[0], by_hand.mean(axis=0), atol=1e-6)
    # one unmirrored view is the network's own output, and a face without points is NaN, not an error
    single = FaceResEmbedder(device="cpu", looseness=1.0)
    np.testing.assert_allclose(
        single.embed(image, points[None])[0], embedder.embed_chips(plain[None])[0], atol=1e-6
    )
    assert np.isnan(views.embed(image, np.full((1, 5, 2), np.nan))).all()
    assert views.view_chips(image, points[None])[0].shape == (2, 224, 224, 3)


@pytest.mark.parametrize("bad", ["", "1+", "x", "1.3mm", "0", "-1m"])
def test_a_malformed_view_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="view"):
        parse_views(bad)
    assert views_name(parse_views("1.0+1.0m+1.30")) == "1+1m+1.3"
    assert views_name(DEFAULT_VIEWS) == "1+1m+1.3+1.3m"

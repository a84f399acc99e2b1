"""The per-face runners' fused CPU path: the same outputs as the eager network, shared, opt-out."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.attributes.conv_cache import StemRunner
from core.attributes.features import FeatureExtractor, FrameFeatureRunner
from core.recognize.age_gender import AgeGenderEstimator
from core.recognize.embedder import Embedder
from core.recognize.expression import ExpressionClassifier
from core.recognize.faceres_embedder import FaceResEmbedder
from core.recognize.landmarker import Landmarker

RUNNERS = [
    Embedder,
    Landmarker,
    FaceResEmbedder,
    AgeGenderEstimator,
    ExpressionClassifier,
    StemRunner,
    FeatureExtractor,
]
# float rounding of the folded BatchNorms: outputs of magnitude ~1 agree to about 1e-5
# (measured 3e-7 .. 1.5e-5, the latter on the age in years)
TOLERANCE = 1e-4


def _as_tuple(out) -> tuple[torch.Tensor, ...]:
    return out if isinstance(out, tuple) else (out,)


@pytest.mark.parametrize("runner_cls", RUNNERS, ids=lambda c: c.__name__)
def test_fused_batches_equal_the_eager_network(runner_cls):
    runner = runner_cls(device="cpu")
    batch = torch.rand(3, 3, runner.input_size, runner.input_size, generator=torch.Generator().manual_seed(0))
    batch = batch * 255
    fused = _as_tuple(runner.forward_batch(batch))
    assert isinstance(runner.inference_network, torch.jit.ScriptModule), "the fused network was not built"
    eager = _as_tuple(runner_cls(device="cpu", fused=False).forward_batch(batch))
    for got, want in zip(fused, eager, strict=True):
        assert got.shape == want.shape
        scale = max(1.0, float(want.abs().max()))
        assert float((got - want).abs().max()) <= TOLERANCE * scale
    # a single face runs through the same traced graph (the batch size is not baked in)
    one = _as_tuple(runner.forward_batch(batch[1:2]))
    assert float((one[0][0] - fused[0][1]).abs().max()) <= TOLERANCE * max(1.0, float(fused[0].abs().max()))


def test_the_fused_network_is_shared_and_keyed_by_the_runners_builder():
    first, second = Embedder(device="cpu"), Embedder(device="cpu")
    assert first.inference_network is second.inference_network
    # the same weights file, a different network: each runner gets its own fused copy
    stem = StemRunner(device="cpu")
    assert stem.inference_network is not first.inference_network
    assert FeatureExtractor(device="cpu").inference_network is not first.inference_network


def test_a_runner_that_cannot_fuse_runs_eager_without_trying():
    runner = FrameFeatureRunner(device="cpu")
    assert runner.inference_network is runner.model


def test_opting_out_and_injected_models_run_eager():
    assert Embedder(device="cpu", fused=False).inference_network is Embedder(device="cpu", fused=False).model
    injected = Landmarker(device="cpu", fused=False).model
    runner = Landmarker(model=injected, device="cpu")
    assert runner.inference_network is runner.model
    assert isinstance(runner.model, nn.Module)

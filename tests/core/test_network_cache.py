"""The network cache: one network per (weights file, device, builder, variant), loaded once under threads."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from torch import nn

from core.zoo.cache import NETWORKS, NetworkCache, builder_name, load_network
from core.zoo.weights import WeightsError, save_weights

CALLS: list[str] = []


def _linear(tensors: dict[str, torch.Tensor]) -> nn.Module:
    CALLS.append("linear")
    time.sleep(0.05)  # a slow load: concurrent callers must wait for it, not start their own
    net = nn.Linear(2, 2)
    net.load_state_dict(tensors)
    return net


def _other(tensors: dict[str, torch.Tensor]) -> nn.Module:
    return _linear(tensors)


@pytest.fixture
def weights(tmp_path):
    CALLS.clear()
    path = tmp_path / "toy.pt"
    save_weights(path, tensors=nn.Linear(2, 2).state_dict(), sidecar={"regenerate": "nothing"})
    return path


def test_same_key_gives_the_same_network(weights):
    cache = NetworkCache()
    first = load_network(weights, _linear, "cpu", cache=cache)
    again = load_network(str(weights), _linear, torch.device("cpu"), cache=cache)
    assert again is first and CALLS == ["linear"] and len(cache) == 1
    assert not first.training  # eval mode


def test_builder_and_variant_tell_networks_apart(weights):
    cache = NetworkCache()
    base = load_network(weights, _linear, "cpu", cache=cache)
    assert load_network(weights, _other, "cpu", cache=cache) is not base
    assert load_network(weights, _linear, "cpu", variant="tiny", cache=cache) is not base
    assert len(cache) == 3


def test_concurrent_callers_load_once(weights):
    cache = NetworkCache()
    start = threading.Barrier(8)
    got: list[nn.Module] = []

    def worker() -> None:
        start.wait()
        got.append(load_network(weights, _linear, "cpu", cache=cache))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and all(net is got[0] for net in got)
    assert CALLS == ["linear"]


def test_a_failed_load_is_not_cached(weights):
    cache = NetworkCache()
    with pytest.raises(WeightsError, match="missing"):
        load_network(weights.with_name("absent.pt"), _linear, "cpu", cache=cache)
    assert len(cache) == 0
    assert load_network(weights, _linear, "cpu", cache=cache) is not None


def test_builder_name_of_a_bound_method_is_its_class_method():
    from core.recognize.embedder import Embedder

    assert builder_name(Embedder.build) == "core.recognize.embedder.Embedder.build"
    assert builder_name(_linear).endswith("test_network_cache._linear")


def test_detectors_and_runners_share_their_networks():
    from core.detect.registry import create_detector
    from core.recognize.landmarker import Landmarker

    a = create_detector("centerface", device="cpu", max_side=640)
    b = create_detector("centerface", device="cpu", max_side=128)
    assert a.model is b.model and a.max_side != b.max_side
    assert Landmarker(device="cpu").model is Landmarker(device="cpu").model
    assert Landmarker(device="cpu", tiny=True).model is not Landmarker(device="cpu").model
    assert len(NETWORKS) >= 3


def test_tensors_that_do_not_fit_the_builder_are_a_weights_error_naming_the_file(weights):
    def strict_builder(tensors):
        raise ValueError("does not fit the network (missing ['w'])")

    with pytest.raises(WeightsError, match="does not fit the network") as info:
        load_network(weights, strict_builder, "cpu", cache=NetworkCache())
    assert str(weights.resolve()) in str(info.value)

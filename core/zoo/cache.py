"""The network cache: every network built from a bundled weights file, loaded once per process.

Detectors, per-face runners (landmarks, descriptors, age/gender ...) and the
pipelines that chain them all ask :func:`load_network` for their network, so
two panels, two worker threads or two pipelines share one copy in memory
instead of each reading the file again. A network is keyed by the weights
file's resolved path, the device and the builder (plus an optional
``variant`` for builders that make different networks from one file).

Cached networks are shared: they are in eval mode and must be treated as
read-only (inference only). Training code builds its own networks.

The zoo stays below the model code: the caller passes the builder (a class or
function taking the tensors), so this module imports no architecture.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import torch
from torch import nn

from core.zoo.weights import load_weights, resolve

log = logging.getLogger(__name__)

Builder = Callable[[dict[str, torch.Tensor]], nn.Module]


@dataclass(frozen=True)
class NetworkKey:
    """What tells two cached networks apart.

    weights: resolved absolute path of the weights file.
    device: ``str(torch.device)``, e.g. ``"cpu"`` or ``"cuda:0"``.
    builder: module-qualified name of the builder.
    variant: anything else the caller says distinguishes the network.
    """

    weights: str
    device: str
    builder: str
    variant: Hashable = None


class NetworkCache:
    """Loaded networks by :class:`NetworkKey`; thread-safe, each key built at most once.

    One lock per key: two threads asking for the same network wait for one
    load, while different networks load in parallel.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._networks: dict[NetworkKey, nn.Module] = {}
        self._key_locks: dict[NetworkKey, threading.Lock] = {}

    def get(self, key: NetworkKey, load: Callable[[], nn.Module]) -> nn.Module:
        """The network under ``key``, calling ``load()`` (once) when there is none yet."""
        with self._lock:
            network = self._networks.get(key)
            if network is not None:
                return network
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                network = self._networks.get(key)
            if network is None:
                network = load()  # a failure leaves nothing behind: the next call tries again
                with self._lock:
                    self._networks[key] = network
                log.debug("loaded %s", key)
            return network

    def clear(self) -> None:
        """Forget every network (they are freed once no detector or runner holds them)."""
        with self._lock:
            self._networks.clear()
            self._key_locks.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._networks)


NETWORKS = NetworkCache()


def builder_name(build: Callable) -> str:
    """``module.qualname`` of a builder (a bound method counts as its function)."""
    func = getattr(build, "__func__", build)
    module = getattr(func, "__module__", type(func).__module__)
    qualname = getattr(func, "__qualname__", type(func).__qualname__)
    return f"{module}.{qualname}"


def network_key(
    weights: str | os.PathLike, build: Callable, device: torch.device, variant: Hashable = None
) -> NetworkKey:
    return NetworkKey(str(resolve(weights).resolve()), str(device), builder_name(build), variant)


def load_network(
    weights: str | os.PathLike,
    build: Builder,
    device: torch.device | str,
    *,
    variant: Hashable = None,
    cache: NetworkCache = NETWORKS,
) -> nn.Module:
    """The network ``build(tensors)`` makes from a weights file, in eval mode on ``device``.

    weights: a bundled name (``"centerface"``) or a ``.pt`` path, read by
        :func:`core.zoo.weights.load_weights` (which raises ``WeightsError``).
    build: tensors -> ``nn.Module`` (a class with such a constructor, a
        ``from_tfjs`` classmethod, a function); it may raise ``WeightsError``.
    variant: what else distinguishes networks built by one builder from one file.

    The network is channels_last in memory: oneDNN (CPU) and cuDNN run these
    depthwise/separable nets faster in NHWC (measured 1.1-3x per model on CPU).
    """
    device = torch.device(device)

    def load() -> nn.Module:
        tensors, _meta = load_weights(weights)
        return build(tensors).to(device, memory_format=torch.channels_last).eval()

    return cache.get(network_key(weights, build, device, variant), load)


__all__ = ["NETWORKS", "NetworkCache", "NetworkKey", "builder_name", "load_network", "network_key"]

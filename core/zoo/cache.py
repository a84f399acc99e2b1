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
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import torch
from torch import nn

from core.keyed_cache import KeyedCache
from core.zoo.weights import WeightsError, load_weights, read_sidecar, resolve

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


# Loaded networks by :class:`NetworkKey` (one build per key, see :class:`~core.keyed_cache.KeyedCache`).
NetworkCache = KeyedCache


NETWORKS: KeyedCache[NetworkKey, nn.Module] = KeyedCache()


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
    with_meta: bool = False,
    cache: KeyedCache[NetworkKey, nn.Module] = NETWORKS,
) -> nn.Module:
    """The network ``build(tensors)`` makes from a weights file, in eval mode on ``device``.

    weights: a bundled name (``"centerface"``) or a ``.pt`` path, read by
        :func:`core.zoo.weights.load_weights` (which raises ``WeightsError``).
    build: tensors -> ``nn.Module`` (a class with such a constructor, a
        ``from_tfjs`` classmethod, a function); a ``ValueError`` from it (tensors
        that do not fit) becomes a ``WeightsError`` naming the file.
    variant: what else distinguishes networks built by one builder from one file.
    with_meta: call ``build(tensors, meta)``, for networks whose architecture the file's
        meta describes (a trained model's configuration).

    The network is channels_last in memory: oneDNN (CPU) and cuDNN run these
    depthwise/separable nets faster in NHWC (measured 1.1-3x per model on CPU).
    """
    device = torch.device(device)

    def load() -> nn.Module:
        tensors, meta = load_weights(weights)
        try:
            network = build(tensors, meta) if with_meta else build(tensors)
        except ValueError as exc:  # tensors that do not fit the architecture: the file is at fault
            path = resolve(weights)
            raise WeightsError(path, str(exc), read_sidecar(path).get("regenerate")) from None
        network = network.to(device, memory_format=torch.channels_last).eval()
        log.debug("loaded %s on %s", weights, device)
        return network

    return cache.get(network_key(weights, build, device, variant), load)


__all__ = ["NETWORKS", "NetworkCache", "NetworkKey", "builder_name", "load_network", "network_key"]

"""Reader for TF.js weight manifests (``*-weights_manifest.json`` + ``.bin``).

Layout (tfjs-core ``io.decodeWeights``): the ``.bin`` holds the weights
concatenated in manifest order without padding. A quantised entry
(``quantization: {dtype: "uint8", scale, min}``) takes one byte per value;
an unquantised float32 entry four little-endian bytes; int32 four bytes; a
``float16``-"quantised" entry (``quantization: {dtype: "float16"}``, as
tfjs-converter's ``--quantize_float16`` writes) two little-endian bytes that
widen exactly to float32. A graph model's ``model.json`` embeds the same
manifest under ``weightsManifest``; :func:`read_manifest` accepts either file.
Shapes stay in TF layout (conv ``[kh, kw, cin, cout]``, depthwise
``[kh, kw, cin, 1]``, dense ``[in, out]``); converting to PyTorch layout is
the job of each model's converter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class TfjsTensor:
    """One manifest entry.

    values: the raw stored values — ``uint8`` when quantised, ``float16`` when
        stored as half floats, else ``float32`` or ``int32`` — reshaped to
        ``shape`` (TF layout).
    scale/minimum: per-tensor dequantisation parameters (``None`` when not
        quantised); real value = ``q * scale + min``.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    values: np.ndarray
    scale: float | None = None
    minimum: float | None = None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def dequantized(self) -> np.ndarray:
        """float32 (or int32) values as tfjs computes them (float64 math, one rounding)."""
        if not self.quantized:
            # float16 storage widens exactly (tfjs uses a lookup table: no rounding)
            return self.values.astype(np.float32) if self.values.dtype == np.float16 else self.values
        real = self.values.astype(np.float64) * self.scale + self.minimum
        if self.dtype == "int32":
            return np.asarray(np.round(real), dtype=np.int32)
        return np.asarray(real, dtype=np.float32)


def read_manifest(manifest_path: Path) -> dict[str, TfjsTensor]:
    """Read every weight of a TF.js model; keys are the manifest names, in order.

    manifest_path: a layers model's ``*-weights_manifest.json`` or a graph
    model's ``model.json`` (whose ``weightsManifest`` is used).
    """
    manifest_path = Path(manifest_path)
    groups = json.loads(manifest_path.read_text(encoding="utf-8"))
    if isinstance(groups, dict):
        groups = groups["weightsManifest"]
    tensors: dict[str, TfjsTensor] = {}
    for group in groups:
        data = b"".join((manifest_path.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            shape = tuple(int(s) for s in entry["shape"])
            count = math.prod(shape)
            quant = entry.get("quantization")
            if quant and quant["dtype"] == "float16":
                values = np.frombuffer(data, dtype="<f2", count=count, offset=offset)
                offset += 2 * count
                scale = minimum = None
            elif quant:
                if quant["dtype"] != "uint8":
                    raise ValueError(
                        f"{manifest_path}: {entry['name']}: unsupported quantisation {quant['dtype']}"
                    )
                values = np.frombuffer(data, dtype=np.uint8, count=count, offset=offset)
                offset += count
                scale, minimum = float(quant["scale"]), float(quant["min"])
            else:
                dtype = {"float32": "<f4", "int32": "<i4"}[entry["dtype"]]
                values = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
                offset += 4 * count
                scale = minimum = None
            tensors[entry["name"]] = TfjsTensor(
                entry["name"], shape, entry["dtype"], values.reshape(shape).copy(), scale, minimum
            )
        if offset != len(data):
            raise ValueError(
                f"{manifest_path}: manifest covers {offset} bytes, weight files hold {len(data)}"
            )
    return tensors

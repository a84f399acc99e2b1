"""The one container format for FaceScope's bundled weights.

A weights file ``resources/models/<name>.pt`` is a ``torch.save``'d dict that
``torch.load(..., weights_only=True)`` can read::

    {
      "format": "facescope-weights-v1",
      "meta": {str: str | int | float},            # provenance, architecture notes
      "tensors": {param_name: Tensor},             # float32 or float16
      "quantized": {param_name: {"q": uint8 Tensor, "scale": float, "min": float}},
    }

Quantised tensors keep face-api's per-tensor uint8 encoding (``q * scale +
min``, computed in float64 then rounded once to float32, exactly as tfjs
does), so the ports reproduce the originals bit for bit while the files stay
small. float16 tensors are widened to float32 on load.

Beside each file lies ``<name>.json`` (the *sidecar*): ``sha256`` of the
``.pt`` file, the source package, its sha256 and licence, and the command that
regenerates it. :func:`load_weights` checks the hash so that a corrupt or
half-written file gives a clear error naming the file and that command.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from pathlib import Path

import torch

from core.atomic import write_bytes_atomic
from core.paths import MODELS_DIR
from core.zoo.errors import WeightsError  # noqa: F401 - re-exported: callers import it from here

log = logging.getLogger(__name__)

FORMAT = "facescope-weights-v1"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def dequantize(q: torch.Tensor, scale: float, minimum: float) -> torch.Tensor:
    """tfjs ``decodeWeights``: ``q * scale + min`` in float64, rounded once to float32."""
    return (q.to(torch.float64) * scale + minimum).to(torch.float32)


def sidecar_path(weights_path: Path) -> Path:
    return weights_path.with_suffix(".json")


def read_sidecar(weights_path: Path) -> dict:
    side = sidecar_path(weights_path)
    if not side.exists():
        return {}
    try:
        return json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(weights_path, f"unreadable sidecar {side.name}: {exc}") from None


def resolve(name_or_path: str | os.PathLike) -> Path:
    """``"centerface"`` → ``resources/models/centerface.pt``; a path stays a path."""
    path = Path(name_or_path)
    if path.suffix == ".pt" or path.parent != Path("."):
        return path
    return MODELS_DIR / f"{name_or_path}.pt"


def load_weights(
    name_or_path: str | os.PathLike, verify: bool = True
) -> tuple[dict[str, torch.Tensor], dict]:
    """Load a bundled weights file as float32 tensors.

    Returns ``(tensors, meta)``. Raises :class:`WeightsError` when the file is
    missing, fails its sha256 check, or is not a FaceScope weights container.
    """
    path = resolve(name_or_path)
    sidecar = read_sidecar(path)
    regenerate = sidecar.get("regenerate")
    if not path.exists():
        raise WeightsError(path, "file is missing", regenerate)
    if verify and sidecar.get("sha256"):
        actual = sha256_of(path)
        if actual != sidecar["sha256"]:
            raise WeightsError(
                path,
                f"sha256 mismatch (file {actual[:12]}…, expected {sidecar['sha256'][:12]}…): corrupt or modified",
                regenerate,
            )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged zip
        raise WeightsError(path, f"cannot read ({type(exc).__name__}: {exc})", regenerate) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise WeightsError(path, f"not a {FORMAT} container", regenerate)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in blob.get("tensors", {}).items():
        tensors[key] = value.to(torch.float32) if value.is_floating_point() else value
    for key, packed in blob.get("quantized", {}).items():
        tensors[key] = dequantize(packed["q"], float(packed["scale"]), float(packed["min"]))
    return tensors, dict(blob.get("meta", {}))


def save_weights(
    path: Path,
    tensors: dict[str, torch.Tensor] | None = None,
    quantized: dict[str, tuple[torch.Tensor, float, float]] | None = None,
    meta: dict | None = None,
    sidecar: dict | None = None,
) -> str:
    """Write a container atomically (tmp file + ``os.replace``) and its sidecar.

    quantized maps a name to ``(q uint8, scale, min)``. Returns the sha256 of
    the written file, which is also stored in the sidecar.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": FORMAT,
        "meta": dict(meta or {}),
        "tensors": {k: v.contiguous().clone() for k, v in (tensors or {}).items()},
        "quantized": {
            k: {"q": q.to(torch.uint8).contiguous().clone(), "scale": float(s), "min": float(m)}
            for k, (q, s, m) in (quantized or {}).items()
        },
    }
    # Serialise in memory: torch.save names the zip's root folder after the file it
    # writes to, so saving straight to a random tmp name made every run's bytes (and sha256) differ.
    buffer = io.BytesIO()
    torch.save(blob, buffer)
    write_bytes_atomic(path, buffer.getvalue())
    digest = sha256_of(path)
    side = dict(sidecar or {})
    side["file"] = path.name
    side["sha256"] = digest
    sidecar_path(path).write_text(json.dumps(side, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("wrote %s (%d bytes, sha256 %s)", path, path.stat().st_size, digest)
    return digest

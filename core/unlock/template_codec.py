"""A template as the JSON payload of its signed file, and back (the store signs and checks it)."""

from __future__ import annotations

import base64
import math

import numpy as np

from core.unlock.template_data import EMBEDDING_DIMS, ModelInfo, TemplateCorrupt, UserTemplate, check_name


def _b64_array(arr: np.ndarray, dtype: str) -> str:
    return base64.b64encode(
        np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    ).decode()


def _array_b64(text: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = base64.b64decode(text.encode(), validate=True)
    arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    return arr.reshape(shape)


def template_to_payload(template: UserTemplate, store_id: str) -> dict:
    """What the HMAC covers: the user, the template id and the store id along with the descriptors."""
    return {
        "name": check_name(template.name),
        "template_id": template.template_id,
        "store_id": store_id,
        "created": float(template.created),
        "dream": bool(template.dream),
        "model": template.model.to_json(),
        "frames": template.frames,
        "dim": int(template.embeddings.shape[1]),
        "embeddings": _b64_array(template.embeddings, "float32"),
        "mean": _b64_array(template.mean, "float32"),
        "yaws": [None if not math.isfinite(float(y)) else round(float(y), 3) for y in template.yaws],
        "images": [base64.b64encode(b).decode() for b in template.images],
    }


def template_from_payload(payload: dict, file_name: str) -> UserTemplate:
    """The template of a verified payload; :class:`TemplateCorrupt` when a field is missing or malformed."""
    try:
        n, dim = int(payload["frames"]), int(payload["dim"])
        if dim not in EMBEDDING_DIMS or n < 1:
            raise ValueError(f"unexpected shape {n}x{dim}")
        yaws = np.array([math.nan if y is None else float(y) for y in payload.get("yaws", [])])
        return UserTemplate(
            name=check_name(payload["name"]),
            embeddings=_array_b64(payload["embeddings"], "float32", (n, dim)),
            model=ModelInfo.from_json(payload["model"]),
            dream=bool(payload["dream"]),
            created=float(payload["created"]),
            yaws=yaws if len(yaws) == n else None,
            images=[base64.b64decode(s) for s in payload.get("images", [])],
            template_id=str(payload["template_id"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TemplateCorrupt(
            f"{file_name} is not a valid template ({exc}): delete it and enrol again."
        ) from None

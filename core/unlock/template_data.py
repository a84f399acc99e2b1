"""Unlock templates as data: one enrolled user's descriptors, the model that made them, the errors.

A *template* holds what verification compares against: the descriptors of the
N enrolment frames (``(N, d)`` float32 unit rows, d the stem's width: 128 for
face-api, 1024 for faceres; after DREAM when it was used) and their
normalised mean (``(d,)``), plus the model identity that produced them (:class:`ModelInfo`: the sha256 of the descriptor weights from
their sidecar, and of the DREAM block when used), the creation time, and the
DREAM flag. Face crops are kept only when the user opts in (``images``).

The signed files and their store are :mod:`core.unlock.templates`; every
problem is a :class:`TemplateError` whose ``str()`` is a sentence for the user.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import UserError
from core.recognize.stems import STEMS, stem_spec

#: Embedding widths a template may have: that of the stem it was enrolled with.
EMBEDDING_DIMS = frozenset(spec.dim for spec in STEMS.values())
MAX_NAME = 64


# --- errors ------------------------------------------------------------------
class TemplateError(UserError):
    """Any template-store problem; ``str(exc)`` is a sentence fit for the user."""


class TemplateNotFound(TemplateError):
    """No user of that name in the store."""


class TemplateExists(TemplateError):
    """A user of that name is already enrolled (rename or delete first, or overwrite)."""


class TemplateCorrupt(TemplateError):
    """The file is not a readable template (truncated, not JSON, fields missing)."""


class TemplateTampered(TemplateError):
    """The file was written by this store but changed since (integrity check failed)."""


class TemplateForeign(TemplateError):
    """The file was written by another store (another key): refused."""


class TemplateModelMismatch(TemplateError):
    """Enrolled with another descriptor model (or DREAM block) than the one running now."""


class StoreKeyError(TemplateError):
    """The store's key file is missing or unreadable while templates exist."""


class TemplateNotLive(TemplateError):
    """A correctly signed file that the store's index does not list (deleted, replaced or copied back)."""


class TemplateMisplaced(TemplateError):
    """A signed file under another user's file name, or whose ids disagree with the index (swapped, copied)."""


class TemplateInsecure(TemplateError):
    """A template, key or index file that other users can read or write, or a store that is a symlink."""


class TemplateOutdated(TemplateError):
    """A template of an older store format (no template id or index): the user must enrol again."""


class StoreIndexError(TemplateError):
    """The signed index of live templates is tampered with or unreadable."""


class InvalidUserName(TemplateError):
    """An empty, too long or unprintable user name."""


# --- data --------------------------------------------------------------------
@dataclass(frozen=True)
class ModelInfo:
    """What produced a template's descriptors.

    model_id: ``"<stem weights>[<views>]@<sha256[:16]>"``, e.g. ``"faceres[1+1m+1.3+1.3m]@…"`` or
    ``"faceapi_face_recognition@…"`` (a stem of one chip names no views), + ``"+dream_faceapi@<sha256[:16]>"``
    when DREAM is on; two templates are comparable only with equal ids, so a store enrolled with one
    stem, or with the same weights seen through other views, refuses to match another.
    descriptor_sha256 / dream_sha256: full hashes from the weight sidecars (``""`` when DREAM is off).
    """

    model_id: str
    descriptor_sha256: str
    dream_sha256: str = ""

    def to_json(self) -> dict:
        return {
            "model_id": self.model_id,
            "descriptor_sha256": self.descriptor_sha256,
            "dream_sha256": self.dream_sha256,
        }

    @classmethod
    def from_json(cls, data: dict) -> ModelInfo:
        return cls(str(data["model_id"]), str(data["descriptor_sha256"]), str(data.get("dream_sha256", "")))


def current_model_info(use_dream: bool = True, stem: str = "faceapi") -> ModelInfo:
    """The :class:`ModelInfo` of a bundled stem (and its DREAM block): hashes from their sidecars."""
    # lazy: the weights reader imports torch, and the Unlock panel reads template data at start-up
    from core.zoo.weights import read_sidecar, resolve

    spec = stem_spec(stem)
    desc = str(read_sidecar(resolve(spec.weights)).get("sha256", ""))
    views = f"[{spec.views}]" if spec.views else ""
    model_id = f"{spec.weights}{views}@{desc[:16]}"
    dream = ""
    if use_dream and spec.has_dream:
        dream = str(read_sidecar(resolve(spec.dream_weights)).get("sha256", ""))
        model_id += f"+{spec.dream_weights}@{dream[:16]}"
    return ModelInfo(model_id, desc, dream)


def stem_of_model_id(model_id: str) -> str:
    """The stem whose weights a :attr:`ModelInfo.model_id` names (``"?"`` for none known)."""
    weights = model_id.split("@")[0].split("[")[0]
    return next((spec.name for spec in STEMS.values() if spec.weights == weights), "?")


@dataclass
class UserTemplate:
    """One enrolled user.

    name: display name (unique in a store, 1-64 printable characters).
    embeddings: ``(N, d)`` float32 unit rows, one per accepted enrolment frame
        (DREAM-mapped when ``dream``).
    mean: ``(d,)`` float32, the normalised mean of ``embeddings`` (what is matched).
    model: the descriptor (+ DREAM) identity, see :class:`ModelInfo`.
    created: Unix time of enrolment.
    dream: whether DREAM (by yaw) was applied to the descriptors.
    yaws: ``(N,)`` yaw in degrees of each enrolment frame (NaN unknown).
    images: PNG bytes of the enrolment face crops, only when the user opted in.
    template_id: random per enrolment, signed into the file and listed in the store's index
        (``""`` until the store saves it).
    """

    name: str
    embeddings: np.ndarray
    model: ModelInfo
    dream: bool
    created: float = field(default_factory=time.time)
    yaws: np.ndarray | None = None
    images: list[bytes] = field(default_factory=list)
    template_id: str = ""
    mean: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        emb = np.asarray(self.embeddings, dtype=np.float32)
        if emb.size == 0:
            raise ValueError("a template needs at least one finite embedding")
        emb = emb.reshape(-1, emb.shape[-1])
        if emb.shape[1] not in EMBEDDING_DIMS:
            raise ValueError(f"embeddings of width {emb.shape[1]} (stems give {sorted(EMBEDDING_DIMS)})")
        if len(emb) == 0 or not np.isfinite(emb).all():
            raise ValueError("a template needs at least one finite embedding")
        norms = np.linalg.norm(emb, axis=1, keepdims=True)
        self.embeddings = emb / np.maximum(norms, 1e-12)
        self.mean = mean_template(self.embeddings)
        self.yaws = (
            np.full(len(emb), np.nan) if self.yaws is None else np.asarray(self.yaws, np.float64).reshape(-1)
        )

    @property
    def frames(self) -> int:
        return len(self.embeddings)

    def summary(self) -> TemplateSummary:
        return TemplateSummary(
            self.name, self.frames, self.created, self.model.model_id, self.dream, len(self.images)
        )


def mean_template(embeddings: np.ndarray) -> np.ndarray:
    """``(N, d)`` unit rows → ``(d,)`` float32 unit mean (the vector a probe is compared with)."""
    mean = np.asarray(embeddings, dtype=np.float64).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class TemplateSummary:
    """What a user list shows (no embeddings)."""

    name: str
    frames: int
    created: float
    model_id: str
    dream: bool
    images: int = 0

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "frames": self.frames,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.created)),
            "model_id": self.model_id,
            "dream": self.dream,
            "images": self.images,
        }


@dataclass(frozen=True)
class StoreEntry:
    """One file of the store: its summary when it verifies, else the refusal."""

    path: Path
    summary: TemplateSummary | None
    error: TemplateError | None = None


# --- names and images ----------------------------------------------------------
def check_name(name: str) -> str:
    """A valid user name (stripped) or :class:`InvalidUserName`."""
    clean = str(name).strip()
    if not clean:
        raise InvalidUserName("A user name cannot be empty.")
    if len(clean) > MAX_NAME:
        raise InvalidUserName(f"A user name can have at most {MAX_NAME} characters.")
    if not clean.isprintable():
        raise InvalidUserName("A user name cannot contain control characters.")
    return clean


def encode_png(crop: np.ndarray) -> bytes:
    """An RGB uint8 crop as PNG bytes (for opted-in enrolment images)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(crop)).save(buf, format="PNG")
    return buf.getvalue()


def crops_to_png(crops: Sequence[np.ndarray]) -> list[bytes]:
    return [encode_png(c) for c in crops]

"""The unlock template store: one signed file per enrolled user, in a private folder.

The templates themselves (:class:`UserTemplate`, :class:`ModelInfo`, the
:class:`TemplateError` family) live in :mod:`core.unlock.template_data` and are
re-exported here, so ``from core.unlock.templates import ...`` gives the whole API.

On disk (``<store>/<slug>-<hash>.fstpl``, mode 0600, folder 0700)::

    {"format": "facescope-unlock-template", "version": 1,
     "payload": {...}, "hmac": "<hex HMAC-SHA256 of the canonical payload>"}

The HMAC key is a per-store random 32-byte file (``<store>/store.key``, 0600).
A file whose ``payload.store_id`` (a hash of the key) is not this store's is
*foreign* (copied from another machine or user); a file whose HMAC does not
match is *tampered*; anything unparseable is *corrupt*. Each is a typed
:class:`TemplateError` whose ``str()`` is a sentence for the user, never a
traceback. The HMAC protects against edits by anyone who cannot read the key
file, i.e. other users (0600) and files moved in from elsewhere; it does not
protect against the same OS user (who can read the key).

Every write is atomic (:mod:`core.atomic`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import os
import re
import secrets
import stat
from pathlib import Path

import numpy as np

from core.atomic import atomic_write
from core.paths import user_data_dir
from core.unlock.template_data import (
    EMBEDDING_DIM,
    MAX_NAME,
    InvalidUserName,
    ModelInfo,
    StoreEntry,
    StoreKeyError,
    TemplateCorrupt,
    TemplateError,
    TemplateExists,
    TemplateForeign,
    TemplateModelMismatch,
    TemplateNotFound,
    TemplateSummary,
    TemplateTampered,
    UserTemplate,
    check_name,
    crops_to_png,
    current_model_info,
    encode_png,
    mean_template,
)

__all__ = [
    "EMBEDDING_DIM",
    "MAX_NAME",
    "InvalidUserName",
    "ModelInfo",
    "StoreEntry",
    "StoreKeyError",
    "TemplateCorrupt",
    "TemplateError",
    "TemplateExists",
    "TemplateForeign",
    "TemplateModelMismatch",
    "TemplateNotFound",
    "TemplateStore",
    "TemplateSummary",
    "TemplateTampered",
    "UserTemplate",
    "canonical",
    "check_name",
    "crops_to_png",
    "current_model_info",
    "encode_png",
    "file_stem",
    "mean_template",
]

log = logging.getLogger(__name__)

FORMAT = "facescope-unlock-template"
VERSION = 1
SUFFIX = ".fstpl"
KEY_FILE = "store.key"
KEY_BYTES = 32
FILE_MODE = 0o600
DIR_MODE = 0o700


# --- encoding ----------------------------------------------------------------
def _b64_array(arr: np.ndarray, dtype: str) -> str:
    return base64.b64encode(
        np.ascontiguousarray(arr, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()
    ).decode()


def _array_b64(text: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    raw = base64.b64decode(text.encode(), validate=True)
    arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    return arr.reshape(shape)


def canonical(payload: dict) -> bytes:
    """The bytes the HMAC covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def file_stem(name: str) -> str:
    """File name stem: a readable slug plus a hash of the exact name (case and accents kept apart)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "user"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:10]}"


# --- the store ------------------------------------------------------------------
class TemplateStore:
    """A folder of signed templates (see module docstring).

    root: the folder (default ``user_data_dir() / "unlock"``); created 0700 if
    missing. An existing folder others can read is used, with a warning.
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else user_data_dir() / "unlock"
        if not self.root.exists():
            self.root.mkdir(parents=True, mode=DIR_MODE)
            os.chmod(self.root, DIR_MODE)  # mkdir's mode is masked by the umask
        elif not self.root.is_dir():
            raise TemplateError(f"The template store {self.root} is a file, not a folder.")
        else:
            mode = stat.S_IMODE(self.root.stat().st_mode)
            if mode & 0o077:
                log.warning("template store %s is readable by others (mode %o)", self.root, mode)
        self._key: bytes | None = None

    # --- key ---------------------------------------------------------------------
    @property
    def key_path(self) -> Path:
        return self.root / KEY_FILE

    def _load_key(self, create: bool) -> bytes:
        if self._key is not None:
            return self._key
        try:
            key = self.key_path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise StoreKeyError(
                    f"The key of the template store {self.root} is missing: its templates cannot be "
                    "verified any more. Delete them and enrol again."
                ) from None
            if self._files():
                raise StoreKeyError(
                    f"The key of the template store {self.root} is missing but templates are present: "
                    "they cannot be verified. Delete them and enrol again."
                ) from None
            key = secrets.token_bytes(KEY_BYTES)
            with atomic_write(self.key_path, "wb", permissions=FILE_MODE) as handle:
                handle.write(key)
        except OSError as exc:
            raise StoreKeyError(f"Cannot read the template store key {self.key_path}: {exc}") from None
        if len(key) != KEY_BYTES:
            raise StoreKeyError(
                f"The template store key {self.key_path} is damaged. Delete the store and enrol again."
            )
        self._key = key
        return key

    def store_id(self, create: bool = False) -> str:
        """A public fingerprint of the key (written into every template)."""
        return hashlib.sha256(b"facescope-unlock-store:" + self._load_key(create)).hexdigest()[:16]

    # --- files -------------------------------------------------------------------
    def _files(self) -> list[Path]:
        return sorted(p for p in self.root.glob(f"*{SUFFIX}") if p.is_file())

    def path_for(self, name: str) -> Path:
        return self.root / f"{file_stem(check_name(name))}{SUFFIX}"

    def entries(self) -> list[StoreEntry]:
        """Every template file with its summary or the reason it is refused (never raises on a bad file)."""
        out = []
        for path in self._files():
            try:
                out.append(StoreEntry(path, self.read(path).summary()))
            except TemplateError as exc:
                out.append(StoreEntry(path, None, exc))
        return out

    def list_users(self) -> list[TemplateSummary]:
        """Summaries of the templates that verify, by name (refused files are logged and skipped)."""
        good = []
        for entry in self.entries():
            if entry.summary is not None:
                good.append(entry.summary)
            else:
                log.warning("%s", entry.error)
        return sorted(good, key=lambda s: s.name.casefold())

    def names(self) -> list[str]:
        return [s.name for s in self.list_users()]

    def exists(self, name: str) -> bool:
        return self.path_for(name).exists()

    def load(self, name: str) -> UserTemplate:
        path = self.path_for(name)
        if not path.exists():
            raise TemplateNotFound(f"No enrolled user named {name!r} in {self.root}.")
        template = self.read(path)
        if template.name != check_name(name):
            raise TemplateCorrupt(f"{path.name} holds user {template.name!r}, not {name!r}.")
        return template

    def load_all(self, model: ModelInfo | None = None) -> tuple[list[UserTemplate], list[TemplateError]]:
        """``(templates that verify [and match model], refusals)``: a bad file never stops the others."""
        good: list[UserTemplate] = []
        bad: list[TemplateError] = []
        for path in self._files():
            try:
                template = self.read(path)
                if model is not None and template.model.model_id != model.model_id:
                    raise TemplateModelMismatch(
                        f"{template.name!r} was enrolled with {template.model.model_id}, but "
                        f"{model.model_id} is running: enrol {template.name!r} again."
                    )
                good.append(template)
            except TemplateError as exc:
                log.warning("%s", exc)
                bad.append(exc)
        return sorted(good, key=lambda t: t.name.casefold()), bad

    def save(self, template: UserTemplate, overwrite: bool = False) -> Path:
        """Sign and write ``template`` (0600, atomic); :class:`TemplateExists` unless ``overwrite``."""
        name = check_name(template.name)
        path = self.path_for(name)
        if path.exists() and not overwrite:
            raise TemplateExists(f"A user named {name!r} is already enrolled.")
        self._write(path, template)
        return path

    def delete(self, name: str) -> None:
        path = self.path_for(name)
        if not path.exists():
            raise TemplateNotFound(f"No enrolled user named {name!r} in {self.root}.")
        path.unlink()

    def rename(self, old: str, new: str) -> Path:
        """Rename a user (the template is re-signed under the new name; the old file goes last)."""
        template = self.load(old)
        new = check_name(new)
        old_path, new_path = self.path_for(old), self.path_for(new)
        if new_path.exists() and new_path != old_path:
            raise TemplateExists(f"A user named {new!r} is already enrolled.")
        template.name = new
        self._write(new_path, template)
        if new_path != old_path:
            old_path.unlink(missing_ok=True)
        return new_path

    # --- (de)serialisation ----------------------------------------------------------
    def _payload(self, template: UserTemplate) -> dict:
        n = template.frames
        return {
            "name": check_name(template.name),
            "created": float(template.created),
            "dream": bool(template.dream),
            "model": template.model.to_json(),
            "frames": n,
            "dim": EMBEDDING_DIM,
            "embeddings": _b64_array(template.embeddings, "float32"),
            "mean": _b64_array(template.mean, "float32"),
            "yaws": [None if not math.isfinite(float(y)) else round(float(y), 3) for y in template.yaws],
            "images": [base64.b64encode(b).decode() for b in template.images],
            "store_id": self.store_id(create=True),
        }

    def _write(self, path: Path, template: UserTemplate) -> None:
        payload = self._payload(template)
        mac = hmac.new(self._load_key(create=True), canonical(payload), hashlib.sha256).hexdigest()
        doc = {"format": FORMAT, "version": VERSION, "payload": payload, "hmac": mac}
        with atomic_write(path, "w", permissions=FILE_MODE) as handle:
            handle.write(json.dumps(doc, ensure_ascii=False))

    def read(self, path: str | os.PathLike) -> UserTemplate:
        """Read and verify one template file; every failure is a :class:`TemplateError`."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise TemplateNotFound(f"Template file {path.name} does not exist.") from None
        except OSError as exc:
            raise TemplateCorrupt(f"Cannot read template file {path.name}: {exc}") from None
        try:
            doc = json.loads(raw.decode("utf-8"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError("not a FaceScope unlock template")
            if doc.get("version") != VERSION:
                raise ValueError(f"format version {doc.get('version')!r} is not supported")
            payload, mac = doc["payload"], str(doc["hmac"])
            if not isinstance(payload, dict):
                raise ValueError("payload is not an object")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise TemplateCorrupt(
                f"{path.name} is not a valid template ({exc}): delete it and enrol again."
            ) from None
        label = payload.get("name") if isinstance(payload.get("name"), str) else path.name
        if payload.get("store_id") != self.store_id(create=False):
            raise TemplateForeign(
                f"The template of {label!r} ({path.name}) was not written by this store (copied from "
                "another machine or user): refused. Enrol again here."
            )
        expected = hmac.new(self._load_key(create=False), canonical(payload), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, mac):
            raise TemplateTampered(
                f"The template of {label!r} ({path.name}) was modified after it was saved: refused. "
                "Delete it and enrol again."
            )
        try:
            n, dim = int(payload["frames"]), int(payload["dim"])
            if dim != EMBEDDING_DIM or n < 1:
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
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TemplateCorrupt(
                f"{path.name} is not a valid template ({exc}): delete it and enrol again."
            ) from None

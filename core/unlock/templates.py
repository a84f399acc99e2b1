"""The unlock template store: one signed file per enrolled user, in a private folder.

The templates themselves (:class:`UserTemplate`, :class:`ModelInfo`, the
:class:`TemplateError` family) live in :mod:`core.unlock.template_data` and are
re-exported here, so ``from core.unlock.templates import ...`` gives the whole API.

On disk (``<store>/<slug>-<hash>.fstpl``, mode 0600, folder 0700)::

    {"format": "facescope-unlock-template", "version": 2,
     "payload": {...}, "hmac": "<hex HMAC-SHA256 of the canonical payload>"}

The HMAC key is a per-store random 32-byte file (``<store>/store.key``, 0600).
The signed payload binds the user name, a random *template id* (new at every
enrolment) and the *store id* (a hash of the key). A signed *index*
(``templates.index``: user → template id and file name) lists the live
templates, so a correctly signed file is still refused when the index does not
list it (deleted, replaced, copied back: :class:`TemplateNotLive`) or lists it
under another file name (swapped, renamed, copied: :class:`TemplateMisplaced`);
:meth:`TemplateStore.delete` removes the file holding the user's listed id,
whatever its name. Other refusals: another store's file (*foreign*), a changed
file (*tampered*), an unparseable one (*corrupt*), a version-1 file from before
the index (*outdated*: delete and enrol again; no migration, since a version-1
store may already hold swapped files), and a template, key or index file that
others can read or write, or a symlink (*insecure*). A store folder that is a
symlink is refused. Each is a typed :class:`TemplateError` whose ``str()`` is a
sentence for the user, never a traceback. The store also keeps the persisted
lockout (:mod:`core.unlock.lockout`). What this protects against and what it
does not: ADR 0013, "Threat model".

Every write is atomic (:mod:`core.atomic`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import stat
from pathlib import Path

from core.atomic import atomic_write
from core.paths import user_data_dir
from core.unlock.lockout import LOCKOUT_FILE, LockoutRecord, read_lockout, write_lockout
from core.unlock.signed_files import (
    FILE_MODE,
    canonical,
    check_private,
    read_signed,
    signature_matches,
    write_signed,
)
from core.unlock.store_index import check_live
from core.unlock.template_codec import template_from_payload, template_to_payload
from core.unlock.template_data import (
    EMBEDDING_DIMS,
    MAX_NAME,
    InvalidUserName,
    ModelInfo,
    StoreEntry,
    StoreIndexError,
    StoreKeyError,
    TemplateCorrupt,
    TemplateError,
    TemplateExists,
    TemplateForeign,
    TemplateInsecure,
    TemplateMisplaced,
    TemplateModelMismatch,
    TemplateNotFound,
    TemplateNotLive,
    TemplateOutdated,
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
    "EMBEDDING_DIMS",
    "MAX_NAME",
    "InvalidUserName",
    "LockoutRecord",
    "ModelInfo",
    "StoreEntry",
    "StoreIndexError",
    "StoreKeyError",
    "TemplateCorrupt",
    "TemplateError",
    "TemplateExists",
    "TemplateForeign",
    "TemplateInsecure",
    "TemplateMisplaced",
    "TemplateModelMismatch",
    "TemplateNotFound",
    "TemplateNotLive",
    "TemplateOutdated",
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
VERSION = 2  # 1: no template id and no index (refused: enrol again)
INDEX_FORMAT = "facescope-unlock-index"
INDEX_VERSION = 1
SUFFIX = ".fstpl"
KEY_FILE = "store.key"
INDEX_FILE = "templates.index"
KEY_BYTES = 32
DIR_MODE = 0o700


def file_stem(name: str) -> str:
    """File name stem: a readable slug plus a hash of the exact name (case and accents kept apart)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:24] or "user"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:10]}"


# --- the store ------------------------------------------------------------------
class TemplateStore:
    """A folder of signed templates and the signed index of live ones (see module docstring).

    root: the folder (default ``user_data_dir() / "unlock"``); created 0700 if
    missing. An existing folder others can read is used, with a warning; a
    folder that is a symlink is refused (:class:`TemplateInsecure`).
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else user_data_dir() / "unlock"
        if self.root.is_symlink():
            raise TemplateInsecure(
                f"The template store {self.root} is a symlink: refused. Point FaceScope at the real folder."
            )
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

    @property
    def index_path(self) -> Path:
        return self.root / INDEX_FILE

    def _load_key(self, create: bool) -> bytes:
        if self._key is not None:
            return self._key
        try:
            check_private(self.key_path, "template store key")
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

    # --- the index of live templates (user -> template id, file name) ---------------------
    def _index(self) -> dict[str, dict[str, str]]:
        """``{name: {"template_id", "file"}}``; a missing index is empty (a new or pre-index store)."""
        try:
            version, payload, mac = read_signed(self.index_path, INDEX_FORMAT, "template index")
        except FileNotFoundError:
            return {}
        except TemplateCorrupt as exc:
            raise StoreIndexError(f"{exc} (the template index of {self.root})") from None
        key, sid = self._load_key(create=False), self.store_id()
        users = payload.get("users")
        if version != INDEX_VERSION or payload.get("store_id") != sid or not isinstance(users, dict):
            raise StoreIndexError(
                f"The template index of {self.root} is not this store's: delete the store folder and enrol again."
            )
        if not signature_matches(key, payload, mac):
            raise StoreIndexError(
                f"The template index of {self.root} was modified after it was saved: refused. "
                "Delete the store folder and enrol again."
            )
        return {str(name): dict(entry) for name, entry in users.items() if isinstance(entry, dict)}

    def _save_index(self, users: dict[str, dict[str, str]]) -> None:
        payload = {"store_id": self.store_id(create=True), "users": users}
        write_signed(self.index_path, self._load_key(create=True), INDEX_FORMAT, INDEX_VERSION, payload)

    # --- the persisted lockout ---------------------------------------------------------
    def read_lockout(self) -> LockoutRecord:
        """Failed attempts and the lockout's end (wall clock); a bad record raises a :class:`TemplateError`."""
        return read_lockout(self.root / LOCKOUT_FILE, self._load_key(create=False), self.store_id())

    def write_lockout(self, record: LockoutRecord) -> None:
        write_lockout(self.root / LOCKOUT_FILE, self._load_key(create=True), self.store_id(True), record)

    # --- files -------------------------------------------------------------------
    def _files(self) -> list[Path]:
        return sorted(p for p in self.root.glob(f"*{SUFFIX}") if p.is_file() or p.is_symlink())

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
        return check_name(name) in self._index() or self.path_for(name).exists()

    def load(self, name: str) -> UserTemplate:
        name, path = check_name(name), self.path_for(name)
        if name not in self._index() and not (path.exists() or path.is_symlink()):
            raise TemplateNotFound(f"No enrolled user named {name!r} in {self.root}.")
        return self.read(path)  # an unlisted file is read for the reason it is refused

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
        """Sign and write ``template`` under a new template id, then list it in the index.

        :class:`TemplateExists` unless ``overwrite``. The file is written first: a crash in
        between leaves a file the index does not list (refused), never a listed file that is missing.
        """
        name = check_name(template.name)
        index = self._index()
        path = self.path_for(name)
        if (name in index or path.exists()) and not overwrite:
            raise TemplateExists(f"A user named {name!r} is already enrolled.")
        template.name, template.template_id = name, secrets.token_hex(16)
        self._write(path, template)
        index[name] = {"template_id": template.template_id, "file": path.name}
        self._save_index(index)
        return path

    def delete(self, name: str) -> None:
        """Delete the file that holds ``name``'s live template id, whatever its file name, and its index entry.

        A file under ``name``'s file name that the index does not list (an older format, a
        leftover) is removed too, so ``delete`` then enrol is always the way out.
        """
        name = check_name(name)
        index = self._index()
        entry = index.pop(name, None)
        stray = self.path_for(name)
        if entry is None:
            live_ids = {e.get("template_id") for e in index.values()}
            if (stray.exists() or stray.is_symlink()) and self._signed_template_id(stray) not in live_ids:
                stray.unlink()  # never another user's live template that was moved here
                return
            raise TemplateNotFound(f"No enrolled user named {name!r} in {self.root}.")
        for path in self._files():
            if self._signed_template_id(path) == entry.get("template_id"):
                path.unlink()
        self._save_index(index)

    def rename(self, old: str, new: str) -> Path:
        """Rename a user (the template keeps its id, is re-signed under the new name; the old file goes last)."""
        template = self.load(old)
        old, new = check_name(old), check_name(new)
        index = self._index()
        old_path, new_path = self.path_for(old), self.path_for(new)
        if (new in index or new_path.exists()) and new_path != old_path:
            raise TemplateExists(f"A user named {new!r} is already enrolled.")
        template.name = new
        self._write(new_path, template)
        index.pop(old, None)
        index[new] = {"template_id": template.template_id, "file": new_path.name}
        self._save_index(index)
        if new_path != old_path:
            old_path.unlink(missing_ok=True)
        return new_path

    # --- (de)serialisation ----------------------------------------------------------
    def _write(self, path: Path, template: UserTemplate) -> None:
        payload = template_to_payload(template, self.store_id(create=True))
        write_signed(path, self._load_key(create=True), FORMAT, VERSION, payload)

    def _signed_template_id(self, path: Path) -> str | None:
        """The template id of a file this store signed (wherever it lies), else ``None``."""
        try:
            _, payload, mac = read_signed(path, FORMAT, "template")
        except (OSError, TemplateError):
            return None
        if not signature_matches(self._load_key(create=False), payload, mac):
            return None
        return str(payload.get("template_id", "")) or None

    def _verified_payload(self, path: Path) -> dict:
        """The payload of a template file, checked: private, this format, this store, signature, live."""
        try:
            version, payload, mac = read_signed(path, FORMAT, "template")
        except FileNotFoundError:
            raise TemplateNotFound(f"Template file {path.name} does not exist.") from None
        label = payload.get("name") if isinstance(payload.get("name"), str) else path.name
        if version == 1:
            raise TemplateOutdated(
                f"The template of {label!r} ({path.name}) was saved by an older FaceScope that could not "
                f"tell swapped or deleted files apart: refused. Run `unlock --delete {label}` and enrol again."
            )
        if version != VERSION:
            raise TemplateCorrupt(
                f"{path.name} has template format version {version!r}, which is not supported."
            )
        if payload.get("store_id") != self.store_id(create=False):
            raise TemplateForeign(
                f"The template of {label!r} ({path.name}) was not written by this store (copied from "
                "another machine or user): refused. Enrol again here."
            )
        if not signature_matches(self._load_key(create=False), payload, mac):
            raise TemplateTampered(
                f"The template of {label!r} ({path.name}) was modified after it was saved: refused. "
                "Delete it and enrol again."
            )
        expected = self.path_for(label).name if label != path.name else None
        check_live(self._index(), path.name, expected, label, str(payload.get("template_id", "")))
        return payload

    def read(self, path: str | os.PathLike) -> UserTemplate:
        """Read and verify one template file; every failure is a :class:`TemplateError`."""
        path = Path(path)
        return template_from_payload(self._verified_payload(path), path.name)

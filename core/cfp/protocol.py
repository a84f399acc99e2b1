"""The CFP (Celebrities in Frontal-Profile) layout and its verification protocol.

A CFP root holds::

    Data/Images/NNN/frontal/KK.jpg, Data/Images/NNN/profile/KK.jpg
    Protocol/image_list_F.txt         # "1 Data/Images/001/frontal/01.jpg" (1-based index, path)
    Protocol/image_list_P.txt         # (upstream calls them Pair_list_F/P; both names are read)
    Protocol/Split/FF/NN/same.txt     # "i,j": 1-based indices into image_list_F, both sides
    Protocol/Split/FP/NN/diff.txt     # for FP the second index points into image_list_P

Each fold has 350 ``same`` and 350 ``diff`` pairs; fold k of the official
release holds identities ``50(k-1)+1 … 50k``. Images are addressed here by a
*key*: the path relative to the root (``"Data/Images/001/frontal/01.jpg"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import UserError

PROTOCOLS = ("FF", "FP")
_ID_RE = re.compile(r"(\d+)[/\\](frontal|profile)[/\\]")


class CfpError(UserError, ValueError):
    """A CFP file is missing or malformed; the message names the file (and line)."""


def read_image_list(path: Path) -> list[str]:
    """``image_list_{F,P}.txt`` → keys in index order (index ``i`` is ``keys[i - 1]``).

    Lines are ``"<index> <relative path>"`` with indices 1, 2, 3 … in order.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CfpError(f"cannot read {path}: {exc}") from None
    keys: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not parts[0].isdigit():
            raise CfpError(f"{path}:{number}: expected '<index> <path>', got {line!r}")
        if int(parts[0]) != len(keys) + 1:
            raise CfpError(f"{path}:{number}: index {parts[0]} out of order (expected {len(keys) + 1})")
        keys.append(parts[1].strip().replace("\\", "/"))
    return keys


def read_pairs(path: Path) -> np.ndarray:
    """``same.txt`` / ``diff.txt`` → ``(N, 2)`` int64 of 1-based indices."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CfpError(f"cannot read {path}: {exc}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.replace(" ", "").split(",")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise CfpError(f"{path}:{number}: expected 'i,j', got {line!r}")
        rows.append((int(parts[0]), int(parts[1])))
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def identity_of(key: str) -> int:
    """``"Data/Images/017/profile/02.jpg"`` → 17."""
    match = _ID_RE.search(key)
    if match is None:
        raise CfpError(f"cannot read an identity from {key!r}")
    return int(match.group(1))


def is_profile_key(key: str) -> bool:
    return "/profile/" in key.replace("\\", "/")


@dataclass(frozen=True)
class Fold:
    """One fold of a protocol: pairs as image keys, label 1 = same person."""

    protocol: str
    number: int
    keys_a: tuple[str, ...]
    keys_b: tuple[str, ...]
    labels: np.ndarray  # (N,) int8, 1 same, 0 different

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class CfpProtocol:
    """A CFP root: the two image lists and the folds present on disk."""

    root: Path
    frontal: tuple[str, ...]
    profile: tuple[str, ...]

    @classmethod
    def open(cls, root: str | Path) -> CfpProtocol:
        root = Path(root)
        proto = root / "Protocol"
        if not proto.is_dir():
            raise CfpError(f"{root}: no Protocol/ folder (is this a CFP root?)")

        def first(*names: str) -> Path:
            for name in names:
                if (proto / name).exists():
                    return proto / name
            raise CfpError(f"{proto}: none of {', '.join(names)}")

        frontal = read_image_list(first("image_list_F.txt", "Pair_list_F.txt"))
        profile = read_image_list(first("image_list_P.txt", "Pair_list_P.txt"))
        return cls(root, tuple(frontal), tuple(profile))

    def folds(self, protocol: str) -> list[int]:
        """Fold numbers present under ``Protocol/Split/<protocol>/`` (sorted)."""
        base = self.root / "Protocol" / "Split" / _check(protocol)
        if not base.is_dir():
            return []
        return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())

    def fold(self, protocol: str, number: int) -> Fold:
        """Read one fold (``same`` pairs first, then ``diff``)."""
        protocol = _check(protocol)
        folder = self.root / "Protocol" / "Split" / protocol / f"{number:02d}"
        same, diff = read_pairs(folder / "same.txt"), read_pairs(folder / "diff.txt")
        second = self.profile if protocol == "FP" else self.frontal
        keys_a, keys_b = [], []
        for name, pairs in (("same", same), ("diff", diff)):
            for i, j in pairs:
                if not (1 <= i <= len(self.frontal) and 1 <= j <= len(second)):
                    raise CfpError(f"{folder / (name + '.txt')}: pair {i},{j} outside the image lists")
                keys_a.append(self.frontal[i - 1])
                keys_b.append(second[j - 1])
        labels = np.concatenate([np.ones(len(same), np.int8), np.zeros(len(diff), np.int8)])
        return Fold(protocol, number, tuple(keys_a), tuple(keys_b), labels)

    def path(self, key: str) -> Path:
        return self.root / key

    def existing_keys(self) -> list[str]:
        """Frontal then profile keys whose image file exists (a partial copy lacks some)."""
        return [k for k in (*self.frontal, *self.profile) if (self.root / k).is_file()]

    def keys_of_identities(self, identities: set[int]) -> list[str]:
        return [k for k in self.existing_keys() if identity_of(k) in identities]


def fold_identities(fold: int, per_fold: int = 50) -> range:
    """Identities of official fold ``fold`` (1-based): ``50(k-1)+1 … 50k``."""
    return range(per_fold * (fold - 1) + 1, per_fold * fold + 1)


def parse_folds(text: str) -> list[int]:
    """``"1-8"``, ``"9"``, ``"1,3,5-7"`` → sorted unique fold numbers."""
    out: set[int] = set()
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            out.update(range(int(lo), int(hi) + 1) if sep else [int(lo)])
        except ValueError:
            raise CfpError(f"bad fold list {text!r} (use e.g. 1-8 or 1,2,9)") from None
    if not out or min(out) < 1:
        raise CfpError(f"bad fold list {text!r} (folds are 1-based)")
    return sorted(out)


def _check(protocol: str) -> str:
    protocol = protocol.upper()
    if protocol not in PROTOCOLS:
        raise CfpError(f"protocol must be FF or FP, got {protocol!r}")
    return protocol

"""A tiny MAT v5 writer for tests: builds eval_tools-like ``.mat`` files without SciPy or ../shared.

Values: ``Cell(items, shape)`` (column-major items), ``str`` (char row),
NumPy arrays (int32, uint8, double; ``stored_as`` lets a double be stored with
a smaller integer type, as MATLAB does for ``gt_list``).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from core.wider.attributes import ATTRIBUTE_NAMES

_MI = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6, "f4": 7, "f8": 9}
_MX = {"f8": 6, "f4": 7, "i1": 8, "u1": 9, "i2": 10, "u2": 11, "i4": 12, "u4": 13}


@dataclass
class Cell:
    items: list
    shape: tuple[int, int]

    @classmethod
    def column(cls, items: list) -> Cell:
        return cls(items, (len(items), 1))


@dataclass
class Stored:
    """A double array written with a narrower integer data type."""

    values: np.ndarray
    stored_as: str


def _element(mtype: int, payload: bytes) -> bytes:
    if 0 < len(payload) <= 4:  # small data element format
        return struct.pack("<HH", mtype, len(payload)) + payload.ljust(4, b"\0")
    return struct.pack("<II", mtype, len(payload)) + payload + b"\0" * (-len(payload) % 8)


def _matrix(value, name: str = "") -> bytes:
    if isinstance(value, Cell):
        flags, dims = 1, value.shape
        data = b"".join(_element(14, _matrix(v)) for v in value.items)
    elif isinstance(value, str):
        flags, dims = 4, (1, len(value))
        data = _element(4, np.array([ord(c) for c in value], dtype="<u2").tobytes())
    else:
        stored = None
        if isinstance(value, Stored):
            stored, value = value.stored_as, value.values
        arr = np.asarray(value)
        code = arr.dtype.str[1:]
        flags, dims = _MX[code], arr.shape if arr.ndim == 2 else (arr.size, 1)
        raw = arr.astype(stored or code).reshape(-1, order="F")
        data = (
            _element(_MI[stored or code], raw.astype("<" + (stored or code)).tobytes()) if arr.size else b""
        )
    header = _element(6, struct.pack("<II", flags, 0))
    header += _element(5, struct.pack(f"<{len(dims)}i", *dims))
    header += _element(1, name.encode())
    return header + data


def write_mat(path, variables: dict, compress: bool = True) -> None:
    out = bytearray(b"MATLAB 5.0 MAT-file, written by FaceScope tests".ljust(116, b" "))
    out += b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM"
    for name, value in variables.items():
        element = _element(14, _matrix(value, name))
        if compress:
            packed = zlib.compress(element)
            out += struct.pack("<II", 15, len(packed)) + packed
        else:
            out += element
    with open(path, "wb") as handle:
        handle.write(bytes(out))


# two events; event 2 has an image without faces (placeholder row, as in the real .mat)
EVENTS = ["0--Parade", "1--Handshaking"]
FILES = [["0_Parade_a_1", "0_Parade_b_2"], ["1_Handshaking_c_3"]]
BOXES = [
    [
        np.array([[10, 20, 30, 40], [100, 100, 12, 14]], dtype=np.int32),
        np.array([[5, 5, 50, 60]], dtype=np.int32),
    ],
    [np.zeros((1, 4), dtype=np.int32)],
]
KEEP = {"easy": [[[1], []], [[]]], "medium": [[[1, 2], [1]], [[]]], "hard": [[[1, 2], [1]], [[]]]}


def write_eval_tools(folder, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    common = {
        "event_list": Cell.column(EVENTS),
        "file_list": Cell.column([Cell.column(f) for f in FILES]),
        "face_bbx_list": Cell.column([Cell.column(b) for b in BOXES]),
    }
    for col, attr in enumerate(ATTRIBUTE_NAMES):
        common[f"{attr}_label_list"] = Cell.column(
            [Cell.column([np.full((len(b), 1), col % 2, dtype=np.uint8) for b in ev]) for ev in BOXES]
        )
    write_mat(folder / "wider_face_val.mat", common, compress)
    for setting, keep in KEEP.items():
        gt_list = Cell.column(
            [
                Cell.column([Stored(np.array(k, dtype=np.float64).reshape(-1, 1), "u1") for k in ev])
                for ev in keep
            ]
        )
        write_mat(folder / f"wider_{setting}_val.mat", {**common, "gt_list": gt_list}, compress)
    return folder

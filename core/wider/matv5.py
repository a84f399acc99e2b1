"""A small reader for MATLAB level-5 ``.mat`` files (the eval_tools ground truth).

The WIDER FACE eval_tools ship their ground truth as MAT v5 files (zlib
compressed cells of int32 boxes, uint8 attribute codes and char names). This
module reads exactly that subset: numeric and logical arrays, char arrays,
cell arrays and structs, little- or big-endian, compressed or not. Sparse,
complex and object arrays raise :class:`MatFormatError`; so do v7.3 (HDF5)
files. It keeps SciPy out of FaceScope's dependencies for four files (the
tests cross-check it against ``scipy.io.loadmat`` when SciPy is installed).

Values come back as NumPy arrays in MATLAB's class (``int32`` stays
``int32``: the official overlap arithmetic depends on it), shaped as in
MATLAB (column-major data, ``order="F"``); char arrays come back as ``str``
(one row) or a list of row strings; cells as NumPy object arrays.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from core.errors import FormatError

# data element types (MAT-file format, table 1-1)
_MI_DTYPES = {
    1: "i1",
    2: "u1",
    3: "i2",
    4: "u2",
    5: "i4",
    6: "u4",
    7: "f4",
    9: "f8",
    12: "i8",
    13: "u8",
    16: "u1",  # miUTF8
    17: "u2",  # miUTF16
    18: "u4",  # miUTF32
}
_MI_MATRIX = 14
_MI_COMPRESSED = 15

# array classes -> NumPy dtype of the value
_MX_CLASSES = {
    6: "f8",
    7: "f4",
    8: "i1",
    9: "u1",
    10: "i2",
    11: "u2",
    12: "i4",
    13: "u4",
    14: "i8",
    15: "u8",
}
_MX_CELL, _MX_STRUCT, _MX_OBJECT, _MX_CHAR, _MX_SPARSE = 1, 2, 3, 4, 5


class MatFormatError(FormatError, ValueError):
    """A ``.mat`` file could not be read (names the file and the reason)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _element(buf: memoryview, pos: int, e: str, path: str) -> tuple[int, int, int, int]:
    """Locate the data element at ``pos``: (type, data start, data end, next element position)."""
    if pos + 8 > len(buf):
        raise MatFormatError(path, "truncated data element tag")
    first, second = struct.unpack_from(e + "II", buf, pos)
    if first >> 16:  # small data element: type and size packed in 4 bytes, data in the next 4
        return first & 0xFFFF, pos + 4, pos + 4 + (first >> 16), pos + 8
    start, end = pos + 8, pos + 8 + second
    if end > len(buf):
        raise MatFormatError(path, "truncated data element")
    # elements are padded to 8 bytes, except compressed ones
    return first, start, end, end if first == _MI_COMPRESSED else end + (-second % 8)


def _numeric(buf: memoryview, mtype: int, start: int, end: int, e: str, path: str) -> np.ndarray:
    code = _MI_DTYPES.get(mtype)
    if code is None:
        raise MatFormatError(path, f"unsupported data type {mtype}")
    return np.frombuffer(buf[start:end], dtype=np.dtype(code).newbyteorder(e))


def _ints(buf: memoryview, mtype: int, start: int, end: int, e: str) -> tuple[int, ...]:
    """Small int32/uint32 vectors (flags, dimensions) without NumPy: this is the hot path."""
    return struct.unpack_from(f"{e}{(end - start) // 4}{'i' if mtype == 5 else 'I'}", buf, start)


def _parse_matrix(buf: memoryview, e: str, path: str) -> tuple[str, object]:
    """Parse one miMATRIX payload (``buf`` = its bytes) into (variable name, value)."""
    if len(buf) == 0:  # an empty cell slot is stored as an empty matrix element
        return "", np.zeros((0, 0))
    # Header: array flags (always an 8-byte miUINT32 element), dimensions
    # (miINT32, at least 2 of them), then the name; unpacked directly because
    # this runs once per cell (~26,000 times per eval_tools file).
    try:
        _ftype, _fbytes, flags, _ = struct.unpack_from(e + "IIII", buf, 0)
        _dtype, dbytes = struct.unpack_from(e + "II", buf, 16)
        dims = struct.unpack_from(f"{e}{dbytes // 4}i", buf, 24)
    except struct.error:
        raise MatFormatError(path, "truncated matrix header") from None
    mx_class = flags & 0xFF
    is_complex, is_logical = bool(flags & 0x800), bool(flags & 0x200)
    mtype, a, b, pos = _element(buf, 24 + dbytes + (-dbytes % 8), e, path)
    name = bytes(buf[a:b]).decode("latin-1") if b > a else ""
    count = 1
    for d in dims:
        count *= d
    if mx_class == _MX_CELL:
        cells = np.empty(count, dtype=object)
        for k in range(count):
            mtype, a, b, pos = _element(buf, pos, e, path)
            if mtype != _MI_MATRIX:
                raise MatFormatError(path, f"cell element of type {mtype}, expected a matrix")
            cells[k] = _parse_matrix(buf[a:b], e, path)[1]
        return name, cells.reshape(dims, order="F")
    if mx_class == _MX_STRUCT:
        mtype, a, b, pos = _element(buf, pos, e, path)
        field_len = _ints(buf, mtype, a, b, e)[0]
        mtype, a, b, pos = _element(buf, pos, e, path)
        raw = bytes(buf[a:b])
        fields = [
            raw[i : i + field_len].split(b"\0", 1)[0].decode("latin-1") for i in range(0, len(raw), field_len)
        ]
        records = []
        for _ in range(count):
            record = {}
            for fname in fields:
                mtype, a, b, pos = _element(buf, pos, e, path)
                record[fname] = _parse_matrix(buf[a:b], e, path)[1]
            records.append(record)
        out = np.empty(count, dtype=object)
        out[:] = records
        return name, out.reshape(dims, order="F")
    if mx_class in (_MX_OBJECT, _MX_SPARSE) or is_complex:
        raise MatFormatError(path, f"variable {name!r}: sparse, complex and object arrays are not supported")
    if mx_class == _MX_CHAR:
        if count == 0:
            return name, ""
        mtype, a, b, pos = _element(buf, pos, e, path)
        codes = _numeric(buf, mtype, a, b, e, path)
        if mtype == 16 and codes.size != count:  # UTF-8 with multi-byte characters
            text = bytes(buf[a:b]).decode("utf-8")
            codes = np.fromiter(map(ord, text), dtype=np.uint32)
        grid = codes.astype(np.uint32).reshape(dims, order="F").reshape(dims[0], -1)
        rows = ["".join(map(chr, row)) for row in grid.tolist()]
        return name, rows[0] if len(rows) == 1 else rows
    if mx_class not in _MX_CLASSES:
        raise MatFormatError(path, f"variable {name!r}: unknown array class {mx_class}")
    dtype = np.bool_ if is_logical else np.dtype(_MX_CLASSES[mx_class])
    if count == 0:
        return name, np.zeros(dims, dtype=dtype)
    mtype, a, b, pos = _element(buf, pos, e, path)
    values = _numeric(buf, mtype, a, b, e, path)
    if values.size != count:
        raise MatFormatError(path, f"variable {name!r}: {values.size} values for dimensions {dims}")
    return name, values.astype(dtype).reshape(dims, order="F")


def _compressed_name(payload: memoryview, e: str) -> str | None:
    """The variable name of a compressed element, inflating only its first bytes."""
    try:
        head = zlib.decompressobj().decompress(payload, 512)
        _mtype, _n, _ft, _fb, _f, _ = struct.unpack_from(e + "IIIIII", head, 0)
        _dt, dbytes = struct.unpack_from(e + "II", head, 24)
        pos = 32 + dbytes + (-dbytes % 8)
        first, second = struct.unpack_from(e + "II", head, pos)
        if first >> 16:
            return bytes(head[pos + 4 : pos + 4 + (first >> 16)]).decode("latin-1")
        return bytes(head[pos + 8 : pos + 8 + second]).decode("latin-1")
    except (zlib.error, struct.error, UnicodeDecodeError):
        return None  # let the full parse report the problem


def load_mat(path: str | os.PathLike, variables: set[str] | None = None) -> dict[str, object]:
    """Read the variables of a MAT v5 file into ``{name: value}`` (see module doc).

    variables: only these names are parsed (others are skipped without being
        decompressed beyond their header), ``None`` for all.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MatFormatError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) < 128:
        raise MatFormatError(path, "too short for a MAT-file header")
    if data[:19] == b"MATLAB 7.3 MAT-file" or data[128:132] == b"\x89HDF":
        raise MatFormatError(path, "MAT v7.3 (HDF5) files are not supported; save with -v7")
    marker = data[126:128]
    if marker == b"IM":
        endian = "<"
    elif marker == b"MI":
        endian = ">"
    else:
        raise MatFormatError(path, "not a MATLAB level-5 MAT-file (no endian marker)")
    buf = memoryview(data)
    pos = 128
    out: dict[str, object] = {}
    while pos < len(buf):
        mtype, a, b, pos = _element(buf, pos, endian, str(path))
        payload = buf[a:b]
        if mtype == _MI_COMPRESSED:
            if variables is not None and _compressed_name(payload, endian) not in variables:
                continue
            try:
                payload = memoryview(zlib.decompress(payload))
            except zlib.error as exc:
                raise MatFormatError(path, f"corrupt compressed element: {exc}") from None
            mtype, a, b, _ = _element(payload, 0, endian, str(path))
            payload = payload[a:b]
        if mtype != _MI_MATRIX:
            continue  # other top-level elements carry no variables
        name, value = _parse_matrix(payload, endian, str(path))
        if variables is None or name in variables:
            out[name] = value
    return out

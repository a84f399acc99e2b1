"""Safe image loading: one loader for the whole of FaceScope.

Every image enters the engine through :func:`load_image`, which returns an RGB
``uint8`` array of shape ``(H, W, 3)`` with EXIF orientation applied, or raises
:class:`ImageLoadError` naming the file and the reason. It never crashes the
process and never hangs: the pixel count is checked from the header before any
pixel is decoded (decompression bombs), and truncated data is an error rather
than a silently grey bottom half.

Pillow does the decoding (it is already a torchvision dependency and the
face-api parity references were decoded with it, so the ported models see the
same pixels as their references).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import UserError

log = logging.getLogger(__name__)

# Our own, configurable pixel limit (checked from the header in load_image)
# replaces Pillow's fixed one, which would refuse large-but-allowed images.
Image.MAX_IMAGE_PIXELS = None

DEFAULT_MAX_PIXELS = 100_000_000  # 100 MP
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "WEBP", "TIFF", "GIF", "PPM"})
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".bmp",
        ".dib",
        ".webp",
        ".tif",
        ".tiff",
        ".gif",
        ".ppm",
        ".pgm",
        ".pnm",
    }
)

ImageSource = str | os.PathLike | bytes | bytearray | memoryview


class ImageLoadError(UserError):
    """An image could not be loaded. ``source`` names the file, ``reason`` says why."""

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"cannot load image {source}: {reason}")


@dataclass(frozen=True)
class ImageInfo:
    """Header facts about an image, read without decoding pixels.

    width/height are *after* EXIF orientation (what :func:`load_image` returns).
    """

    width: int
    height: int
    format: str
    mode: str


def _describe(source: ImageSource) -> str:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes in memory>"
    return str(source)


def _open(source: ImageSource, name: str) -> Image.Image:
    """Open lazily (header only) and check existence, size and format."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageLoadError(name, "empty data (0 bytes)")
        fp: object = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.exists():
            raise ImageLoadError(name, "file does not exist")
        if path.is_dir():
            raise ImageLoadError(name, "is a directory, not an image file")
        try:
            if path.stat().st_size == 0:
                raise ImageLoadError(name, "empty file (0 bytes)")
        except OSError as exc:
            raise ImageLoadError(name, f"cannot stat file: {exc.strerror or exc}") from exc
        if not os.access(path, os.R_OK):
            raise ImageLoadError(name, "permission denied")
        fp = path
    try:
        image = Image.open(fp)  # type: ignore[arg-type]
    except UnidentifiedImageError:
        raise ImageLoadError(
            name, "not a recognised image format (corrupt file or wrong extension?)"
        ) from None
    except PermissionError:
        raise ImageLoadError(name, "permission denied") from None
    except OSError as exc:
        raise ImageLoadError(name, f"cannot read file: {exc}") from None
    if image.format not in SUPPORTED_FORMATS:
        fmt = image.format
        image.close()
        raise ImageLoadError(name, f"unsupported image format {fmt}")
    return image


def _oriented_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not stop the header read
        orientation = 1
    if orientation in (5, 6, 7, 8):  # rotations by 90 degrees swap the axes
        return height, width
    return width, height


def probe_image(source: ImageSource) -> ImageInfo:
    """Read width, height, format and mode from the header only."""
    name = _describe(source)
    image = _open(source, name)
    try:
        width, height = _oriented_size(image)
        return ImageInfo(width, height, str(image.format), image.mode)
    finally:
        image.close()


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to RGB uint8 ``(H, W, 3)``."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        data = np.asarray(image, dtype=np.uint32 if mode == "I" else np.uint16)
        if mode == "I":
            peak = int(data.max()) if data.size else 0
            shift = max(0, peak.bit_length() - 8)
            data8 = (data >> shift).astype(np.uint8)
        else:
            data8 = (data >> 8).astype(np.uint8)  # 16-bit: keep the high byte
        return np.repeat(data8[:, :, None], 3, axis=2)
    if mode == "F":
        data = np.asarray(image, dtype=np.float32)
        lo, hi = float(np.nanmin(data)), float(np.nanmax(data))
        scaled = np.zeros_like(data) if hi <= lo else (data - lo) / (hi - lo) * 255.0
        return np.repeat(np.nan_to_num(scaled).astype(np.uint8)[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")  # alpha is dropped, as OpenCV's IMREAD_COLOR does
    if image.mode != "RGB":
        image = image.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, RGBA ...
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def load_image(
    source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int | None = None
) -> np.ndarray:
    """Load an image as RGB ``uint8`` of shape ``(H, W, 3)``.

    source: a path or the encoded bytes.
    max_pixels: refuse images with more pixels than this (checked from the
        header, before decoding).
    max_side: when given, return the image downscaled so that its longer side
        is at most this many pixels (JPEG uses reduced-size decoding, so
        browsing huge photos stays cheap). Aspect ratio is kept.

    Raises :class:`ImageLoadError` for every failure: missing, empty, unreadable,
    truncated, corrupt, unsupported or oversized files.
    """
    name = _describe(source)
    image = _open(source, name)
    try:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ImageLoadError(name, f"invalid image size {width}x{height}")
        if width * height > max_pixels:
            raise ImageLoadError(
                name,
                f"image has {width}x{height} = {width * height / 1e6:.1f} MP, over the limit of {max_pixels / 1e6:.1f} MP",
            )
        if max_side is not None and image.format == "JPEG" and max(width, height) > max_side:
            image.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
        try:
            image.load()
            oriented = ImageOps.exif_transpose(image)
            rgb = _to_rgb_array(oriented)
        except ImageLoadError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            reason = str(exc) or type(exc).__name__
            if "truncated" in reason.lower() or isinstance(exc, EOFError):
                reason = f"truncated or incomplete image data ({reason})"
            raise ImageLoadError(name, f"corrupt image data: {reason}") from None
        except MemoryError:
            raise ImageLoadError(name, "not enough memory to decode the image") from None
    finally:
        image.close()
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        rgb = _downscale(rgb, max_side)
    log.debug("loaded %s: %dx%d", name, rgb.shape[1], rgb.shape[0])
    return rgb


def _downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the file name has an image suffix (cheap; for folder listing)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES

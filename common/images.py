"""Image probing and decoding with Pillow: format and size from the header first, full decode second.

The API calls :func:`probe` to refuse non-images and pixel bombs cheaply; the worker calls :func:`decode`
to get the pixels. Both raise the typed errors of ``ocrq.errors``, never Pillow's own.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from struct import error as struct_error  # Pillow leaks struct.error on corrupt headers

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ocrq.errors import ImageTooLarge, UndecodableImage, UnsupportedImage

# Pillow format names ocrq accepts (GIF: first frame only; a TIFF of several pages is a document whose
# pages are decoded one by one, see common/documents.py).
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF", "MPO"})
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
# Only the decoders ocrq needs: Pillow then never tries the others (PSD, EPS, ...) on hostile bytes.
# (A JPEG with several images opens as "MPO" through the JPEG decoder.)
_OPEN_FORMATS = ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF")
# Our own limit is checked before decoding; disable Pillow's global bomb guard so it does not pre-empt it.
Image.MAX_IMAGE_PIXELS = None


@dataclass(frozen=True)
class ImageInfo:
    """What the header says: format name, size in pixels, number of frames/pages."""

    format: str
    width: int
    height: int
    frames: int = 1

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format, "application/octet-stream")


def _open(data: bytes) -> Image.Image:
    if not data:
        raise UnsupportedImage("the upload is empty")
    try:
        return Image.open(io.BytesIO(data), formats=_OPEN_FORMATS)
    except UnidentifiedImageError:
        if _has_image_signature(data):
            raise UndecodableImage("the file starts like an image but its header is corrupt") from None
        raise UnsupportedImage(
            "not an image in a supported format (JPEG, PNG, BMP, TIFF, WebP, GIF)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct_error) as exc:
        raise UndecodableImage(f"the image header cannot be read: {exc}") from None


_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def _has_image_signature(data: bytes) -> bool:
    """True when the bytes begin with the magic number of a supported format."""
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _check_size(info: ImageInfo, max_pixels: int) -> None:
    if info.width <= 0 or info.height <= 0:
        raise UndecodableImage(f"the image claims an empty size {info.width}x{info.height}")
    if info.width * info.height > max_pixels:
        raise ImageTooLarge(
            f"the image is {info.width}x{info.height} = {info.width * info.height:,} pixels; "
            f"the limit is {max_pixels:,}"
        )


def probe(data: bytes, max_pixels: int) -> ImageInfo:
    """Read format and size from the header only; raise if unsupported or over ``max_pixels``."""
    with _open(data) as img:
        info = ImageInfo(img.format or "", img.width, img.height, getattr(img, "n_frames", 1))
    _check_size(info, max_pixels)
    return info


def decode(data: bytes, max_pixels: int, frame: int = 0) -> np.ndarray:
    """Decode to an upright (EXIF applied) 8-bit BGR array of shape (H, W, 3), at full resolution.

    Grayscale, palette, alpha (composited on black or white, whichever keeps the marks visible), CMYK and
    16-bit images all come out as BGR uint8.
    ``frame`` picks a page of a multi-page TIFF (0 = the first, which every other format has).
    """
    return decode_working(data, max_pixels, None, frame).pixels


def working_scale(width: int, height: int, budget: int | None) -> float:
    """The factor (<= 1) that brings ``width x height`` within ``budget`` pixels (None: no budget)."""
    pixels = width * height
    return 1.0 if not budget or pixels <= budget else math.sqrt(budget / pixels)


@dataclass(frozen=True)
class Decoded:
    """An image decoded at a working resolution: ``pixels`` (H, W, 3) BGR uint8, ``scale`` = working size
    / upload size (1.0: full size), ``size`` = the upload's (width, height), upright."""

    pixels: np.ndarray
    scale: float
    size: tuple[int, int]


def decode_working(data: bytes, max_pixels: int, budget: int | None, frame: int = 0) -> Decoded:
    """As :func:`decode`, at a working resolution of at most ``budget`` pixels.

    So a worker's memory is bounded by design: a JPEG is decoded at a reduced scale directly (libjpeg's
    DCT scaling, ``Image.draft``); any other format is decoded once at full size and shrunk (box filter)
    before its conversions, so the 4-byte-per-pixel copies of an alpha image are made at the working size.
    """
    with _open(data) as img:
        if frame:
            try:
                img.seek(frame)
            except (EOFError, OSError, ValueError, struct_error) as exc:
                raise UndecodableImage(f"page {frame + 1} of the image cannot be read: {exc}") from None
        _check_size(ImageInfo(img.format or "", img.width, img.height), max_pixels)
        full_size = img.size
        scale = working_scale(img.width, img.height, budget)
        target = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # EXIF oddities warn; the pixels are what matter
                if scale < 1 and img.format in ("JPEG", "MPO"):
                    img.draft(img.mode, target)  # decodes at 1/2, 1/4 or 1/8: at least the target size
                img.load()
                working = _shrink(img, target) if scale < 1 else img
                upright = ImageOps.exif_transpose(working) or working
                swapped = upright.size != working.size  # EXIF turned it by 90 degrees
                rgb = _to_rgb8(upright)
                if scale < 1:  # modes _shrink left alone (palette, 16-bit, CMYK) are shrunk as RGB
                    rgb = _shrink(rgb, (target[1], target[0]) if swapped else target)
        except (OSError, SyntaxError, ValueError, EOFError, struct_error, MemoryError) as exc:
            raise UndecodableImage(f"the image cannot be decoded: {exc}") from None
    if rgb.width * rgb.height > max_pixels:  # EXIF rotation keeps the count; this guards odd decoders
        raise ImageTooLarge(f"the decoded image is {rgb.width}x{rgb.height}")
    # Pillow packs the channels in BGR order itself: half the time of converting, then reversing in numpy
    # (8.6 -> 4.4 ms on a 1229 x 1229 page)
    array = np.frombuffer(bytearray(rgb.tobytes("raw", "BGR")), np.uint8).reshape(rgb.height, rgb.width, 3)
    size = (full_size[1], full_size[0]) if swapped else full_size
    return Decoded(array, max(rgb.size) / max(full_size) if scale < 1 else 1.0, size)


# Modes Pillow resizes with a box filter as they are; others (palette, 16-bit, CMYK) are converted first.
_RESIZABLE = ("RGB", "RGBA", "L", "LA")


def _shrink(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``img`` at ``size`` (box filter: each working pixel the mean of the pixels it covers); the full-size
    pixels are released at once when the image was shrunk."""
    if img.size == size or img.mode not in _RESIZABLE:
        return img
    small = img.resize(size, Image.Resampling.BOX)
    img.close()  # frees the full-size pixels now, not when the decoder's file is closed
    return small


def ground_for(rgba: Image.Image, probe_side: int = 256) -> tuple[int, int, int, int]:
    """What transparency is flattened onto so that what is drawn stays visible: black under light marks
    (white text on a transparent PNG), white (paper) under dark ones and under an opaque image. Decided
    from the visible pixels of a copy at most ``probe_side`` wide, by their alpha-weighted mean grey."""
    probe = rgba.copy()
    probe.thumbnail((probe_side, probe_side))
    pixels = np.asarray(probe, dtype=np.float32).reshape(-1, 4)
    alpha = pixels[:, 3] / 255.0
    if alpha.sum() < 1e-6 or alpha.min() > 0.99:  # nothing visible, or nothing transparent
        return (255, 255, 255, 255)
    grey = pixels[:, :3] @ np.asarray([0.299, 0.587, 0.114], np.float32)
    light_marks = float((grey * alpha).sum() / alpha.sum()) > 160
    return (0, 0, 0, 255) if light_marks else (255, 255, 255, 255)


def _to_rgb8(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is flattened onto a ground that keeps the marks visible
    (``ground_for``), 16-bit is rescaled."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(img, dtype=np.float32)
        lo, hi = float(values.min()), float(values.max())
        scaled = (values - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(values)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, ground_for(rgba))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    if mode == "RGB":
        return img
    return img.convert("RGB")

"""Image I/O at the edge: untrusted files and PIL images -> 8-bit RGB, and RGB <-> tensors in [-1, 1].

Every image that comes from outside (CLI files, a recipe's embedded source, app uploads) goes through
:func:`load_image`, which reads the header first and refuses anything over :data:`MAX_IMAGE_PIXELS`
before decoding a pixel; an image that is already a PIL object goes through :func:`sanitize_image`.
Both turn what Pillow would clip or drop into what a browser shows: 16-bit and float images are
scaled to 8 bits, transparency is composited on white, EXIF orientation is applied.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from typing import IO, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["ALLOWED_FORMATS", "DRAFT_SIZE", "MAX_IMAGE_PIXELS", "ImageSource", "fit_square", "horizontal_strip",
           "load_image", "pil_to_tensor", "sanitize_image", "tensor_to_pil"]

#: Pixel budget of an input image: 40 MP (a 7300 x 5480 photo, 120 MB as RGB), well below Pillow's own
#: decompression-bomb limit (89.5 MP warns, 179 MP raises). Larger images are refused from their header.
MAX_IMAGE_PIXELS = 40_000_000

#: The formats an upload may be; others (EPS runs Ghostscript, for one) are refused unopened.
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

#: JPEGs larger than this on both sides decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, nearly
#: free) while staying at least this large: more than any model's input (1024 for SD3 / Flux).
DRAFT_SIZE = 2048

ImageSource = Union[str, Path, bytes, IO[bytes]]

# What a corrupt or hostile file makes Pillow raise, besides OSError (UnidentifiedImageError included).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError, TypeError,
                  Image.DecompressionBombError)


def load_image(source: ImageSource, max_pixels: int = MAX_IMAGE_PIXELS, draft_size: int | None = DRAFT_SIZE,
               what: str | None = None) -> Image.Image:
    """Open an untrusted image as 8-bit RGB, refusing what would be slow, huge or mis-read.

    1. Read the header only: the format must be one of :data:`ALLOWED_FORMATS` and the size at most
       ``max_pixels`` (default :data:`MAX_IMAGE_PIXELS`), else a ``ValueError`` before any decoding.
    2. Big JPEGs decode at reduced scale (:data:`DRAFT_SIZE`); multi-frame files (GIF, APNG, TIFF
       pages) give their first frame.
    3. EXIF orientation is applied, then :func:`sanitize_image`'s rules (bit depth, transparency, mode).

    Args:
        source: a path, the file's bytes, or a binary file object (read, not closed).
        max_pixels: pixel budget (width x height).
        draft_size: JPEG draft target (``None``: always decode at full size).
        what: how messages name the image (default: the path, or "the image").

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        ValueError: anything else, in one line: too large, not an image, truncated, unsupported.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        what = what or str(path)
        if not path.exists():
            raise FileNotFoundError(f"image not found: {path}")
        if not path.is_file():
            raise ValueError(f"{what} is not a file")
        with path.open("rb") as stream:
            return _load(stream, max_pixels, draft_size, what)
    what = what or "the image"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _load(io.BytesIO(source), max_pixels, draft_size, what)
    return _load(source, max_pixels, draft_size, what)


def _load(stream: IO[bytes], max_pixels: int, draft_size: int | None, what: str) -> Image.Image:
    try:
        # Pillow warns (DecompressionBombWarning) from 89.5 MP and raises from 179 MP; reading the header is
        # all it does here, and our lower budget refuses the image just below.
        image = Image.open(stream, formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(found.group(1)) / 1e6:.0f} MP" if found else "over Pillow's decompression-bomb limit"
        raise ValueError(f"{what} is too large ({size}); the limit is {_megapixels(max_pixels)}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{what} is not an image in a supported format ({', '.join(ALLOWED_FORMATS)})") from None
    except _DECODE_ERRORS as error:
        raise ValueError(f"{what} is not a readable image ({_reason(error)})") from None
    with image:
        _check_budget(image, max_pixels, what)
        try:
            if image.format == "JPEG" and draft_size and min(image.size) > draft_size:
                image.draft(None, (draft_size, draft_size))
            image.load()  # the first frame only
            return sanitize_image(image, max_pixels=None)
        except _DECODE_ERRORS as error:
            raise ValueError(f"{what} could not be decoded ({_reason(error)})") from None


def sanitize_image(image: Image.Image, max_pixels: int | None = MAX_IMAGE_PIXELS) -> Image.Image:
    """An already-open PIL image as 8-bit RGB, the way a browser shows it (a new image; ``image`` is kept).

    - refused (``ValueError``) when larger than ``max_pixels`` (``None``: no budget);
    - EXIF orientation applied;
    - 16-bit (``I;16*``) scaled by 255/65535; ``I`` scaled the same when its values fit 16 bits, else
      stretched from its minimum to its maximum; float ``F`` scaled by 255 when in [0, 1], else stretched;
    - transparency (an alpha channel, or a palette / colour-key ``transparency``) composited on white;
    - any other mode (CMYK, YCbCr, palette, 1-bit, ...) converted to RGB.

    ``EditSession`` applies these conversions to any image it is given, but not the budget: load untrusted
    files with :func:`load_image`.
    """
    if max_pixels is not None:
        _check_budget(image, max_pixels, "the image")
    image = ImageOps.exif_transpose(image) if _has_orientation(image) else image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _eight_bit(image).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA") if image.mode != "La" else image.convert("LA").convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _eight_bit(image: Image.Image) -> Image.Image:
    """A 16-bit, 32-bit integer or float single-channel image as 8-bit ``L`` (see :func:`sanitize_image`)."""
    array = np.asarray(image).astype(np.float64)  # (H, W)
    array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
    if image.mode == "F" and low >= 0.0 and high <= 1.0:
        scaled = array * 255.0
    elif image.mode != "F" and low >= 0.0 and high <= 65535.0:
        scaled = array * (255.0 / 65535.0)
    else:
        scaled = (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
    return Image.fromarray(np.clip(np.round(scaled), 0, 255).astype(np.uint8), "L")


def _has_orientation(image: Image.Image) -> bool:
    try:
        return image.getexif().get(0x0112, 1) != 1
    except _DECODE_ERRORS:
        return False


def _check_budget(image: Image.Image, max_pixels: int, what: str) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ValueError(f"{what} is too large ({width}x{height}, {width * height / 1e6:.0f} MP); "
                         f"the limit is {_megapixels(max_pixels)}")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.3g} MP ({pixels} pixels)"


def _reason(error: BaseException) -> str:
    text = (str(error).splitlines() or [""])[0][:120]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def fit_square(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to ``size`` x ``size`` (what the model works at), in RGB by
    :func:`sanitize_image`'s rules (no pixel budget here)."""
    image = sanitize_image(image, max_pixels=None)
    if image.size == (size, size):
        return image
    return ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> (1, 3, H, W) float32 in [-1, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0)


def tensor_to_pil(images: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] -> list of PIL RGB images (rounded, clamped)."""
    array = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).cpu().numpy()) for a in array]


def horizontal_strip(images: list[Image.Image], gap: int = 2) -> Image.Image:
    """Images side by side on a white strip (a degree sweep)."""
    width = sum(i.width for i in images) + gap * (len(images) - 1)
    height = max(i.height for i in images)
    strip = Image.new("RGB", (width, height), (255, 255, 255))
    x = 0
    for image in images:
        strip.paste(image, (x, 0))
        x += image.width + gap
    return strip

"""Validation and normalisation of one uploaded image file (no database, no storage).

Every accepted file is decoded in full and re-encoded, so what RAF stores is always a plain,
decodable, EXIF-oriented RGB JPEG without metadata (no GPS tags leak to annotators, and no
polyglot file that is also HTML or a script is ever served back). Policy, in order:

1. zero bytes -> rejected; over ``max_bytes`` -> rejected before decoding;
2. the format must be one of :data:`ACCEPTED_FORMATS` (Pillow opens only those plugins, so
   no EPS/PDF interpreter is ever started on untrusted input);
3. ``width * height`` over ``max_pixels`` -> rejected from the header alone, before decoding
   (decompression bombs); Pillow's own DecompressionBombWarning/Error are turned into
   rejections too;
4. a truncated or corrupt file fails the full decode -> rejected;
5. modes: 1, L, LA, P, PA, RGB, RGBA, RGBX, CMYK, YCbCr are converted to RGB (alpha is
   composited on white; CMYK uses Pillow's conversion without colour management, so colours
   of print-profile CMYK files are approximate); high bit-depth or float modes (I, I;16, F)
   and any other mode are rejected as unsupported, since mapping them to 8 bits is a guess;
6. EXIF orientation is applied, then the pixels are re-encoded as JPEG (quality 95, no
   chroma subsampling). Animated images keep their first frame.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageFile, ImageOps, UnidentifiedImageError

# MPO (multi-picture JPEG from cameras) comes through the JPEG opener.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
CONVERTED_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"})
JPEG_QUALITY = 95


class ImageRejected(ValueError):
    """The file is not an image RAF accepts; ``str(exc)`` is the reason shown to people."""


@dataclass(frozen=True)
class NormalizedImage:
    """An accepted image: ``content`` is the JPEG to store, ``sha256`` that of the original bytes."""

    content: bytes
    sha256: str
    width: int
    height: int
    original_format: str
    original_mode: str


def image_normalize(data: bytes, *, max_bytes: int, max_pixels: int) -> NormalizedImage:
    """Validate ``data`` and return the oriented RGB JPEG to store, or raise :class:`ImageRejected`."""
    if not data:
        raise ImageRejected("empty file (zero bytes)")
    if len(data) > max_bytes:
        raise ImageRejected(f"file is {len(data):,} bytes, over the cap of {max_bytes:,} bytes")
    # Pillow's switch is process-wide; a truncated file must never be half-accepted.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            with PILImage.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                return _normalize_open(image, data=data, max_pixels=max_pixels)
        except ImageRejected:
            raise
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            raise ImageRejected(f"decompression bomb refused by the image decoder ({exc})") from exc
        except UnidentifiedImageError as exc:
            raise ImageRejected(f"not an image (or not one of {', '.join(ACCEPTED_FORMATS)})") from exc
        except Exception as exc:
            # Pillow signals truncated and corrupt data with OSError, SyntaxError, ValueError,
            # EOFError, struct.error...; crafted input must never fail the whole import job.
            raise ImageRejected(f"truncated or corrupt image ({type(exc).__name__}: {exc})") from exc


def _normalize_open(image: PILImage.Image, *, data: bytes, max_pixels: int) -> NormalizedImage:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageRejected(f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageRejected(f"{width}x{height} = {width * height:,} pixels, over the cap of {max_pixels:,} pixels")
    original_format, original_mode = image.format or "", image.mode
    if original_mode not in CONVERTED_MODES:
        raise ImageRejected(f"unsupported image mode {original_mode} (high bit depth or unusual colour space)")
    image.load()  # full decode: truncated data fails here
    oriented = ImageOps.exif_transpose(image)
    rgb = _to_rgb(oriented)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    return NormalizedImage(
        content=out.getvalue(),
        sha256=hashlib.sha256(data).hexdigest(),
        width=rgb.width,
        height=rgb.height,
        original_format=original_format,
        original_mode=original_mode,
    )


def _to_rgb(image: PILImage.Image) -> PILImage.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")

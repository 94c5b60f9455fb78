"""Good and bad image files made in memory for the import tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image as PILImage


def jpeg(*, width: int = 64, height: int = 48, seed: int = 0, mode: str = "RGB", exif_orientation: int = 0) -> bytes:
    """A real JPEG whose colour depends on ``seed`` (so each has its own sha256)."""
    colour = ((seed * 53) % 256, (seed * 97) % 256, (seed * 29) % 256)
    image = PILImage.new("RGB", (width, height), colour)
    # A bright block in the top-left corner lets tests check where orientation moved it.
    image.paste((255, 255, 255), (0, 0, max(1, width // 4), max(1, height // 4)))
    if mode != "RGB":
        image = image.convert(mode)
    buffer = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = PILImage.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    image.save(buffer, format="JPEG", quality=90, **kwargs)
    return buffer.getvalue()


def png(*, width: int = 32, height: int = 32, mode: str = "RGB", seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    if mode == "P":
        image = PILImage.new("P", (width, height), seed % 256)
        image.info["transparency"] = 0
        image.save(buffer, format="PNG", transparency=0)
    else:
        PILImage.new(mode, (width, height), seed % 256 if mode in ("L", "I;16") else None).save(buffer, format="PNG")
    return buffer.getvalue()


def png_header_only(*, width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` in its header but holds almost no data: a bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    data = jpeg(width=256, height=256, seed=7)
    return data[: len(data) // 2]


def ppm() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8)).save(buffer, format="PPM")
    return buffer.getvalue()

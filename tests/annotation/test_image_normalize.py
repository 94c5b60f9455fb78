"""Validation of one file: every bad input is rejected with a reason, good ones are normalised."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image as PILImage

from annotation.services.image_files import ImageRejected, image_normalize
from tests.annotation import image_samples as samples

CAPS = {"max_bytes": 5 * 1024 * 1024, "max_pixels": 40_000_000}


def decoded(data: bytes) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"this is a text file, not a photo", "not an image"),
        (samples.truncated_jpeg(), "truncated or corrupt"),
        (samples.png_header_only(width=100_000, height=100_000), "decompression bomb"),
        (samples.png_header_only(width=8_000, height=8_000), "over the cap of 40,000,000 pixels"),
        (samples.png(mode="I;16"), "unsupported image mode I;16"),
        (samples.ppm(), "not an image"),
    ],
    ids=["zero-bytes", "text", "truncated", "pillow-bomb", "pixel-cap", "16-bit", "unaccepted-format"],
)
def test_it_rejects_bad_files_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected, match=reason):
        image_normalize(data, **CAPS)


def test_it_rejects_a_file_over_the_byte_cap_before_decoding() -> None:
    data = samples.jpeg(width=200, height=200)
    with pytest.raises(ImageRejected, match="over the cap of 100 bytes"):
        image_normalize(data, max_bytes=100, max_pixels=CAPS["max_pixels"])


def test_it_applies_exif_orientation_and_stores_an_oriented_jpeg_without_exif() -> None:
    data = samples.jpeg(width=40, height=20, exif_orientation=6)  # 6: rotate 90 degrees clockwise to view

    result = image_normalize(data, **CAPS)

    stored = decoded(result.content)
    assert (result.width, result.height) == (20, 40) == stored.size
    assert stored.format == "JPEG" and stored.mode == "RGB"
    assert 0x0112 not in stored.getexif()
    # The white block was top-left; after a clockwise turn it sits top-right.
    assert min(stored.getpixel((18, 1))) > 200 and max(stored.getpixel((1, 38))) < 200


def test_it_hashes_the_original_bytes() -> None:
    data = samples.jpeg(seed=3)
    assert image_normalize(data, **CAPS).sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "data",
    [
        samples.jpeg(mode="CMYK"),
        samples.jpeg(mode="L"),
        samples.png(mode="RGBA"),
        samples.png(mode="LA"),
        samples.png(mode="P"),
        samples.png(mode="1"),
    ],
    ids=["cmyk", "grey", "rgba", "la", "palette-transparent", "bilevel"],
)
def test_it_converts_supported_modes_to_rgb(data: bytes) -> None:
    result = image_normalize(data, **CAPS)
    assert decoded(result.content).mode == "RGB"
    assert result.original_mode != "RGB"


def test_it_composites_transparency_on_white() -> None:
    buffer = io.BytesIO()
    PILImage.new("RGBA", (8, 8), (0, 0, 0, 0)).save(buffer, format="PNG")
    stored = decoded(image_normalize(buffer.getvalue(), **CAPS).content)
    assert min(stored.getpixel((4, 4))) > 250


@pytest.mark.parametrize("original", [samples.jpeg(width=48, height=48), samples.png(width=24, height=24)])
def test_it_never_fails_otherwise_on_damaged_files(original: bytes) -> None:
    """Flipped bytes and cut files are either accepted or rejected with a reason, nothing else."""
    import random

    rng = random.Random(7)
    for _ in range(40):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        damaged = damaged[: rng.randint(len(damaged) // 3, len(damaged))]
        try:
            image_normalize(bytes(damaged), **CAPS)
        except ImageRejected as exc:
            assert str(exc)

"""The display copy pages show: made on first request and kept in storage (a write, hence a service)."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from PIL import ImageOps

from annotation.errors import ServiceError
from annotation.models import Image

DISPLAY_LONG_SIDE = 512


def image_display_name(*, image: Image) -> str:
    return f"display/{image.project_id}/{image.sha256}-{DISPLAY_LONG_SIDE}.jpg"


def image_display_bytes(*, image: Image) -> bytes:
    """JPEG bytes of ``image`` scaled so its long side is at most 512 pixels (EXIF orientation
    applied). Made on first request and kept in storage, so every web process shares it."""
    name = image_display_name(image=image)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    try:
        with image.file.open("rb") as handle, PILImage.open(handle) as source:
            picture = ImageOps.exif_transpose(source).convert("RGB")
    except (OSError, ValueError) as exc:
        raise ServiceError("The image file cannot be read.", code="image_unreadable", status_code=404) from exc
    picture.thumbnail((DISPLAY_LONG_SIDE, DISPLAY_LONG_SIDE), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85, optimize=True)
    data = buffer.getvalue()
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))
    return data

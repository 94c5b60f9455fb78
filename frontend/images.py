"""Where staff pages get an image's pixels: core's display copy (long side 512, cacheable)."""

from __future__ import annotations

from django.urls import reverse

from annotation.models import Image


def display_url(image: Image) -> str:
    return reverse("api:image-display", args=[image.pk])

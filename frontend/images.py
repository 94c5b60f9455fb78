"""Where pages get an image's pixels: core's display copy (long side 512, cacheable)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from annotation.models import Image


def display_url(image: Image) -> str:
    try:
        return reverse("api:image-display", args=[image.pk])
    except NoReverseMatch:  # core's display route not merged yet: the stored original
        return image.file.url

"""Signals between parts of the platform, sent after the transaction that caused them commits."""

from __future__ import annotations

from django.dispatch import Signal

# Sent with ``project``, ``image_ids`` (list[int]) and ``created_by`` (user or None) once an
# import's images are committed; face detection listens to it.
images_imported = Signal()

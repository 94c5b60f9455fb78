"""Signal receivers, connected in :meth:`annotation.apps.AnnotationConfig.ready`."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from annotation.signals import images_imported


@receiver(images_imported, dispatch_uid="faces_detect_on_import")
def detect_faces_on_import(
    sender: Any, *, project: Any, image_ids: list[int], created_by: Any = None, **_: Any
) -> None:
    """Imported images get a face-detection job (they stay ``needs_face`` until it finds one)."""
    from annotation.services.faces import faces_detect_start

    if image_ids:
        faces_detect_start(project=project, image_ids=image_ids, created_by=created_by)

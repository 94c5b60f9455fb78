"""Creating and changing projects, with the rules that go with it."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from annotation.errors import ServiceError
from annotation.models import Project, Vote


def project_save(*, project: Project | None, fields: dict[str, Any]) -> Project:
    """Create a project (``project`` None) or change ``project``'s settings to ``fields``.

    Rules: class names are distinct and cannot change once the project has votes; a new
    ``votes_wanted`` reaches every image that does not already have more counted votes (each
    image carries its wanted count so the database can refuse an overflow); names are unique.
    """
    classes = fields.get("classes")
    if classes is not None:
        if len(set(classes)) != len(classes):
            raise ServiceError("Class names must be distinct.", code="invalid_classes")
        if (
            project is not None
            and list(classes) != list(project.classes)
            and Vote.objects.filter(image__project=project).exists()
        ):
            raise ServiceError("Classes cannot change once the project has votes.", code="classes_locked")
    try:
        with transaction.atomic():
            if project is None:
                project = Project.objects.create(**fields)
            else:
                for name, value in fields.items():
                    setattr(project, name, value)
                project.save(update_fields=list(fields) or None)
            if "votes_wanted" in fields:
                project.images.filter(counted_votes__lte=project.votes_wanted).update(votes_wanted=project.votes_wanted)
    except IntegrityError as exc:
        raise ServiceError("A project with this name exists.", code="duplicate_name", status_code=409) from exc
    return project

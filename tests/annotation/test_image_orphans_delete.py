"""Files left by a killed import (written, row never committed) are cleaned after a grace period."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from annotation.models import Image, Job, JobStatus, Project
from annotation.services.imports import image_import_file, image_orphans_delete
from tests.annotation import image_samples as samples
from tests.factories import RUNNING_LEASE

pytestmark = pytest.mark.django_db


def age(name: str, seconds: float) -> None:
    path = Path(settings.MEDIA_ROOT) / name
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_it_deletes_old_unreferenced_files_and_keeps_the_rest() -> None:
    project = Project.objects.create(name="orphans")
    kept = Image.objects.get(pk=image_import_file(project=project, data=samples.jpeg(seed=1), source="k").image_id)
    age(kept.file.name, 7200)
    old_orphan = default_storage.save(f"images/{project.pk}/ab/abandoned-1.jpg", ContentFile(b"x"))
    age(old_orphan, 7200)
    fresh_orphan = default_storage.save(f"images/{project.pk}/ab/in-flight.jpg", ContentFile(b"x"))
    finished = Job.objects.create(kind="import", status=JobStatus.SUCCEEDED)
    running = Job.objects.create(kind="import", status=JobStatus.RUNNING, **RUNNING_LEASE)
    stale_upload = default_storage.save(f"imports/{finished.pk}/00000-a.jpg", ContentFile(b"x"))
    live_upload = default_storage.save(f"imports/{running.pk}/00000-b.jpg", ContentFile(b"x"))
    age(stale_upload, 7200)
    age(live_upload, 7200)

    assert sorted(image_orphans_delete(grace_s=3600, dry_run=True)) == sorted([old_orphan, stale_upload])
    assert default_storage.exists(old_orphan)

    out = io.StringIO()
    call_command("delete_orphan_files", "--grace-seconds", "3600", stdout=out)

    assert not default_storage.exists(old_orphan) and not default_storage.exists(stale_upload)
    assert default_storage.exists(kept.file.name) and default_storage.exists(fresh_orphan)
    assert default_storage.exists(live_upload)
    assert "2 orphan file(s) deleted" in out.getvalue()


def test_it_copes_with_an_empty_storage() -> None:
    assert image_orphans_delete(grace_s=0) == []

"""Concurrent imports of the same file on real connections: one row, one file, the rest duplicates."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from annotation.models import Image, Project
from annotation.services.imports import ImportOutcome, image_import_file
from tests.annotation import image_samples as samples


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_image_when_threads_import_the_same_file_at_once() -> None:
    project = Project.objects.create(name="race")
    data = samples.jpeg(width=320, height=240, seed=99)
    barrier = threading.Barrier(6)
    outcomes: list[ImportOutcome] = []

    def worker() -> None:
        try:
            barrier.wait()
            outcomes.append(image_import_file(project=project, data=data, source="same.jpg"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(outcome.status for outcome in outcomes)
    assert statuses == ["duplicate"] * 5 + ["imported"]
    image = Image.objects.get(project=project)
    assert {outcome.image_id for outcome in outcomes} == {image.pk}
    files = [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert [path.relative_to(settings.MEDIA_ROOT).as_posix() for path in files] == [image.file.name]

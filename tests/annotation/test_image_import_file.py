"""One file in: imported, duplicate or rejected, atomically (no row without file, no file without row)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage

from annotation.models import Image, ImageStatus, Project
from annotation.services.imports import image_import_file
from tests.annotation import image_samples as samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="import test", votes_wanted=7)


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_it_imports_a_good_file_as_needs_face(project: Project) -> None:
    outcome = image_import_file(project=project, data=samples.jpeg(seed=1), source="a/b.jpg", keyword="smile")

    assert outcome.status == "imported"
    image = Image.objects.get(pk=outcome.image_id)
    assert image.status == ImageStatus.NEEDS_FACE
    assert (image.width, image.height, image.votes_wanted) == (64, 48, 7)
    assert (image.source, image.keyword, image.sha256) == ("a/b.jpg", "smile", outcome.sha256)
    assert default_storage.exists(image.file.name)
    assert image.size_bytes == default_storage.size(image.file.name)
    assert stored_files() == [Path(settings.MEDIA_ROOT) / image.file.name]


def test_it_treats_a_reimport_as_a_duplicate_that_changes_nothing(project: Project) -> None:
    data = samples.jpeg(seed=2)
    first = image_import_file(project=project, data=data, source="one.jpg")

    second = image_import_file(project=project, data=data, source="copy.jpg")

    assert second.status == "duplicate" and second.image_id == first.image_id
    assert Image.objects.count() == 1 and len(stored_files()) == 1


def test_it_imports_the_same_file_into_another_project(project: Project) -> None:
    data = samples.jpeg(seed=3)
    image_import_file(project=project, data=data, source="x.jpg")
    other = Project.objects.create(name="other")
    assert image_import_file(project=other, data=data, source="x.jpg").status == "imported"


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF89a but not really", samples.truncated_jpeg(), samples.png_header_only(width=9000, height=9000)],
    ids=["empty", "fake-gif", "truncated", "bomb"],
)
def test_it_rejects_a_bad_file_and_changes_nothing(project: Project, data: bytes) -> None:
    outcome = image_import_file(project=project, data=data, source="bad.jpg")

    assert outcome.status == "rejected" and outcome.reason
    assert Image.objects.count() == 0 and stored_files() == []


def test_it_rejects_a_file_over_the_byte_cap(project: Project, settings) -> None:
    settings.RAF_MAX_IMAGE_BYTES = 500
    outcome = image_import_file(project=project, data=samples.jpeg(width=300, height=300), source="big.jpg")
    assert outcome.status == "rejected" and "over the cap" in outcome.reason


def test_it_leaves_no_file_when_the_row_insert_fails(project: Project, monkeypatch) -> None:
    def crash(self, *args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Image, "save", crash)

    with pytest.raises(RuntimeError, match="database went away"):
        image_import_file(project=project, data=samples.jpeg(seed=4), source="crash.jpg")

    monkeypatch.undo()
    assert Image.objects.count() == 0 and stored_files() == []


def test_it_leaves_no_row_when_the_file_write_fails(project: Project, monkeypatch) -> None:
    def crash(self, name, content):
        raise OSError("disk full")

    monkeypatch.setattr(FileSystemStorage, "_save", crash)

    with pytest.raises(OSError, match="disk full"):
        image_import_file(project=project, data=samples.jpeg(seed=5), source="crash.jpg")

    monkeypatch.undo()
    assert Image.objects.count() == 0 and stored_files() == []


def test_it_reports_a_duplicate_when_a_concurrent_import_won_the_race(project: Project, monkeypatch) -> None:
    """The unique (project, sha256) constraint decides; the loser removes only its own file."""
    data = samples.jpeg(seed=6)
    winner = image_import_file(project=project, data=data, source="winner.jpg")
    # Pretend the pre-check ran before the winner committed.
    monkeypatch.setattr("annotation.services.imports._existing_image_id", _none_then_real())

    outcome = image_import_file(project=project, data=data, source="loser.jpg")

    assert outcome.status == "duplicate" and outcome.image_id == winner.image_id
    winner_file = Image.objects.get(pk=winner.image_id).file.name
    assert stored_files() == [Path(settings.MEDIA_ROOT) / winner_file]


def _none_then_real():
    from annotation.services import imports

    real = imports._existing_image_id
    calls = {"n": 0}

    def lookup(project, sha256):
        calls["n"] += 1
        return None if calls["n"] == 1 else real(project, sha256)

    return lookup

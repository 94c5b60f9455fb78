"""``manage.py import_images`` on a folder and a zip: per-file report printed and kept on the Job."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Image, Job, JobStatus, Project
from annotation.signals import images_imported
from tests.annotation import image_samples as samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def project() -> Project:
    return Project.objects.create(name="Command project")


def run(path: Path, project: Project, *extra: str) -> str:
    out = io.StringIO()
    call_command("import_images", str(path), "--project", project.name, *extra, stdout=out)
    return out.getvalue()


def outcomes(job: Job) -> dict[str, tuple[str, str]]:
    return {Path(row["source"]).name: (row["status"], row.get("reason", "")) for row in job.result["files"]}


def test_it_imports_a_nested_folder_and_reports_every_file(
    project: Project, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    folder = tmp_path / "photos"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(samples.jpeg(seed=1))
    (folder / "sub" / "b.png").write_bytes(samples.png(seed=2))
    (folder / "sub" / "deeper" / "c.jpg").write_bytes(samples.jpeg(seed=1))  # same bytes as a.jpg
    (folder / "sub" / "notes.txt").write_text("not a photo")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / ".hidden.jpg").write_bytes(samples.jpeg(seed=9))
    received: list[list[int]] = []

    def receiver(sender, project, image_ids, created_by, **kwargs):
        received.append(image_ids)

    images_imported.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            printed = run(folder, project, "--keyword", "happy people")
    finally:
        images_imported.disconnect(receiver)

    job = Job.objects.get(kind="import")
    assert job.status == JobStatus.SUCCEEDED and job.progress == 1.0
    assert (job.result["imported"], job.result["duplicate"], job.result["rejected"]) == (2, 1, 2)
    found = outcomes(job)
    assert found["a.jpg"][0] == "imported" and found["b.png"][0] == "imported"
    assert found["notes.txt"] == ("rejected", found["notes.txt"][1]) and "not an image" in found["notes.txt"][1]
    assert "zero bytes" in found["zero.jpg"][1]
    assert ".hidden.jpg" not in found
    assert "duplicate" in printed and "rejected  " in printed and "imported 2, duplicate 1, rejected 2" in printed
    assert set(Image.objects.values_list("keyword", flat=True)) == {"happy people"}
    assert sorted(i for ids in received for i in ids) == sorted(Image.objects.values_list("pk", flat=True))


def test_it_imports_a_zip_and_rejects_unsafe_and_bad_members(project: Project, tmp_path: Path, settings) -> None:
    settings.RAF_MAX_IMAGE_BYTES = 1024 * 1024
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("good/one.jpg", samples.jpeg(seed=11))
        zf.writestr("good/nested/two.jpg", samples.jpeg(seed=12))
        zf.writestr("../../etc/evil.jpg", samples.jpeg(seed=13))
        zf.writestr("/abs/evil.jpg", samples.jpeg(seed=14))
        zf.writestr("readme.txt", "hello")
        zf.writestr("bomb.bmp", b"\x00" * (3 * 1024 * 1024))
        zf.writestr("ratio.bmp", b"\x00" * (900 * 1024) + b"\x01" * (200 * 1024))
        link = zipfile.ZipInfo("link.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("__MACOSX/._one.jpg", b"junk")

    printed = run(archive, project)

    job = Job.objects.get(kind="import")
    rows = {row["source"].split(":", 1)[1]: row for row in job.result["files"]}
    imported = {name for name, row in rows.items() if row["status"] == "imported"}
    assert imported == {"good/one.jpg", "good/nested/two.jpg"}
    assert "escapes the archive" in rows["../../etc/evil.jpg"]["reason"]
    assert "absolute path" in rows["/abs/evil.jpg"]["reason"]
    assert "not an image" in rows["readme.txt"]["reason"]
    assert "over the cap" in rows["bomb.bmp"]["reason"]
    assert "symbolic link" in rows["link.jpg"]["reason"]
    assert rows["ratio.bmp"]["status"] == "rejected"
    assert "__MACOSX/._one.jpg" not in rows
    assert not (tmp_path.parent / "etc").exists()
    assert Image.objects.count() == 2 and "imported 2" in printed


def test_it_rejects_a_zip_member_that_lies_about_its_size(project: Project, tmp_path: Path, settings) -> None:
    settings.RAF_MAX_IMAGE_BYTES = 64 * 1024
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("big.jpg", b"\xff" * (200 * 1024))
    # Rewrite the declared size in the central directory to claim a small member.
    data = bytearray(archive.read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))

    run(archive, project)

    row = Job.objects.get(kind="import").result["files"][0]
    assert row["status"] == "rejected" and Image.objects.count() == 0


def test_it_refuses_a_path_that_is_not_a_folder_zip_or_csv(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "photo.jpg"
    other.write_bytes(samples.jpeg())
    with pytest.raises(CommandError, match="neither a folder"):
        run(other, project)
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "missing", project)
    assert not Job.objects.exists()


def test_it_fails_the_job_on_a_corrupt_zip(project: Project, tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CommandError, match="not a readable zip"):
        run(archive, project)
    job = Job.objects.get(kind="import")
    assert job.status == JobStatus.FAILED and "not a readable zip" in job.message

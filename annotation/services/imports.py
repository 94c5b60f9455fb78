"""Importing images into a project: one file, a folder, a zip, or a CSV of URLs.

Consistency: a file is written to storage first, then its row is inserted in a transaction;
if the insert fails for any reason the file is deleted again, so no row ever lacks its file
and a failed import leaves no file behind. A process killed between the two steps can leave
an unreferenced file: :func:`image_orphans_delete` (``manage.py delete_orphan_files``) removes
those after a grace period.

Dedup: ``Image.sha256`` is the SHA-256 of the *original* bytes (not the re-encoded file), so
re-importing the same file into the same project is a no-op reported as ``duplicate``; the
database's unique (project, sha256) constraint settles concurrent imports of the same file.

After imported images commit, :data:`annotation.signals.images_imported` is sent for them in
chunks of :data:`NOTIFY_CHUNK` ids (face detection listens). New images are ``needs_face``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Literal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import Image, Job, Project
from annotation.services.image_files import ImageRejected, image_normalize
from annotation.services.import_sources import (
    ImportItem,
    folder_items,
    upload_items,
    url_items,
    url_rows_parse,
    zip_items,
)
from annotation.services.jobs import JobReporter, job_create, job_enqueue, job_running, job_set_result
from annotation.signals import images_imported

Status = Literal["imported", "duplicate", "rejected"]
NOTIFY_CHUNK = 200
MAX_REPORTED_FILES = 20_000
STAGING_DIR = "imports"


@dataclass(frozen=True)
class ImportOutcome:
    """What happened to one file: ``imported``, ``duplicate`` or ``rejected`` (with ``reason``)."""

    status: Status
    source: str
    reason: str = ""
    image_id: int | None = None
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in ("", None)}


@dataclass
class ImportReport:
    imported: int = 0
    duplicate: int = 0
    rejected: int = 0
    files: list[dict[str, Any]] = field(default_factory=list)
    files_truncated: bool = False

    @property
    def total(self) -> int:
        return self.imported + self.duplicate + self.rejected

    def add(self, outcome: ImportOutcome) -> None:
        setattr(self, outcome.status, getattr(self, outcome.status) + 1)
        if len(self.files) < MAX_REPORTED_FILES:
            self.files.append(outcome.as_dict())
        else:
            self.files_truncated = True

    def summary(self) -> str:
        return f"imported {self.imported}, duplicate {self.duplicate}, rejected {self.rejected}"

    def as_result(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "total": self.total,
            "files": self.files,
            "files_truncated": self.files_truncated,
        }


OutcomeCallback = Callable[[ImportOutcome, int, int], None]


# --- one file -------------------------------------------------------------------------------


def image_import_file(*, project: Project, data: bytes, source: str, keyword: str = "") -> ImportOutcome:
    """Validate, store and record one image; atomic (see the module docstring).

    Sends no signal itself: the batch functions below notify once images are committed.
    """
    source, keyword = source[:1000], keyword.strip()[:200]
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _existing_image_id(project, sha256)
    if existing is not None:
        return ImportOutcome("duplicate", source, "already in this project", existing, sha256)
    try:
        normalized = image_normalize(
            data, max_bytes=settings.RAF_MAX_IMAGE_BYTES, max_pixels=settings.RAF_MAX_IMAGE_PIXELS
        )
    except ImageRejected as exc:
        return ImportOutcome("rejected", source, str(exc), None, sha256)
    storage = Image._meta.get_field("file").storage
    # A random token makes every attempt's name unique, so a losing concurrent import never
    # deletes the winner's file, even on stores that overwrite (S3).
    wanted_name = f"images/{project.pk}/{sha256[:2]}/{sha256}-{secrets.token_hex(4)}.jpg"
    name = storage.save(wanted_name, ContentFile(normalized.content))
    try:
        with transaction.atomic():
            image = Image.objects.create(
                project=project,
                file=name,
                sha256=sha256,
                size_bytes=len(normalized.content),
                width=normalized.width,
                height=normalized.height,
                source=source,
                keyword=keyword,
                votes_wanted=project.votes_wanted,
            )
    except IntegrityError:
        storage.delete(name)
        existing = _existing_image_id(project, sha256)
        if existing is None:
            raise
        return ImportOutcome("duplicate", source, "already in this project", existing, sha256)
    except BaseException:
        storage.delete(name)
        raise
    return ImportOutcome("imported", source, "", image.pk, sha256)


def _existing_image_id(project: Project, sha256: str) -> int | None:
    return Image.objects.filter(project=project, sha256=sha256).values_list("pk", flat=True).first()


# --- batches --------------------------------------------------------------------------------


def images_import(
    *,
    project: Project,
    items: Iterable[ImportItem],
    total: int,
    created_by: AbstractBaseUser | None = None,
    progress: Callable[[float, str], None] | None = None,
    on_outcome: OutcomeCallback | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import ``items`` one by one (each its own transaction) and report every file.

    ``progress(fraction, message)`` may raise to stop (a cancelled job); images imported so far
    stay, the signal is still sent for them, and a ``report`` passed in holds what was done.
    """
    report = report if report is not None else ImportReport()
    pending_ids: list[int] = []
    try:
        for item in items:
            if item.data is None:
                outcome = ImportOutcome("rejected", item.source[:1000], item.error or "could not be read")
            else:
                outcome = image_import_file(project=project, data=item.data, source=item.source, keyword=item.keyword)
            report.add(outcome)
            if outcome.status == "imported" and outcome.image_id is not None:
                pending_ids.append(outcome.image_id)
                if len(pending_ids) >= NOTIFY_CHUNK:
                    _notify(project, pending_ids, created_by)
                    pending_ids = []
            if on_outcome is not None:
                on_outcome(outcome, report.total, total)
            if progress is not None:
                progress(report.total / max(total, 1), f"{report.total}/{total} files: {report.summary()}")
    finally:
        if pending_ids:
            _notify(project, pending_ids, created_by)
    return report


def _notify(project: Project, image_ids: list[int], created_by: AbstractBaseUser | None) -> None:
    ids = list(image_ids)
    transaction.on_commit(
        lambda: images_imported.send(sender=None, project=project, image_ids=ids, created_by=created_by)
    )


# --- import jobs: command line and API ------------------------------------------------------


def import_path_run(
    *,
    project: Project,
    path: Path,
    keyword: str = "",
    created_by: AbstractBaseUser | None = None,
    on_outcome: OutcomeCallback | None = None,
) -> Job:
    """Import a folder, a ``.zip`` or a ``.csv`` of URLs in this process, recorded as a Job."""
    path = Path(path)
    if not path.exists():
        raise ServiceError(f"{path} does not exist", code="not_found")
    if not (path.is_dir() or path.suffix.lower() in (".zip", ".csv")):
        raise ServiceError(f"{path} is neither a folder, a .zip nor a .csv of URLs", code="bad_source")
    job = job_create(
        kind="import",
        project=project,
        created_by=created_by,
        params={"source": "path", "path": str(path.resolve()), "keyword": keyword},
    )
    with job_running(job.pk) as reporter:
        assert reporter is not None  # a job created just now is always runnable
        import_job_run(job=job, reporter=reporter, on_outcome=on_outcome)
    job.refresh_from_db()
    return job


def import_job_start(
    *,
    project: Project,
    created_by: AbstractBaseUser | None,
    uploads: list[File] | None = None,
    urls: list[tuple[str, str]] | None = None,
    keyword: str = "",
) -> Job:
    """Start an import job from uploaded files (images and/or zips) or from URLs.

    Uploads are staged in storage (``imports/<job id>/``) so that any worker can read them;
    the task deletes them when it ends.
    """
    from annotation.tasks import import_images_task  # tasks import this module

    if bool(uploads) == bool(urls):
        raise ServiceError("Send either files or URLs (not both, not neither).", code="bad_source")
    storage = Image._meta.get_field("file").storage
    staged: list[dict[str, str]] = []
    try:
        with transaction.atomic():
            job = job_create(kind="import", project=project, created_by=created_by, params={})
            if uploads:
                for index, upload in enumerate(uploads):
                    original = Path(upload.name or f"upload-{index}").name
                    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", original)[-100:] or "upload"
                    stored = storage.save(f"{STAGING_DIR}/{job.pk}/{index:05d}-{safe}", upload)
                    staged.append({"name": stored, "filename": original})
                job.params = {"source": "upload", "staged": staged, "keyword": keyword}
            else:
                job.params = {
                    "source": "urls",
                    "urls": [{"url": url, "keyword": kw or keyword} for url, kw in urls or []],
                }
            job.save(update_fields=["params"])
            job_enqueue(job=job, task=import_images_task)
    except BaseException:
        for entry in staged:
            storage.delete(entry["name"])
        raise
    return job


def import_job_run(*, job: Job, reporter: JobReporter, on_outcome: OutcomeCallback | None = None) -> ImportReport:
    """The body of an import job: gather the items its params name, import, store the report."""
    params = job.params
    keyword = params.get("keyword", "")
    storage = Image._meta.get_field("file").storage
    opened: list[IO[bytes]] = []
    report = ImportReport()
    finished = False
    try:
        sources: list[tuple[int, Iterator[ImportItem]]] = []
        if params["source"] == "path":
            path = Path(params["path"])
            if path.is_dir():
                sources.append(folder_items(path, keyword=keyword))
            elif path.suffix.lower() == ".zip":
                opened.append(path.open("rb"))
                sources.append(zip_items(opened[-1], name=str(path), keyword=keyword))
            else:
                text = path.read_bytes().decode("utf-8-sig", errors="replace")
                sources.append(url_items(url_rows_parse(text, keyword=keyword)))
        elif params["source"] == "upload":
            for entry in params["staged"]:
                handle = storage.open(entry["name"], "rb")
                opened.append(handle)
                sources.append(upload_items(handle, filename=entry["filename"], keyword=keyword))
        elif params["source"] == "urls":
            sources.append(url_items([(row["url"], row.get("keyword", "")) for row in params["urls"]]))
        else:
            raise ServiceError(f"unknown import source {params['source']!r}", code="bad_source")
        total = sum(count for count, _ in sources)
        report = images_import(
            project=job.project,
            items=(item for _, iterator in sources for item in iterator),
            total=total,
            created_by=job.created_by,
            progress=reporter.callback(),
            on_outcome=on_outcome,
            report=report,
        )
        finished = True
        return report
    finally:
        # Also on cancel or failure: the files handled so far stay imported and are reported.
        if finished or report.total:
            result = {**report.as_result(), "interrupted": not finished}
            job_set_result(job_id=job.pk, result=result, message=report.summary().capitalize())
        for handle in opened:
            handle.close()
        for entry in params.get("staged", []):
            storage.delete(entry["name"])


# --- cleanup --------------------------------------------------------------------------------


def image_orphans_delete(*, grace_s: float = 3600, dry_run: bool = False) -> list[str]:
    """Delete stored image files no row refers to (left by a killed import) and staged uploads
    of finished jobs, when older than ``grace_s`` (so imports in flight are never touched).
    Returns the storage names deleted (or that would be, with ``dry_run``)."""
    storage = Image._meta.get_field("file").storage
    cutoff = timezone.now() - timedelta(seconds=grace_s)
    doomed: list[str] = []
    for project_dir in _listdir(storage, "images")[0]:
        known = set(Image.objects.filter(project_id=_int_or_none(project_dir)).values_list("file", flat=True))
        for name in _walk_files(storage, f"images/{project_dir}"):
            if name not in known and storage.get_modified_time(name) < cutoff:
                doomed.append(name)
    active_jobs = {str(pk) for pk in Job.objects.filter(status__in=Job.ACTIVE).values_list("pk", flat=True)}
    for job_dir in _listdir(storage, STAGING_DIR)[0]:
        if job_dir in active_jobs:
            continue
        for name in _walk_files(storage, f"{STAGING_DIR}/{job_dir}"):
            if storage.get_modified_time(name) < cutoff:
                doomed.append(name)
    if not dry_run:
        for name in doomed:
            storage.delete(name)
    return doomed


def _listdir(storage: Any, path: str) -> tuple[list[str], list[str]]:
    try:
        return storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return [], []


def _walk_files(storage: Any, path: str) -> Iterator[str]:
    dirs, files = _listdir(storage, path)
    for name in files:
        yield f"{path}/{name}"
    for sub in dirs:
        yield from _walk_files(storage, f"{path}/{sub}")


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() else None

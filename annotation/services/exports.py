"""Research exports: a reliability run (or an imported set's reference labels) as a versioned
dataset in the RAF-DB release layout, and a training run's model files, with expiring links.

Only researchers and admins may export; every export is a logged :class:`DatasetExport`.
The dataset itself is written by :mod:`annotation.services.export_writer` (streamed).
"""

from __future__ import annotations

import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from annotation.errors import ServiceError
from annotation.models import DatasetExport, Job, Project, ReliabilityRun, TrainingRun
from annotation.models.export import ExportFormat, ExportKind, ExportSource
from annotation.permissions import RESEARCHER, has_role
from annotation.services.export_writer import FolderSink, Progress, ZipSink, write_dataset
from annotation.services.jobs import job_create, job_enqueue, job_set_result

_SIGNER_SALT = "raf.exports.download"
DEFAULT_LINK_TTL_S = 3600


def platform_version() -> str:
    try:
        with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _require_exporter(user: AbstractBaseUser | AnonymousUser | None) -> None:
    if user is None or not has_role(user, RESEARCHER):
        raise ServiceError("Only researchers and admins may export.", code="forbidden", status_code=403)


def export_resolve_run(*, project: Project, run: ReliabilityRun | None, reference: bool) -> ReliabilityRun | None:
    """The run an export reads: the given one, else the project's current one; None in
    reference mode (labels imported with ``import_rafdb``)."""
    if reference:
        if run is not None:
            raise ServiceError("Choose either a run or reference labels, not both.", code="invalid")
        if not project.images.filter(reference_label__isnull=False).exists():
            raise ServiceError("This project has no reference labels to export.", code="no_reference_labels")
        return None
    if run is None:
        run = ReliabilityRun.objects.filter(project=project, is_current=True).first()
        if run is None:
            raise ServiceError(
                "This project has no current reliability run; run the estimator first or export reference labels.",
                code="no_current_run",
            )
    if run.project_id != project.pk:
        raise ServiceError("That run belongs to another project.", code="invalid")
    if not run.succeeded:
        raise ServiceError("Only a succeeded reliability run can be exported.", code="run_not_succeeded")
    return run


def export_format_clean(format: str) -> str:
    if format not in ExportFormat.values:
        raise ServiceError(
            f"Unknown export format {format!r}; choose one of {', '.join(ExportFormat.values)}.", code="invalid"
        )
    return format


def export_resolve_base(*, run: ReliabilityRun | None, changes_from: ReliabilityRun | None) -> ReliabilityRun | None:
    """The run a release's change list compares with: ``changes_from`` (a succeeded run of the same
    project), else the project's previous succeeded run (:func:`run_previous`)."""
    if changes_from is None or run is None:
        return None
    if changes_from.project_id != run.project_id or not changes_from.succeeded or changes_from.pk == run.pk:
        raise ServiceError(
            "Changes are listed against another succeeded run of the same project.", code="invalid_changes_from"
        )
    return changes_from


def dataset_export_start(
    *,
    project: Project,
    created_by: AbstractBaseUser,
    run: ReliabilityRun | None = None,
    reference: bool = False,
    format: str = "rafdb",
    changes_from: ReliabilityRun | None = None,
) -> DatasetExport:
    """Log an export and start the background job that writes its zip into storage."""
    from annotation.tasks import export_dataset

    _require_exporter(created_by)
    format = export_format_clean(format)
    resolved = export_resolve_run(project=project, run=run, reference=reference)
    base = export_resolve_base(run=resolved, changes_from=changes_from)
    with transaction.atomic():
        job = job_create(
            kind="export",
            project=project,
            created_by=created_by,
            params={
                "run": resolved.pk if resolved else None,
                "reference": reference,
                "format": format,
                "changes_from": base.pk if base else None,
            },
        )
        export = DatasetExport.objects.create(
            project=project,
            run=resolved,
            source=ExportSource.REFERENCE if resolved is None else ExportSource.RUN,
            format=format,
            job=job,
            created_by=created_by,
        )
        job_enqueue(job=job, task=export_dataset, args=(export.pk,))
    return export


def dataset_export_build(*, export: DatasetExport, progress: Progress | None = None) -> DatasetExport:
    """Write ``export``'s zip to a temporary file, then into storage (streamed both ways)."""
    assert export.project is not None
    base_id = (export.job.params or {}).get("changes_from") if export.job else None
    base = ReliabilityRun.objects.filter(pk=base_id).first() if base_id else None
    with tempfile.NamedTemporaryFile(suffix=".zip") as handle:
        summary = write_dataset(
            project=export.project,
            run=export.run,
            sink=ZipSink(handle),
            progress=progress,
            platform_version=platform_version(),
            format=export.format,
            changes_from=base,
        )
        handle.flush()
        size = handle.tell()
        handle.seek(0)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        label = f"run{export.run_id}" if export.run_id else "reference"
        name = f"raf-{export.project_id}-{label}-{export.format}-{stamp}-{export.pk}.zip"
        export.file.save(name, File(handle), save=False)
    export.size_bytes = size
    export.content_hash = summary["content_hash"]
    export.save(update_fields=["file", "size_bytes", "content_hash"])
    if export.job_id:
        job_set_result(job_id=export.job_id, result={"export": export.pk, **summary}, message="Export ready")
    return export


def dataset_export_to_path(
    *,
    project: Project,
    out: Path,
    run: ReliabilityRun | None = None,
    reference: bool = False,
    created_by: AbstractBaseUser | None = None,
    progress: Progress | None = None,
    format: str = "rafdb",
    changes_from: ReliabilityRun | None = None,
) -> dict[str, Any]:
    """The CLI's export: a folder, or a zip when ``out`` ends with ``.zip``; logged too.

    The operator of the server runs it, so no role is checked unless a user is named."""
    if created_by is not None:
        _require_exporter(created_by)
    format = export_format_clean(format)
    resolved = export_resolve_run(project=project, run=run, reference=reference)
    base = export_resolve_base(run=resolved, changes_from=changes_from)
    options: dict[str, Any] = {
        "progress": progress,
        "platform_version": platform_version(),
        "format": format,
        "changes_from": base,
    }
    if out.suffix.lower() == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            summary = write_dataset(project=project, run=resolved, sink=ZipSink(handle), **options)
    else:
        if out.exists() and any(out.iterdir()):
            raise ServiceError(f"{out} exists and is not empty.", code="invalid")
        out.mkdir(parents=True, exist_ok=True)
        summary = write_dataset(project=project, run=resolved, sink=FolderSink(out), **options)
    export = DatasetExport.objects.create(
        project=project,
        run=resolved,
        source=ExportSource.REFERENCE if resolved is None else ExportSource.RUN,
        format=format,
        content_hash=summary["content_hash"],
        created_by=created_by,
        size_bytes=out.stat().st_size if out.is_file() else None,
    )
    return {"export": export.pk, **summary}


# --- expiring download links ---------------------------------------------------------------


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


def link_ttl_s() -> int:
    return int(getattr(settings, "RAF_EXPORT_LINK_TTL_S", DEFAULT_LINK_TTL_S))


def export_download_link(*, export: DatasetExport) -> DownloadLink | None:
    """A link to the export's file that stops working after ``RAF_EXPORT_LINK_TTL_S`` seconds:
    the storage's presigned URL on S3, else a signed token checked by the download view."""
    if not export.file:
        return None
    ttl = link_ttl_s()
    expires_at = timezone.now() + timedelta(seconds=ttl)
    if hasattr(default_storage, "bucket_name"):  # S3: let the store check the expiry itself
        return DownloadLink(url=default_storage.url(export.file.name, expire=ttl), expires_at=expires_at)
    token = signing.TimestampSigner(salt=_SIGNER_SALT).sign(str(export.pk))
    return DownloadLink(url=reverse("api:export-download", kwargs={"token": token}), expires_at=expires_at)


def export_from_token(*, token: str) -> DatasetExport:
    """The export a download token names; refuses a forged or expired token."""
    try:
        export_id = signing.TimestampSigner(salt=_SIGNER_SALT).unsign(token, max_age=link_ttl_s())
    except signing.SignatureExpired:
        raise ServiceError(
            "This download link has expired; ask for a new one.", code="link_expired", status_code=410
        ) from None
    except signing.BadSignature:
        raise ServiceError("This download link is not valid.", code="link_invalid", status_code=404) from None
    export = DatasetExport.objects.filter(pk=int(export_id)).first()
    if export is None or not export.file:
        raise ServiceError("This export has no file.", code="not_found", status_code=404)
    return export


# --- models --------------------------------------------------------------------------------


def training_run_model_zip(*, training_run: TrainingRun, created_by: AbstractBaseUser, out: IO[bytes]) -> DatasetExport:
    """Write a training run's model files, model card and plots (``TrainingRun.artefacts``)
    into ``out`` as one zip, and log it."""
    _require_exporter(created_by)
    names = sorted(_artefact_names(training_run.artefacts))
    if not names:
        raise ServiceError("This training run has no stored artefacts.", code="no_artefacts", status_code=404)
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for name in names:
            if not default_storage.exists(name):
                raise ServiceError(
                    f"Artefact {name} is missing from storage.", code="artefact_missing", status_code=409
                )
            compress = (
                zipfile.ZIP_STORED
                if name.lower().endswith((".png", ".jpg", ".pt", ".onnx"))
                else (zipfile.ZIP_DEFLATED)
            )
            info = zipfile.ZipInfo(
                f"training-run-{training_run.pk}/{Path(name).name}", date_time=timezone.now().timetuple()[:6]
            )
            info.compress_type = compress
            with default_storage.open(name, "rb") as source, archive.open(info, "w", force_zip64=True) as member:
                while chunk := source.read(1 << 20):
                    member.write(chunk)
    return DatasetExport.objects.create(
        project=training_run.project,
        run=training_run.reliability_run,
        training_run=training_run,
        kind=ExportKind.MODEL,
        created_by=created_by,
    )


def _artefact_names(artefacts: Any) -> set[str]:
    """Storage names in ``TrainingRun.artefacts``: a dict of names, lists of names, or nested."""
    found: set[str] = set()
    if isinstance(artefacts, str):
        if artefacts:
            found.add(artefacts)
    elif isinstance(artefacts, dict):
        for value in artefacts.values():
            found |= _artefact_names(value)
    elif isinstance(artefacts, list | tuple):
        for value in artefacts:
            found |= _artefact_names(value)
    return found


def export_job_summary(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {"id": job.pk, "status": job.status, "progress": job.progress, "message": job.message, "error": job.error}

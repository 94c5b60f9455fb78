"""``manage.py export_dataset [--project P] [--run ID | --reference] [--format rafdb|hf]
[--changes-from RUN] --out PATH``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.errors import ServiceError
from annotation.models import Project, ReliabilityRun
from annotation.models.export import ExportFormat
from annotation.services.exports import dataset_export_to_path


class Command(BaseCommand):
    help = (
        "Export a reliability run (the project's current one by default), or an imported set's reference "
        "labels (--reference), as the RAF-DB release layout plus distributions, votes and a datasheet "
        "(--format rafdb), or as Hugging Face Parquet shards with a dataset card and croissant.json (--format hf). "
        "PATH is a folder, or a zip when it ends with .zip."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="Folder, or a .zip file.")
        parser.add_argument("--run", type=int, help="ReliabilityRun id (default: the project's current run).")
        parser.add_argument("--project", help="Project id or name (needed without --run).")
        parser.add_argument("--reference", action="store_true", help="Use imported reference labels, not a run.")
        parser.add_argument(
            "--format", choices=ExportFormat.values, default=ExportFormat.RAFDB, help="Layout (default: rafdb)."
        )
        parser.add_argument(
            "--changes-from",
            type=int,
            help="List changes against this run (default: the project's previous succeeded run).",
        )
        parser.add_argument("--user", help="Log the export under this user (must be a researcher or admin).")

    def handle(self, *args: Any, **options: Any) -> None:
        run = None
        if options["run"]:
            run = ReliabilityRun.objects.filter(pk=options["run"]).select_related("project").first()
            if run is None:
                raise CommandError(f"No reliability run {options['run']}.")
            project = run.project
        elif options["project"]:
            project = _project(options["project"])
        else:
            raise CommandError("Give --run ID, or --project P (its current run, or --reference).")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        base = None
        if options["changes_from"]:
            base = ReliabilityRun.objects.filter(pk=options["changes_from"]).first()
            if base is None:
                raise CommandError(f"No reliability run {options['changes_from']}.")
        bar = tqdm(total=1000, unit="‰", disable=options["verbosity"] == 0)

        def progress(fraction: float, message: str = "") -> None:
            bar.n = int(fraction * 1000)
            bar.set_description(message[:40])
            bar.refresh()

        try:
            summary = dataset_export_to_path(
                project=project,
                out=Path(options["out"]),
                run=run,
                reference=options["reference"],
                created_by=user,
                progress=progress,
                format=options["format"],
                changes_from=base,
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        self.stdout.write(json.dumps(summary))


def _project(value: str) -> Project:
    project = Project.objects.filter(pk=int(value)).first() if value.isdigit() else None
    project = project or Project.objects.filter(name=value).first()
    if project is None:
        raise CommandError(f"No project {value!r}.")
    return project

"""``manage.py import_images PATH --project P [--keyword K]``: a folder, a .zip or a .csv of URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.errors import ServiceError
from annotation.models import Project
from annotation.services.imports import ImportOutcome, import_path_run


def project_lookup(value: str) -> Project:
    """A project by id or by exact name."""
    project = Project.objects.filter(pk=int(value)).first() if value.isdigit() else None
    project = project or Project.objects.filter(name=value).first()
    if project is None:
        raise CommandError(f"No project with id or name {value!r}.")
    return project


class Command(BaseCommand):
    help = "Import images from a folder, a .zip, or a .csv of url,keyword rows into a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="A folder, a .zip archive, or a .csv of url,keyword rows.")
        parser.add_argument("--project", required=True, help="Project id or exact name.")
        parser.add_argument("--keyword", default="", help="Search keyword stored with every image (metadata).")

    def handle(self, *args: Any, **options: Any) -> None:
        project = project_lookup(options["project"])
        verbosity = options["verbosity"]
        bar = tqdm(total=0, unit="file", desc="import", disable=verbosity == 0, dynamic_ncols=True)

        def on_outcome(outcome: ImportOutcome, done: int, total: int) -> None:
            bar.total = total
            bar.update(1)
            if verbosity >= 1:
                reason = f": {outcome.reason}" if outcome.reason and outcome.status == "rejected" else ""
                bar.write(f"{outcome.status:9s} {outcome.source}{reason}", file=self.stdout)

        try:
            job = import_path_run(
                project=project, path=options["path"], keyword=options["keyword"], on_outcome=on_outcome
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        result = job.result or {}
        self.stdout.write(
            f"job {job.pk} {job.status}: imported {result.get('imported', 0)}, "
            f"duplicate {result.get('duplicate', 0)}, rejected {result.get('rejected', 0)}"
        )

"""``manage.py import_rafdb PATH --project P``: a RAF-DB copy as images, faces and reference labels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.errors import ServiceError
from annotation.management.commands.export_dataset import _project
from annotation.services.rafdb import rafdb_import


class Command(BaseCommand):
    help = (
        "Import a RAF-DB copy (release layout: basic/ and/or compound/) into a project: images, manual "
        "landmarks, attributes, boxes and aligned faces; labels become reference labels, not votes. "
        "Everything is checked first; any problem imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Folder holding basic/ and/or compound/ (or one subset folder).")
        parser.add_argument("--project", required=True, help="Project id or name.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = _project(options["project"])
        bar = tqdm(total=1000, unit="‰", disable=options["verbosity"] == 0)

        def progress(fraction: float, message: str = "") -> None:
            bar.n = int(fraction * 1000)
            bar.set_description(message[:40])
            bar.refresh()

        try:
            summary = rafdb_import(project=project, path=Path(options["path"]), progress=progress)
        except ServiceError as exc:
            details = "\n".join(f"  - {d}" for d in exc.details or [])
            raise CommandError(f"{exc.message}\n{details}".rstrip()) from exc
        finally:
            bar.close()
        self.stdout.write(json.dumps(summary))

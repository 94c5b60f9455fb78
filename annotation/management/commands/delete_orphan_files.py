"""``manage.py delete_orphan_files``: remove stored files no row refers to (after a killed import)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotation.services.imports import image_orphans_delete


class Command(BaseCommand):
    help = "Delete image files without an Image row, and staged uploads of finished import jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--grace-seconds", type=float, default=3600, help="Only files older than this.")
        parser.add_argument("--dry-run", action="store_true", help="List what would be deleted.")

    def handle(self, *args: Any, **options: Any) -> None:
        names = image_orphans_delete(grace_s=options["grace_seconds"], dry_run=options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        for name in names:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{len(names)} orphan file(s) {verb.split()[-1]}")

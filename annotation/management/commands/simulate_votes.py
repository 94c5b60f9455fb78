"""``manage.py simulate_votes --project P``: simulated annotators and votes for a demo project."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.errors import ServiceError
from annotation.models import Project
from annotation.services.simulation import votes_simulate


class Command(BaseCommand):
    help = "Create simulated, qualified annotators and bulk-insert their votes on the project's ready images."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="project id or name")
        parser.add_argument("--annotators", type=int, default=30)
        parser.add_argument("--votes-per-image", type=int, default=None, help="default: the project's votes_wanted")
        parser.add_argument("--spammers", type=float, default=0.05, help="fraction of spammers")
        parser.add_argument("--adversarial", type=float, default=0.0, help="fraction of adversarial annotators")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["project"]
        project = Project.objects.filter(pk=int(key)).first() if key.isdigit() else None
        project = project or Project.objects.filter(name=key).first()
        if project is None:
            raise CommandError(f"no project {key!r}")
        try:
            outcome = votes_simulate(
                project=project,
                annotators=options["annotators"],
                votes_per_image=options["votes_per_image"],
                spammers=options["spammers"],
                adversarial=options["adversarial"],
                seed=options["seed"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{outcome.votes} votes on {outcome.images} images; {outcome.annotators_created} new simulated annotators"
        )

"""``manage.py load_demo``: the demo project, accounts and photos (idempotent)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotation.errors import ServiceError
from annotation.models import Image, ImageStatus, Job, JobStatus, Project, Vote
from annotation.services.demo import DEMO_ACCOUNTS, DEMO_TRAINING_CONFIG, demo_load, demo_votes_simulate
from annotation.services.faces import FACE_DETECT_JOB
from annotation.services.imports import ImportOutcome
from annotation.services.reliability import reliability_run_start
from annotation.services.training import training_run_start

# How long load_demo waits for a worker to take its face-detection job before it says so.
WORKER_WAIT_S = 60


class Command(BaseCommand):
    help = "Load the demo: project 'Demo: London faces', demo accounts, London set photos, gold images."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Allow in production (creates known passwords).")
        parser.add_argument("--no-votes", action="store_true", help="Do not simulate votes.")
        parser.add_argument(
            "--no-train", action="store_true", help="Do not wait for the reliability run nor start the demo's training."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.RAF_ENV == "production" and not options["force"]:
            raise CommandError("Refusing to create demo accounts with known passwords in production (use --force).")
        bar = tqdm(total=0, unit="photo", desc="demo photos", disable=options["verbosity"] == 0)

        def on_outcome(outcome: ImportOutcome, done: int, total: int) -> None:
            bar.total = total
            bar.update(1)
            if outcome.status == "rejected":
                bar.write(f"rejected {outcome.source}: {outcome.reason}", file=self.stdout)

        try:
            summary = demo_load(on_outcome=on_outcome)
        finally:
            bar.close()
        project, report = summary.project, summary.report
        assert report is not None
        self.stdout.write(
            f"project {project.name!r} (id {project.pk}): photos imported {report.imported}, "
            f"already there {report.duplicate}, rejected {report.rejected}; gold marked {summary.gold_marked}; "
            f"set ready without face detection {summary.marked_ready}"
        )
        for username, password, role in DEMO_ACCOUNTS:
            state = "created" if username in summary.accounts_created else "exists"
            self.stdout.write(f"  {role:10s} login {username} / {password} ({state})")
        self._wait_for_face_detection(project, quiet=options["verbosity"] == 0)
        self._simulate_votes(
            project.pk, skip=options["no_votes"], train=not options["no_train"], quiet=options["verbosity"] == 0
        )

    def _wait_for_face_detection(self, project: Project, *, quiet: bool) -> None:
        """The import queued face detection for the worker; the votes need its ready images."""
        jobs = Job.objects.filter(project=project, kind=FACE_DETECT_JOB)
        active = jobs.filter(status__in=Job.ACTIVE)
        if not active.exists():
            return
        started = time.monotonic()
        with tqdm(total=100, unit="%", desc="face detection (worker)", disable=quiet) as bar:
            while True:
                rows = list(active.values_list("status", "progress"))
                if not rows:
                    bar.n = 100
                    bar.refresh()
                    break
                bar.n = int(100 * sum(progress for _, progress in rows) / len(rows))
                bar.refresh()
                waited = time.monotonic() - started
                if all(status == JobStatus.QUEUED for status, _ in rows) and waited > WORKER_WAIT_S:
                    raise CommandError(
                        f"No worker took the demo's face-detection job in {WORKER_WAIT_S} seconds. Start one "
                        "(`celery -A config worker`; `make run` starts it) and run load_demo again."
                    )
                time.sleep(0.5)
        failed = jobs.filter(status=JobStatus.FAILED).order_by("-pk").first()
        if failed is not None and not Image.objects.filter(project=project, status=ImageStatus.READY).exists():
            raise CommandError(f"Face detection of the demo photos failed: {failed.message}")

    def _simulate_votes(self, project_id: int, *, skip: bool, train: bool, quiet: bool) -> None:
        """Half the wanted votes, simulated after what each photo shows; then a reliability run
        (on the worker) and the small CPU training that becomes the current model."""
        if skip:
            return
        if Vote.objects.filter(image__project_id=project_id).exists():
            self.stdout.write("demo project already has votes: simulated votes skipped.")
            return
        project = Project.objects.get(pk=project_id)
        outcome = demo_votes_simulate(project=project)
        self.stdout.write(
            f"{outcome.votes} simulated votes on {outcome.images} images (half of those wanted: the rest is "
            "left for annotators)"
        )
        admin = User.objects.filter(username=DEMO_ACCOUNTS[0][0]).first()
        run = reliability_run_start(project=project, created_by=admin)
        self.stdout.write(f"reliability run {run.pk} queued for the worker")
        if not train:
            return
        assert run.job is not None
        self._wait_for_job(run.job, "reliability (worker)", quiet=quiet)
        run.refresh_from_db()
        if not run.succeeded:
            run.job.refresh_from_db()
            self.stdout.write(f"The demo's reliability run did not finish: {run.job.message}")
            return
        try:
            training = training_run_start(
                project=project, reliability_run=run, config=DEMO_TRAINING_CONFIG, created_by=admin, make_current=True
            )
        except ServiceError as exc:
            self.stdout.write(f"The demo's training run was not started: {exc.message}")
            return
        self.stdout.write(
            f"small CPU training run {training.pk} queued for the worker; it becomes the current model "
            "(POST /api/v1/predict) in a minute or two"
        )

    def _wait_for_job(self, job: Job, label: str, *, quiet: bool) -> None:
        started = time.monotonic()
        with tqdm(total=100, unit="%", desc=label, disable=quiet) as bar:
            while True:
                job.refresh_from_db(fields=["status", "progress"])
                bar.n = int(100 * job.progress)
                bar.refresh()
                if job.status not in Job.ACTIVE:
                    break
                if job.status == JobStatus.QUEUED and time.monotonic() - started > WORKER_WAIT_S:
                    raise CommandError(f"No worker took the demo's {label} job in {WORKER_WAIT_S} seconds.")
                time.sleep(0.5)

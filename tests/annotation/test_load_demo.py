"""``manage.py load_demo``: demo project, accounts per role, London photos, gold; idempotent."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from annotation.models import Image, ImageStatus, Project, Qualification, ReliabilityRun, Vote
from annotation.permissions import has_role
from annotation.services.demo import DEMO_PROJECT_NAME, GOLD_PER_FOLDER

pytestmark = pytest.mark.django_db


def load(*args: str) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_demo_once_and_changes_nothing_the_second_time(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = load("--no-votes")  # face detection runs on commit, before votes can be simulated
    project = Project.objects.get(name=DEMO_PROJECT_NAME)
    snapshot = sorted(Image.objects.filter(project=project).values_list("pk", "sha256", "is_gold", "gold_label"))

    with django_capture_on_commit_callbacks(execute=True):
        second = load("--no-train")
    counted = Vote.objects.filter(counted=True).count()
    with django_capture_on_commit_callbacks(execute=True):
        third = load("--no-train")

    assert "photos imported 128" in first and "photos imported 0, already there 128" in second
    after = sorted(Image.objects.filter(project=project).values_list("pk", "sha256", "is_gold", "gold_label"))
    assert after == snapshot
    assert Project.objects.filter(name=DEMO_PROJECT_NAME).count() == 1
    assert "DeBruine" in project.licence_text
    gold = Image.objects.filter(project=project, is_gold=True)
    assert gold.count() == 2 * GOLD_PER_FOLDER
    for image in gold:
        expected = "neutral" if "/neutral/" in image.source else "happiness"
        assert project.classes[image.gold_label] == expected
    # The face detector found every frontal demo face, so every photo is served.
    assert not Image.objects.filter(project=project, status=ImageStatus.NEEDS_FACE).exists()
    # Simulated votes fill half of what each regular image wants (the rest is left for annotators),
    # once, and a reliability run is current.
    regular = Image.objects.filter(project=project, is_gold=False)
    assert all(image.counted_votes == image.votes_wanted // 2 for image in regular)
    assert counted == regular.count() * (project.votes_wanted // 2)
    assert "simulated votes skipped" in third and Vote.objects.filter(counted=True).count() == counted
    run = ReliabilityRun.objects.get(project=project, is_current=True)
    assert run.annotators.filter(kept=True).exists() and run.images.count() == regular.count()
    # The votes follow what the photos show: the basic subset holds neutral and happy faces, and
    # most photos get their folder's class.
    basic = set(run.images.filter(subset="basic").values_list("label", flat=True))
    assert {project.classes.index("neutral"), project.classes.index("happiness")} <= basic
    truth = {"neutral": project.classes.index("neutral"), "smiling": project.classes.index("happiness")}
    right = sum(truth[row.image.source.split("/")[2]] == row.label for row in run.images.select_related("image"))
    assert right >= 0.85 * regular.count()
    assert all(0 <= a.accuracy <= 1 for a in run.annotators.all())


def test_it_creates_one_login_per_role_and_qualifies_the_annotator() -> None:
    load("--no-votes")
    project = Project.objects.get(name=DEMO_PROJECT_NAME)
    admin, researcher, annotator = (User.objects.get(username=name) for name in ("admin", "researcher", "annotator"))
    assert admin.is_superuser and admin.check_password("raf-admin-demo") and has_role(admin, "admin")
    assert researcher.check_password("raf-researcher-demo") and has_role(researcher, "researcher")
    assert not has_role(researcher, "admin")
    assert annotator.check_password("raf-annotator-demo") and has_role(annotator, "annotator")
    assert Qualification.objects.get(annotator=annotator, project=project).is_qualified


def test_it_refuses_to_run_in_production_without_force(settings) -> None:
    settings.RAF_ENV = "production"
    with pytest.raises(CommandError, match="production"):
        load("--no-votes")
    assert not User.objects.filter(username="admin").exists()

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from annotation.models import AnnotatorProfile, Image, Qualification, Vote
from annotation.permissions import has_role
from tests.annotation.reliability_factories import add_votes, make_images, make_project, make_user

pytestmark = pytest.mark.django_db


def assert_counts_consistent(project) -> None:
    images = Image.objects.filter(project=project).annotate(n=Count("votes", filter=Q(votes__counted=True)))
    for image in images:
        assert image.counted_votes == image.n <= image.votes_wanted


def test_it_creates_qualified_simulated_annotators_and_votes(capsys) -> None:
    project = make_project(votes_wanted=6)
    make_images(project, 25)
    make_images(project, 2, is_gold=True, gold_label=1)
    make_images(project, 2, status="needs_face")
    call_command(
        "simulate_votes",
        "--project",
        str(project.pk),
        "--annotators",
        "9",
        "--votes-per-image",
        "6",
        "--spammers",
        "0.2",
        "--seed",
        "3",
    )
    assert "150 votes on 25 images; 9 new simulated annotators" in capsys.readouterr().out
    profiles = AnnotatorProfile.objects.filter(simulated=True)
    assert profiles.count() == 9
    assert all(has_role(p.user, "annotator") for p in profiles)
    assert Qualification.objects.filter(project=project, qualified_at__isnull=False).count() == 9
    assert not Vote.objects.filter(image__is_gold=True).exists()
    assert not Vote.objects.filter(image__status="needs_face").exists()
    assert_counts_consistent(project)


def test_it_fills_only_free_slots_and_can_run_again() -> None:
    project = make_project(votes_wanted=5)
    first, second = make_images(project, 2)
    add_votes(first, [make_user() for _ in range(3)], [1, 1, 1])
    Image.objects.filter(pk=second.pk).update(reserved=1)
    call_command("simulate_votes", "--project", project.name, "--annotators", "8", "--votes-per-image", "5")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.counted_votes, second.counted_votes) == (5, 4)
    call_command("simulate_votes", "--project", project.name, "--annotators", "8", "--votes-per-image", "5")
    assert AnnotatorProfile.objects.filter(simulated=True).count() == 8
    assert_counts_consistent(project)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "nope"], "no project"),
        (["--annotators", "3", "--votes-per-image", "5"], "cannot exceed"),
        (["--spammers", "1.5"], "fractions"),
    ],
)
def test_it_refuses_bad_arguments(args: list[str], message: str) -> None:
    project = make_project(votes_wanted=5)
    make_images(project, 2)
    base = ["--project", str(project.pk)] if "--project" not in args else []
    with pytest.raises(CommandError, match=message):
        call_command("simulate_votes", *base, *args)
    assert not Vote.objects.exists()


def test_it_refuses_a_project_without_ready_images() -> None:
    project = make_project()
    with pytest.raises(CommandError, match="no ready images"):
        call_command("simulate_votes", "--project", str(project.pk), "--annotators", "20")

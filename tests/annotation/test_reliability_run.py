from __future__ import annotations

import pytest
from django.db import transaction

from annotation.errors import ServiceError
from annotation.models import AnnotatorReliability, ImageReliability, Job, JobStatus, ReliabilityRun
from annotation.services.reliability import (
    reliability_run_execute,
    reliability_run_start,
    reliability_votes_snapshot,
)
from annotation.services.simulation import votes_simulate
from tests.annotation.reliability_factories import add_votes, make_images, make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = False


@pytest.fixture
def simulated_project():
    project = make_project(votes_wanted=8)
    make_images(project, 120)
    votes_simulate(project=project, annotators=20, votes_per_image=8, spammers=0.1, seed=1)
    return project


def test_it_runs_and_becomes_current(simulated_project, eager, django_capture_on_commit_callbacks) -> None:
    admin = make_user("admin")
    with django_capture_on_commit_callbacks(execute=True):
        run = reliability_run_start(project=simulated_project, created_by=admin)
    run.refresh_from_db()
    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert run.succeeded and run.is_current
    assert ImageReliability.objects.filter(run=run).count() == 120
    assert AnnotatorReliability.objects.filter(run=run).count() == 20
    row = ImageReliability.objects.filter(run=run).first()
    assert len(row.distribution) == 7 and sum(row.distribution) == pytest.approx(1.0, abs=1e-4)
    assert sum(row.counts) == 8
    assert row.label == max(range(7), key=lambda k: row.distribution[k])
    assert row.subset in {"basic", "compound", ""} and row.split in {"train", "test", ""}
    assert run.metrics["annotators_kept"] <= 20 and run.metrics["votes"] == 960
    assert run.job.result["annotators_kept"] == run.metrics["annotators_kept"]


def test_a_second_trigger_returns_the_queued_run(simulated_project) -> None:
    first = reliability_run_start(project=simulated_project)
    second = reliability_run_start(project=simulated_project, method="ds")
    assert second.pk == first.pk
    assert ReliabilityRun.objects.count() == 1 and Job.objects.count() == 1


def test_a_new_run_replaces_the_current_one(simulated_project) -> None:
    first = ReliabilityRun.objects.create(project=simulated_project, method="glad")
    reliability_run_execute(run=first)
    second = ReliabilityRun.objects.create(project=simulated_project, method="ds")
    reliability_run_execute(run=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_current and not first.is_current and first.succeeded


def test_a_failed_run_leaves_the_current_run_alone(
    simulated_project, eager, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    current = ReliabilityRun.objects.create(project=simulated_project, method="glad")
    reliability_run_execute(run=current)
    import annotation.services.reliability as service

    def broken_snapshot(**kwargs):
        raise ValueError("the votes could not be read")

    monkeypatch.setattr(service, "reliability_votes_snapshot", broken_snapshot)
    with django_capture_on_commit_callbacks(execute=True):
        run = reliability_run_start(project=simulated_project)
    run.refresh_from_db()
    current.refresh_from_db()
    assert run.job.status == JobStatus.FAILED and "the votes could not be read" in run.job.message.lower()
    assert not run.succeeded and not run.is_current
    assert current.is_current
    assert not ImageReliability.objects.filter(run=run).exists()


def test_a_crash_while_writing_leaves_nothing_behind(simulated_project, monkeypatch) -> None:
    current = ReliabilityRun.objects.create(project=simulated_project, method="mv")
    reliability_run_execute(run=current)
    run = ReliabilityRun.objects.create(project=simulated_project, method="glad")

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(ImageReliability.objects, "bulk_create", crash)
    with pytest.raises(RuntimeError), transaction.atomic():
        reliability_run_execute(run=run)
    current.refresh_from_db()
    run.refresh_from_db()
    assert current.is_current and not run.is_current and not run.succeeded
    assert not AnnotatorReliability.objects.filter(run=run).exists()


def test_the_snapshot_skips_gold_uncounted_and_other_projects_votes() -> None:
    project, other = make_project(), make_project()
    a, b = make_user(), make_user()
    image, gold = make_images(project, 1)[0], make_images(project, 1, is_gold=True, gold_label=2)[0]
    add_votes(image, [a], [4])
    add_votes(image, [b], [5], counted=False, late=True)
    add_votes(gold, [a, b], [2, 2], counted=False, is_gold=True)
    add_votes(make_images(other, 1)[0], [a], [1])
    table = reliability_votes_snapshot(project=project)
    assert table.n_votes == 1
    assert table.image_ids.tolist() == [image.pk] and table.label.tolist() == [4]


def test_it_refuses_a_project_without_votes_and_bad_parameters() -> None:
    project = make_project()
    run = ReliabilityRun.objects.create(project=project)
    with pytest.raises(ServiceError, match="no counted votes"):
        reliability_run_execute(run=run)
    with pytest.raises(ServiceError, match="Unknown method"):
        reliability_run_start(project=project, method="best")
    with pytest.raises(ServiceError, match="Unknown parameter"):
        reliability_run_start(project=project, params={"speed": 1})
    with pytest.raises(ServiceError, match="Invalid parameters"):
        reliability_run_start(project=project, params={"keep_fraction": 3})


def test_dropped_annotators_do_not_shape_distributions() -> None:
    project = make_project(votes_wanted=6)
    images = make_images(project, 30)
    good = [make_user() for _ in range(5)]
    spammer = make_user()
    for n, image in enumerate(images):
        label = n % 3
        add_votes(image, [*good, spammer], [label] * 5 + [6])
    run = ReliabilityRun.objects.create(project=project, method="glad")
    reliability_run_execute(run=run)
    spam_row = AnnotatorReliability.objects.get(run=run, annotator=spammer)
    assert not spam_row.kept
    for row in ImageReliability.objects.filter(run=run):
        assert row.distribution[6] == 0.0 and row.counts[6] == 1


def _crowd_with_gold(*, gold_images: int) -> tuple:
    """Five careful annotators and a spammer on 30 images of three classes, plus gold images
    voted on by the same people (the careful ones right, the spammer always 6)."""
    project = make_project(votes_wanted=6)
    people = [make_user() for _ in range(6)]
    for n, image in enumerate(make_images(project, 30)):
        add_votes(image, people, [n % 3] * 5 + [6])
    for n in range(gold_images):
        gold = make_images(project, 1, is_gold=True, gold_label=n % 3)[0]
        add_votes(gold, people, [n % 3] * 5 + [6], counted=False, is_gold=True)
    return project, people


def test_it_publishes_the_posterior_argmax_and_scores_the_gold_images() -> None:
    project, _ = _crowd_with_gold(gold_images=10)
    run = ReliabilityRun.objects.create(project=project)
    reliability_run_execute(run=run)
    run.refresh_from_db()
    assert run.method == "hds" and run.metrics["method"] == "hds"
    rows = list(ImageReliability.objects.filter(run=run))
    assert len(rows) == 30  # gold images are fitted and scored, never given a result row
    for row in rows:
        assert sum(row.posterior) == pytest.approx(1.0, abs=1e-4)
        assert row.label == max(range(7), key=lambda k: row.posterior[k])
        assert row.subset != "" or row.label in (0, 1, 2)
    assert run.metrics["votes"] == 180 and run.metrics["gold_votes"] == 60 and run.metrics["images"] == 30
    assert run.metrics["gold_images"] == 10 and run.metrics["gold_correct"] == 10
    assert run.metrics["gold_accuracy"] == 1.0
    assert run.metrics["gold_accuracy_ci95"] == [pytest.approx(0.7225, abs=1e-4), 1.0]


def test_a_project_without_gold_votes_has_no_gold_accuracy() -> None:
    project, _ = _crowd_with_gold(gold_images=0)
    run = ReliabilityRun.objects.create(project=project, method="glad")
    reliability_run_execute(run=run)
    run.refresh_from_db()
    assert "gold_accuracy" not in run.metrics and run.metrics["gold_votes"] == 0
    assert all(row.posterior is not None for row in ImageReliability.objects.filter(run=run))


def test_it_leaves_images_with_too_few_counted_votes_out_of_the_subsets(simulated_project) -> None:
    simulated_project.subset_min_votes = 8
    simulated_project.save()
    thin = list(simulated_project.images.order_by("pk").values_list("pk", flat=True)[:10])
    from annotation.models import Image, Vote

    for image_id in thin:
        doomed = Vote.objects.filter(image_id=image_id).order_by("pk")[:3]
        Vote.objects.filter(pk__in=[v.pk for v in doomed]).delete()
        Image.objects.filter(pk=image_id).update(counted_votes=5)
    run = reliability_run_start(project=simulated_project, params={"min_class_size": 0})
    reliability_run_execute(run=run)
    run.refresh_from_db()
    assert run.params["min_votes"] == 8
    assert run.metrics["left_out_few_votes"] == 10 and run.metrics["min_votes"] == 8
    assert not ImageReliability.objects.filter(run=run, image_id__in=thin).exclude(subset="").exists()
    assert ImageReliability.objects.filter(run=run).exclude(subset="").exists()
    # Each annotator's estimated accuracy is a share of their votes.
    assert all(0 <= row.accuracy <= 1 for row in AnnotatorReliability.objects.filter(run=run))


def test_it_still_rates_annotators_when_no_image_has_enough_votes(simulated_project) -> None:
    run = reliability_run_execute(run=reliability_run_start(project=simulated_project, params={"min_votes": 50}))
    assert run.succeeded and run.metrics["left_out_few_votes"] == 120 and run.metrics["basic"] == 0
    assert not ImageReliability.objects.filter(run=run).exclude(subset="").exists()
    assert AnnotatorReliability.objects.filter(run=run).count() == 20

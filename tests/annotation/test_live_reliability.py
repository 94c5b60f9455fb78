"""The live update: spammer flags (paused under the project's policy) and adaptive retirement."""

from __future__ import annotations

import pytest

from annotation.errors import ServiceError
from annotation.models import AnnotatorFlag, FlagStatus, Image, LiveReliability, Vote
from annotation.services.assignment import assignment_claim_next
from annotation.services.live_reliability import live_reliability_update, live_reliability_update_due
from annotation.services.spammers import flag_review
from tests.annotation.factories import assert_counters_consistent, make_annotator, make_images, make_project, make_user

pytestmark = [pytest.mark.django_db]


def put_votes(images, annotators, label_of, time_ms=1500):
    rows = []
    for image in images:
        for user in annotators:
            rows.append(Vote(image=image, annotator=user, label=label_of(image, user), time_taken_ms=time_ms))
    Vote.objects.bulk_create(rows)
    for image in images:
        Image.objects.filter(pk=image.pk).update(counted_votes=len(annotators))


def test_it_retires_settled_images_and_pauses_a_fast_straight_liner():
    project = make_project(votes_wanted=40, allocation="adaptive", min_votes=10, spammer_action="pause")
    clear = make_images(project, 20)
    open_ = make_images(project, 5)
    honest = [make_annotator(project) for _ in range(25)]
    put_votes(clear, honest, lambda image, user: 3)  # unanimous happiness, 25 votes each
    sad = {u.pk for u in honest[:2]}
    # 10 happiness and 2 sadness: sadness sits on the 1/7 threshold, the outcome is open.
    put_votes(open_, honest[:12], lambda image, user: 4 if user.pk in sad else 3)
    spammer = make_annotator(project)
    rows = [Vote(image=i, annotator=spammer, label=5, time_taken_ms=0) for i in clear[:15]]
    Vote.objects.bulk_create(rows)
    for image in clear[:15]:
        Image.objects.filter(pk=image.pk).update(counted_votes=26)

    live = live_reliability_update(project=project)

    assert live is not None and live.computed_at and live.votes == 25 * 20 + 12 * 5 + 15
    flag = AnnotatorFlag.objects.get(project=project, annotator=spammer)
    assert flag.status == FlagStatus.PAUSED and flag.reason in {"answer time", "straight-lining", "random answers"}
    with pytest.raises(ServiceError) as refused:
        assignment_claim_next(annotator=spammer, project=project, count=1)
    assert refused.value.code == "paused" and "paused" in refused.value.message
    wanted = dict(Image.objects.filter(project=project).values_list("pk", "votes_wanted"))
    assert all(wanted[i.pk] == Image.objects.get(pk=i.pk).counted_votes for i in clear)  # retired
    assert all(wanted[i.pk] == 40 for i in open_), (live.prior, [(wanted[i.pk], i.counted_votes) for i in open_])
    served = assignment_claim_next(annotator=make_annotator(project), project=project, count=2)
    assert {a.image_id for a in served} <= {i.pk for i in open_}

    flag_review(flag=flag, action="exclude", by=make_user("admin"))
    assert not Vote.objects.filter(annotator=spammer, counted=True).exists()
    assert all(Image.objects.get(pk=i.pk).votes_wanted == 40 for i in clear[:15])  # back in the pool
    assert_counters_consistent(project)


def test_the_beat_task_updates_only_projects_that_are_due():
    project = make_project(votes_wanted=5)
    images = make_images(project, 3)
    put_votes(images, [make_annotator(project) for _ in range(3)], lambda image, user: 1)
    assert live_reliability_update_due(every_votes=1000, every_s=3600) == 1
    assert LiveReliability.objects.filter(project=project).exists()
    assert live_reliability_update_due(every_votes=1000, every_s=3600) == 0


def test_an_admin_can_resume_and_clear_a_flag():
    project = make_project()
    user = make_annotator(project)
    flag = AnnotatorFlag.objects.create(project=project, annotator=user, reason="answer time", status="paused")
    admin = make_user("admin")
    assert flag_review(flag=flag, action="resume", by=admin).status == FlagStatus.FLAGGED
    assert flag_review(flag=flag, action="clear", by=admin).status == FlagStatus.CLEARED
    with pytest.raises(ServiceError):
        flag_review(flag=flag, action="forgive", by=admin)

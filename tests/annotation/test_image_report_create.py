from __future__ import annotations

import pytest

from annotation.errors import ServiceError
from annotation.models import Assignment, ImageReport, Vote
from annotation.models.assignment import AssignmentStatus
from annotation.services.assignment import assignment_claim_next
from annotation.services.votes import image_report_create, vote_create
from tests.annotation.factories import assert_counters_consistent, make_annotator, make_images, make_project

pytestmark = pytest.mark.django_db


def test_it_flags_the_image_and_releases_the_reservation_without_a_vote():
    project = make_project()
    make_images(project, 2)
    user = make_annotator(project)
    [a] = assignment_claim_next(annotator=user, project=project)
    report = image_report_create(annotator=user, assignment=a, reason="")
    assert report.image_id == a.image_id and report.reason == "no face / can't see"
    assert Assignment.objects.get(pk=a.pk).status == AssignmentStatus.REPORTED
    assert not Vote.objects.exists()
    assert_counters_consistent(project)
    # Reported images are not served again to the reporter.
    [b] = assignment_claim_next(annotator=user, project=project)
    assert b.image_id != a.image_id


def test_it_refuses_a_vote_after_a_report_and_a_second_report():
    project = make_project()
    make_images(project, 1)
    user = make_annotator(project)
    [a] = assignment_claim_next(annotator=user, project=project)
    image_report_create(annotator=user, assignment=a, reason="too dark")
    a = Assignment.objects.select_related("image__project").get(pk=a.pk)
    with pytest.raises(ServiceError) as caught:
        vote_create(annotator=user, assignment=a, label=0, time_taken_ms=1)
    assert caught.value.code == "already_reported"
    with pytest.raises(ServiceError):
        image_report_create(annotator=user, assignment=a, reason="again")
    assert ImageReport.objects.count() == 1


def test_it_refuses_a_report_on_someone_elses_assignment():
    project = make_project()
    make_images(project, 1)
    owner, intruder = make_annotator(project), make_annotator(project)
    [a] = assignment_claim_next(annotator=owner, project=project)
    with pytest.raises(ServiceError) as caught:
        image_report_create(annotator=intruder, assignment=a, reason="x")
    assert caught.value.status_code == 403
    assert not ImageReport.objects.exists()

"""Finishing a study: the quota (or the end of the work) completes, a failed quiz screens out."""

from __future__ import annotations

import pytest

from annotation.errors import ServiceError
from annotation.services.studies import (
    PROLIFIC_RETURN_URL,
    study_enrolment_complete,
    study_enrolment_screen_out,
    study_return_url,
)
from tests.annotation.study_factories import enter, label_faces, make_study, study_project

pytestmark = pytest.mark.django_db


def test_it_refuses_to_complete_before_the_quota():
    enrolment = enter(make_study(quota=3))
    assert label_faces(enrolment, 2) == 2
    with pytest.raises(ServiceError) as refused:
        study_enrolment_complete(enrolment=enrolment)
    assert refused.value.code == "quota_not_reached"
    assert refused.value.details == {"votes": 2, "quota": 3}


def test_it_completes_at_the_quota():
    enrolment = enter(make_study(quota=3))
    label_faces(enrolment, 3)
    assert study_enrolment_complete(enrolment=enrolment).status == "completed"


def test_it_completes_early_when_the_project_has_no_more_work_for_the_participant():
    enrolment = enter(make_study(project=study_project(regular=2), quota=10))
    assert label_faces(enrolment, 10) == 2
    assert study_enrolment_complete(enrolment=enrolment).completed_at is not None


def test_it_never_completes_a_screened_out_participant_nor_screens_out_a_completed_one():
    out = enter(make_study(quota=1), "60aaaaaaaaaaaaaaaaaaaaaa")
    study_enrolment_screen_out(enrolment=out)
    with pytest.raises(ServiceError) as refused:
        study_enrolment_complete(enrolment=out)
    assert refused.value.code == "screened_out"

    done = enter(make_study(quota=1))
    label_faces(done, 1)
    study_enrolment_complete(enrolment=done)
    assert study_enrolment_screen_out(enrolment=done).status == "completed"


def test_it_puts_the_code_into_prolifics_return_url_by_default():
    study = make_study()
    assert study.return_url == PROLIFIC_RETURN_URL
    assert study_return_url(study=study, code="C1234ABC") == "https://app.prolific.com/submissions/complete?cc=C1234ABC"
    assert study_return_url(study=study, code="a b&c").endswith("cc=a%20b%26c")


def test_it_never_completes_a_participant_who_has_not_passed_the_quiz_even_on_an_empty_project():
    enrolment = enter(make_study(project=study_project(regular=0), quota=3))
    with pytest.raises(ServiceError) as refused:
        study_enrolment_complete(enrolment=enrolment)
    assert refused.value.code == "not_qualified"


def test_the_database_refuses_a_vote_past_the_quota_whatever_path_sends_it():
    """A participant who scripts the API cannot give more votes than the study's quota: the
    vote that would pass it is refused (quota_reached) and nothing of it is stored."""
    from rest_framework.test import APIClient

    from annotation.models import Vote

    enrolment = enter(make_study(quota=2))
    assert label_faces(enrolment, 2) == 2
    client = APIClient()
    client.force_authenticate(enrolment.annotator)
    project = enrolment.study.project
    claimed = client.post(f"/api/v1/projects/{project.pk}/claim", {"count": 1}, format="json").json()["assignments"]
    assert claimed
    response = client.post(f"/api/v1/assignments/{claimed[0]['id']}/vote", {"label": 1}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "quota_reached"
    assert Vote.objects.filter(annotator=enrolment.annotator).count() == 2
    with pytest.raises(ServiceError) as refused:
        label_faces(enrolment, 1)
    assert refused.value.code == "quota_reached"

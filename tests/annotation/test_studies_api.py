"""Studies through the API: admins only, participant ids only in the work log."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Study, StudyParticipantLink
from tests.annotation.study_factories import enter, label_faces, make_study, study_project
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PID = "5f0c0a1b2c3d4e5f60718293"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_it_lets_admins_create_list_and_close_studies():
    admin = client_for(make_user(role="admin"))
    project = study_project()
    payload = {"project": project.pk, "market": "mturk", "quota": 20, "completion_code": "DONE42"}
    response = admin.post(reverse("api:study-list"), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["market"] == "mturk" and body["is_open"] and body["entry_url"].startswith("/study/")
    assert [s["id"] for s in admin.get(reverse("api:study-list")).json()] == [body["id"]]
    closed = admin.post(reverse("api:study-close", args=[body["id"]]), {}, format="json").json()
    assert closed["is_open"] is False and closed["closed_at"]
    reopened = admin.post(reverse("api:study-close", args=[body["id"]]), {"open": True}, format="json").json()
    assert reopened["is_open"] is True


@pytest.mark.parametrize(
    "payload",
    [
        {"market": "ebay", "quota": 5, "completion_code": "X"},
        {"market": "prolific", "quota": 0, "completion_code": "X"},
        {"market": "prolific", "quota": 5, "completion_code": ""},
        {"market": "prolific", "quota": 5, "completion_code": "X", "bonus_per_vote": "-1"},
    ],
)
def test_it_refuses_a_bad_study(payload):
    admin = client_for(make_user(role="admin"))
    response = admin.post(reverse("api:study-list"), {"project": study_project().pk, **payload}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert not Study.objects.exists()


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_it_shows_studies_and_work_logs_to_admins_only(role):
    study = make_study()
    enter(study, PID)
    client = client_for(make_user(role=role))
    for url in (
        reverse("api:study-list"),
        reverse("api:study-detail", args=[study.pk]),
        reverse("api:study-work-log", args=[study.pk]),
        reverse("api:study-work-log-csv", args=[study.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403 and PID not in response.content.decode()


def test_it_gives_admins_the_work_log_and_its_csv():
    study = make_study(quota=2)
    label_faces(enter(study, PID, session_id="S1"), 2)
    admin = client_for(make_user(role="admin"))
    [row] = admin.get(reverse("api:study-work-log", args=[study.pk])).json()
    assert row["participant_id"] == PID and row["votes"] == 2 and row["status"] == "started"
    response = admin.get(reverse("api:study-work-log-csv", args=[study.pk]) + "?kind=worklog", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines()[1].startswith(f"{PID},S1,started,2,")
    bad = admin.get(reverse("api:study-work-log-csv", args=[study.pk]) + "?kind=nope")
    assert bad.status_code == 400


def test_it_lets_admins_delete_a_studys_participant_links():
    study, other = make_study(), make_study()
    enter(study, PID)
    enter(other, PID)
    admin = client_for(make_user(role="admin"))
    response = admin.delete(reverse("api:study-participant-links", args=[study.pk]))
    assert response.json() == {"deleted": 1}
    assert list(StudyParticipantLink.objects.values_list("study_id", flat=True)) == [other.pk]

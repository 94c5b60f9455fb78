"""Study pages through Django's test client: entry, the gate around a participant's
account, the end pages, the rate limit and the admin pages."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from annotation.models import StudyEnrolment
from annotation.services.qualification import qualification_mark_tutorial_read
from annotation.services.studies import study_close
from tests.annotation.study_factories import enter, label_faces, make_study, study_project
from tests.factories import make_project, make_user

pytestmark = pytest.mark.django_db
PID = "5f0c0a1b2c3d4e5f60718293"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


def _entry(study, **params):
    query = params or {"PROLIFIC_PID": PID, "STUDY_ID": "st", "SESSION_ID": "se"}
    return reverse("frontend:study_entry", args=[study.entry_key]), query


def test_it_logs_a_new_participant_in_and_sends_them_to_the_tutorial(client):
    study = make_study()
    url, query = _entry(study)
    response = client.get(url, query)
    assert response.status_code == 302
    assert response.url == reverse("frontend:tutorial", args=[study.project_id])
    enrolment = StudyEnrolment.objects.get(study=study)
    assert int(client.session["_auth_user_id"]) == enrolment.annotator_id
    assert PID.encode() not in client.get(response.url).content


def test_it_resumes_the_same_account_from_another_browser_at_its_step():
    study = make_study()
    url, query = _entry(study)
    Client().get(url, query)
    enrolment = StudyEnrolment.objects.get(study=study)
    qualification_mark_tutorial_read(annotator=enrolment.annotator, project=study.project)
    other = Client()
    response = other.get(url, query)
    assert response.url == reverse("frontend:quiz", args=[study.project_id])
    assert int(other.session["_auth_user_id"]) == enrolment.annotator_id
    assert StudyEnrolment.objects.count() == 1


def test_it_rate_limits_the_entry_url(client, settings):
    settings.RAF_STUDY_ENTRY_RATE = "3/min"
    study = make_study()
    statuses = [client.get(*_entry(study, PROLIFIC_PID=f"60aaaaaaaaaaaaaaaaaaaa{i:02d}")).status_code for i in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    assert StudyEnrolment.objects.count() == 3


@pytest.mark.parametrize(
    ("market", "params", "status", "text"),
    [
        ("prolific", {}, 400, b"PROLIFIC_PID"),
        ("mturk", {"workerId": "A1", "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"}, 200, b"Accept the HIT"),
    ],
)
def test_it_explains_a_link_without_a_participant_and_the_mturk_preview(client, market, params, status, text):
    study = make_study(market=market)
    response = client.get(reverse("frontend:study_entry", args=[study.entry_key]), params)
    assert response.status_code == status and text in response.content
    assert not StudyEnrolment.objects.exists()


def test_it_turns_new_participants_away_from_a_closed_link(client):
    study = make_study()
    study_close(study=study)
    response = client.get(*_entry(study))
    assert response.status_code == 410 and b"closed" in response.content


def test_it_keeps_a_participant_on_their_own_project(client):
    study = make_study()
    other = make_project(name="Someone else's")
    client.get(*_entry(study))
    tutorial = reverse("frontend:tutorial", args=[study.project_id])
    for url in (
        reverse("frontend:home"),
        reverse("frontend:tutorial", args=[other.pk]),
        reverse("frontend:label", args=[other.pk]),
    ):
        assert client.get(url).url == tutorial


def test_it_screens_a_participant_out_on_a_failed_quiz_and_shows_the_screened_out_code(client):
    study = make_study(project=study_project(quiz_retry_delay_s=600))
    client.get(*_entry(study))
    client.post(reverse("frontend:tutorial", args=[study.project_id]))
    quiz = client.get(reverse("frontend:quiz", args=[study.project_id]))
    response = client.post(reverse("frontend:quiz", args=[study.project_id]), {"token": quiz.context["token"]})
    assert response.url == reverse("frontend:study_screened_out")
    page = client.get(response.url)
    assert b"SCREEN01" in page.content and b"C1234ABC" not in page.content
    assert b"cc=SCREEN01" in page.content
    # No second try: the quiz and the completion page lead back to the screened-out page.
    assert client.get(reverse("frontend:quiz", args=[study.project_id])).url == response.url
    assert client.get(reverse("frontend:study_done")).url == response.url


def test_it_shows_the_completion_code_only_at_the_quota(client):
    study = make_study(quota=2)
    client.get(*_entry(study))
    enrolment = StudyEnrolment.objects.get(study=study)
    label_faces(enrolment, 1)
    label_page = client.get(reverse("frontend:label", args=[study.project_id]))
    assert b'data-quota="2"' in label_page.content and b"data-done-url" in label_page.content
    assert client.get(reverse("frontend:study_done")).url == reverse("frontend:label", args=[study.project_id])
    label_faces(enrolment, 1)
    page = client.get(reverse("frontend:study_done"))
    assert page.status_code == 200 and b"C1234ABC" in page.content
    assert b"https://app.prolific.com/submissions/complete?cc=C1234ABC" in page.content
    assert client.get(reverse("frontend:label", args=[study.project_id])).url == reverse("frontend:study_done")


def test_it_submits_the_hit_to_mturk_at_the_end(client):
    study = make_study(market="mturk", quota=1)
    url = reverse("frontend:study_entry", args=[study.entry_key])
    client.get(
        url,
        {"workerId": "A1B2", "assignmentId": "ASG9", "hitId": "H1", "turkSubmitTo": "https://workersandbox.mturk.com"},
    )
    label_faces(StudyEnrolment.objects.get(study=study), 1)
    page = client.get(reverse("frontend:study_done")).content.decode()
    assert 'action="https://workersandbox.mturk.com/mturk/externalSubmit"' in page
    assert 'name="assignmentId" value="ASG9"' in page


def test_it_never_posts_the_hit_to_a_host_that_is_not_mturk(client):
    study = make_study(market="mturk", quota=1)
    url = reverse("frontend:study_entry", args=[study.entry_key])
    client.get(url, {"workerId": "A1B2", "assignmentId": "ASG9", "hitId": "H1", "turkSubmitTo": "https://evil.example"})
    label_faces(StudyEnrolment.objects.get(study=study), 1)
    assert b"evil.example" not in client.get(reverse("frontend:study_done")).content


def test_it_lets_admins_create_a_study_and_read_its_work_log(client):
    client.force_login(make_user(role="admin"))
    project = study_project()
    response = client.post(
        reverse("frontend:studies"),
        {"project": project.pk, "name": "Pilot", "market": "prolific", "quota": 5, "completion_code": "CODE77"},
    )
    assert response.status_code == 302, response.content
    study = project.studies.get()
    enter(study, PID)
    page = client.get(response.url).content.decode()
    assert "PROLIFIC_PID={{%PROLIFIC_PID%}}&amp;STUDY_ID={{%STUDY_ID%}}" in page and PID in page
    csv_text = client.get(reverse("frontend:study_csv", args=[study.pk, "worklog"])).content.decode()
    assert csv_text.splitlines()[1].startswith(f"{PID},")
    client.post(reverse("frontend:study_links_forget", args=[study.pk]), {"confirm": "on"})
    assert PID not in client.get(response.url).content.decode()


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_it_keeps_study_pages_from_everyone_but_admins(client, role):
    study = make_study()
    enter(study, PID)
    client.force_login(make_user(role=role))
    for url in (
        reverse("frontend:studies"),
        reverse("frontend:study", args=[study.pk]),
        reverse("frontend:study_csv", args=[study.pk, "worklog"]),
    ):
        response = client.get(url)
        assert response.status_code == 403 and PID.encode() not in response.content


def test_it_shows_mturk_a_frameable_page_that_opens_the_task_in_a_tab_and_submits_the_code(client):
    study = make_study(market="mturk")
    url = reverse("frontend:study_entry", args=[study.entry_key])
    params = {"workerId": "A1B2", "assignmentId": "ASG9", "hitId": "H1", "turkSubmitTo": "https://www.mturk.com"}
    framed = client.get(url, params, HTTP_SEC_FETCH_DEST="iframe")
    assert framed.status_code == 200 and "X-Frame-Options" not in framed
    page = framed.content.decode()
    assert 'action="https://www.mturk.com/mturk/externalSubmit"' in page and 'value="ASG9"' in page
    assert "raf_tab=1" in page and 'target="_blank"' in page
    assert not StudyEnrolment.objects.exists()  # the tab makes the account, not the frame
    # Every other page stays unframeable.
    assert client.get(url, params)["Location"] and client.get(reverse("frontend:login"))["X-Frame-Options"] == "DENY"


def test_it_asks_the_tab_opened_from_the_mturk_frame_to_paste_the_code_back(client):
    study = make_study(market="mturk", quota=1)
    url = reverse("frontend:study_entry", args=[study.entry_key])
    params = {"workerId": "A1B2", "assignmentId": "ASG9", "hitId": "H1", "turkSubmitTo": "https://www.mturk.com"}
    client.get(url, {**params, "raf_tab": "1"})
    label_faces(StudyEnrolment.objects.get(study=study), 1)
    page = client.get(reverse("frontend:study_done")).content.decode()
    assert "C1234ABC" in page and "HIT's window" in page and "externalSubmit" not in page

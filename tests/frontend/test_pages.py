"""Pages through Django's test client: who sees what, and the journey's server side."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.models import Qualification, Vote
from tests.factories import RUNNING_LEASE, make_image, make_project, make_qualified, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    project = make_project(quiz_questions=2, quiz_pass_mark=1.0, quiz_retry_delay_s=600)
    for label in range(7):
        make_image(project=project, gold_label=label)
    make_image(project=project, gold_label=3)
    make_image(project=project, gold_label=5)
    return project


def _client(client, user):
    client.force_login(user)
    return client


def test_it_sends_anonymous_visitors_to_log_in(client, project):
    response = client.get(reverse("frontend:label", kwargs={"project_id": project.pk}))
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_it_shows_visitors_the_landing_page_with_sign_in(client, project):
    html = client.get(reverse("frontend:home")).content.decode()
    assert "crowd votes on face photos" in html and 'href="/login/"' in html and 'href="/signup/"' in html
    assert project.name not in html


def test_it_signs_up_an_annotator_and_logs_them_in(client):
    response = client.post(
        reverse("frontend:signup"),
        {"username": "newbie", "email": "", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert user.groups.filter(name="annotator").exists() and hasattr(user, "annotator")
    assert client.get(reverse("frontend:home")).status_code == 200


def test_it_refuses_a_sign_up_with_a_taken_name_and_changes_nothing(client):
    make_user(username="taken")
    response = client.post(
        reverse("frontend:signup"),
        {"username": "taken", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    assert response.status_code == 200 and b"is taken" in response.content
    assert User.objects.filter(username="taken").count() == 1


def test_it_keeps_staff_pages_from_annotators(client, project):
    _client(client, make_user())
    for name, kwargs in [
        ("frontend:dashboard", {"project_id": project.pk}),
        ("frontend:dashboard_data", {"project_id": project.pk}),
        ("frontend:annotators_invite", {}),
        ("frontend:tutorial_edit", {"project_id": project.pk}),
        ("frontend:image", {"image_id": project.images.first().pk}),
    ]:
        assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_it_walks_tutorial_then_quiz_and_shows_only_the_score_on_failure(client, project):
    annotator = make_user()
    _client(client, annotator)
    assert client.get(reverse("frontend:label", args=[project.pk])).url == reverse(
        "frontend:tutorial", args=[project.pk]
    )
    page = client.get(reverse("frontend:tutorial", args=[project.pk]))
    assert b"most apparent" in page.content and page.content.count(b"/tutorial/example/") == 7
    assert client.get(reverse("frontend:tutorial_example", args=[project.pk, 0])).status_code == 200
    client.post(reverse("frontend:tutorial", args=[project.pk]))
    quiz = client.get(reverse("frontend:quiz", args=[project.pk]))
    assert quiz.status_code == 200
    token = quiz.context["token"]
    ids = [q["image"].pk for q in quiz.context["questions"]]
    # Pictures are named by position: no image id in the page.
    assert all(f"/images/{i}/".encode() not in quiz.content for i in ids)
    assert client.get(reverse("frontend:quiz_picture", args=[project.pk, 1])).status_code == 200
    gold = {q["image"].pk: q["image"].gold_label for q in quiz.context["questions"]}
    wrong = {f"answer-{n}": (gold[i] + 1) % 7 for n, i in enumerate(ids)}
    result = client.post(reverse("frontend:quiz", args=[project.pk]), {"token": token, **wrong})
    assert b"0 of 2" in result.content
    for label in ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"):
        assert label.encode() not in result.content.lower()
    wait = client.get(reverse("frontend:quiz", args=[project.pk]))
    assert b"again" in wait.content and "token" not in wait.context


def test_it_qualifies_after_a_passed_quiz(client, project):
    annotator = make_user()
    _client(client, annotator)
    client.post(reverse("frontend:tutorial", args=[project.pk]))
    quiz = client.get(reverse("frontend:quiz", args=[project.pk]))
    right = {f"answer-{n}": q["image"].gold_label for n, q in enumerate(quiz.context["questions"])}
    response = client.post(reverse("frontend:quiz", args=[project.pk]), {"token": quiz.context["token"], **right})
    assert response.url == reverse("frontend:label", args=[project.pk])
    assert Qualification.objects.get(annotator=annotator, project=project).is_qualified
    label_page = client.get(reverse("frontend:label", args=[project.pk]))
    assert label_page.status_code == 200 and label_page.content.count(b'role="radio"') == 7


def test_it_creates_annotators_from_a_csv_all_or_nothing(client):
    _client(client, make_user(role="admin"))
    good = SimpleUploadedFile(
        "a.csv", b"username,email,password\nann1,a1@example.org,a-long-pass-phrase\nann2,a2@example.org\n"
    )
    response = client.post(reverse("frontend:annotators_invite"), {"bulk-csv_file": good})
    assert response.status_code == 200 and len(response.context["created"]) == 2
    assert User.objects.get(username="ann1").has_usable_password()
    assert not User.objects.get(username="ann2").has_usable_password()
    assert "/set-password/" in response.context["created"][1]["link"]
    bad = SimpleUploadedFile("b.csv", b"ann3,a3@example.org\nann1,dup@example.org\nbad name!,x@example.org\n")
    response = client.post(reverse("frontend:annotators_invite"), {"bulk-csv_file": bad})
    assert response.context["errors"] and not User.objects.filter(username="ann3").exists()


def test_it_invites_one_annotator_with_a_working_set_password_link(client):
    _client(client, make_user(role="admin"))
    response = client.post(reverse("frontend:annotators_invite"), {"invite-username": "guest", "invite-email": ""})
    link = response.context["created"][0]["link"]
    client.logout()
    form = client.get(link, follow=True)
    assert form.context["validlink"]
    client.post(
        form.redirect_chain[-1][0], {"new_password1": "another-long-phrase", "new_password2": "another-long-phrase"}
    )
    assert User.objects.get(username="guest").check_password("another-long-phrase")


def test_it_shows_votes_and_reliability_on_the_dashboard_data(client, project):
    from annotation.models import AnnotatorReliability, Job, ReliabilityRun

    annotator = make_user()
    image = make_image(project=project)
    Vote.objects.create(image=image, annotator=annotator, label=3, time_taken_ms=900)
    run = ReliabilityRun.objects.create(project=project, succeeded=True, is_current=True)
    Job.objects.create(
        kind="reliability", project=project, status="running", **RUNNING_LEASE, progress=0.4, message="EM step 3"
    )
    AnnotatorReliability.objects.create(run=run, annotator=annotator, reliability=0.87, kept=True, votes=1)
    _client(client, make_user(role="researcher"))
    data = client.get(reverse("frontend:dashboard_data", args=[project.pk])).json()
    assert data["images"]["ready"] == 1 and data["images"]["gold"] == 9
    assert sum(point["votes"] for point in data["votes_per_hour"]) == 1
    (row,) = data["annotators"]
    assert (row["username"], row["votes"], row["median_time_ms"], row["reliability"]) == (
        annotator.username,
        1,
        900.0,
        0.87,
    )
    assert [row["id"] for row in data["recent_images"]] == [image.pk]
    assert [(job["kind"], job["progress"], job["message"]) for job in data["jobs"]] == [
        ("reliability", 0.4, "EM step 3")
    ]
    lookup = client.get(reverse("frontend:image_lookup"), {"id": image.pk})
    assert lookup.url == reverse("frontend:image", args=[image.pk])
    page = client.get(reverse("frontend:dashboard", args=[project.pk]))
    assert page.status_code == 200 and annotator.username.encode() in page.content


def test_it_draws_the_face_box_landmarks_and_vote_histogram(client, project):
    image = make_image(project=project, face=True)
    voters = [make_user() for _ in range(3)]
    for voter, label in zip(voters, [3, 3, 0], strict=True):
        Vote.objects.create(image=image, annotator=voter, label=label)
    _client(client, make_user(role="researcher"))
    response = client.get(reverse("frontend:image", args=[image.pk]))
    assert response.status_code == 200
    assert response.content.count(b'class="landmark"') == 5 and b'class="face-box"' in response.content
    assert [bar["count"] for bar in response.context["bars"]] == [1, 0, 0, 2, 0, 0, 0]


def test_it_sends_a_qualified_annotator_straight_to_labelling(client, project):
    annotator = make_user()
    make_qualified(annotator=annotator, project=project)
    _client(client, annotator)
    home = client.get(reverse("frontend:home"))
    assert reverse("frontend:label", args=[project.pk]).encode() in home.content


def test_the_dashboard_links_a_staff_admin_to_the_flags_to_review(client, project):
    from django.utils import timezone

    from annotation.models import AnnotatorFlag, LiveReliability

    LiveReliability.objects.create(project=project, computed_at=timezone.now(), votes=10)
    flagged = AnnotatorFlag.objects.create(project=project, annotator=make_user(), reason="answer time")
    AnnotatorFlag.objects.create(project=project, annotator=make_user(), reason="answer time", status="cleared")
    AnnotatorFlag.objects.create(project=make_project(), annotator=make_user(), reason="answer time")
    dashboard = reverse("frontend:dashboard", kwargs={"project_id": project.pk})

    researcher = make_user(role="researcher")
    page = _client(client, researcher).get(dashboard).content.decode()
    assert "1 annotator flag to review" in page and 'id="review-flags"' not in page  # no admin site for them

    admin = make_user(role="admin")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    page = _client(client, admin).get(dashboard).content.decode()
    link = re.search(r'id="review-flags" href="([^"]+)"', page)
    assert link, page
    queue = client.get(link.group(1).replace("&amp;", "&"))
    assert queue.status_code == 200
    # The admin's queue shows this project's open flag, not the cleared one nor another project's.
    assert list(queue.context["cl"].result_list) == [flagged]

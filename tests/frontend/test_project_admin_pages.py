"""Admins create projects, edit their settings and import images in the browser."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotation.models import Project
from frontend.views.project_admin import SETTINGS_FIELDS
from tests.factories import make_image, make_project, make_user

pytestmark = pytest.mark.django_db


def test_it_creates_a_project_from_the_page_and_sends_the_admin_to_the_import(client):
    client.force_login(make_user(role="admin"))
    response = client.post(
        reverse("frontend:project_create"),
        {
            "name": "Street faces",
            "description": "Faces from street photos.",
            "votes_wanted": 10,
            "gold_rate": 0.1,
            "probation_answers": 20,
            "probation_gold_rate": 0.4,
            "allocation": "adaptive",
            "min_votes": 8,
            "stop_confidence": 0.97,
            "spammer_action": "pause",
            "reservation_timeout_s": 300,
            "subset_min_votes": 3,
            "quiz_questions": 5,
            "quiz_pass_mark": 0.6,
            "quiz_retry_delay_s": 60,
            "tutorial_text": "",
            "licence_text": "CC BY 4.0",
        },
    )
    project = Project.objects.get(name="Street faces")
    assert response.status_code == 302 and response.url == reverse("frontend:project_import", args=[project.pk])
    assert (project.votes_wanted, project.subset_min_votes, project.quiz_pass_mark) == (10, 3, 0.6)
    assert (project.probation_answers, project.probation_gold_rate) == (20, 0.4)
    assert (project.allocation, project.min_votes, project.stop_confidence, project.spammer_action) == (
        "adaptive",
        8,
        0.97,
        "pause",
    )
    home = client.get(reverse("frontend:home")).content.decode()
    assert "Faces from street photos." in home


def test_it_edits_every_listed_setting_and_reaches_the_images(client):
    project = make_project(votes_wanted=40)
    image = make_image(project=project)
    client.force_login(make_user(role="admin"))
    page = client.get(reverse("frontend:project_settings", args=[project.pk])).content.decode()
    for name in SETTINGS_FIELDS:
        assert f'name="{name}"' in page, name
    data = {name: getattr(project, name) for name in SETTINGS_FIELDS}
    data.update(votes_wanted=12, gold_rate=2)
    bad = client.post(reverse("frontend:project_settings", args=[project.pk]), data)
    assert bad.status_code == 200 and 'class="errorlist"' in bad.content.decode()
    data["gold_rate"] = 0.2
    response = client.post(reverse("frontend:project_settings", args=[project.pk]), data)
    assert response.status_code == 302
    project.refresh_from_db()
    image.refresh_from_db()
    assert project.votes_wanted == 12 and project.gold_rate == 0.2 and image.votes_wanted == 12


def test_it_keeps_the_admin_pages_from_researchers_and_annotators(client):
    project = make_project()
    for role in ("researcher", "annotator"):
        client.force_login(make_user(role=role))
        for name, args in [
            ("frontend:project_create", []),
            ("frontend:project_settings", [project.pk]),
            ("frontend:project_import", [project.pk]),
        ]:
            assert client.get(reverse(name, args=args)).status_code == 403


def test_it_serves_the_import_page_with_its_api(client):
    project = make_project()
    client.force_login(make_user(role="admin"))
    html = client.get(reverse("frontend:project_import", args=[project.pk])).content.decode()
    assert f'data-url="/api/v1/projects/{project.pk}/imports"' in html and "webkitdirectory" in html

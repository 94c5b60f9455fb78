from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.models import AnnotatorFlag, Image, Vote
from tests.annotation.factories import make_annotator, make_images, make_project, make_user

pytestmark = [pytest.mark.django_db]


def client_for(role: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user(role))
    return client


def test_an_admin_lists_and_excludes_a_flagged_annotator():
    project = make_project(votes_wanted=3)
    images = make_images(project, 2)
    spammer = make_annotator(project)
    Vote.objects.bulk_create([Vote(image=i, annotator=spammer, label=0, time_taken_ms=0) for i in images])
    Image.objects.filter(pk__in=[i.pk for i in images]).update(counted_votes=1)
    flag = AnnotatorFlag.objects.create(project=project, annotator=spammer, reason="answer time", answers_at_flag=2)
    admin = client_for("admin")

    listed = admin.get(f"/api/v1/projects/{project.pk}/flags?status=flagged")
    assert listed.status_code == 200 and [row["id"] for row in listed.json()] == [flag.pk]
    done = admin.post(f"/api/v1/flags/{flag.pk}/review", {"action": "exclude"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "excluded"
    assert done.json()["evidence"]["votes_excluded"] == 2
    assert list(Image.objects.filter(project=project).values_list("counted_votes", flat=True)) == [0, 0]


def test_it_refuses_an_unknown_action_and_non_admins():
    project = make_project()
    flag = AnnotatorFlag.objects.create(project=project, annotator=make_annotator(project), reason="answer time")
    bad = client_for("admin").post(f"/api/v1/flags/{flag.pk}/review", {"action": "forgive"}, format="json")
    assert bad.status_code == 400
    assert client_for("researcher").get(f"/api/v1/projects/{project.pk}/flags").status_code == 403
    assert client_for("admin").get(f"/api/v1/projects/{project.pk}/flags?status=maybe").status_code == 400
    assert client_for("admin").get(f"/api/v1/projects/{project.pk}/live-reliability").status_code == 404

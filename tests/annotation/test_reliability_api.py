from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotation.models import ReliabilityRun
from annotation.services.reliability import reliability_run_execute
from annotation.services.simulation import votes_simulate
from tests.annotation.reliability_factories import make_images, make_project, make_user

pytestmark = pytest.mark.django_db


def client_for(role: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(make_user(role))
    return client


@pytest.fixture
def project():
    project = make_project(votes_wanted=6)
    make_images(project, 40)
    votes_simulate(project=project, annotators=12, votes_per_image=6, seed=2)
    return project


def test_admins_start_a_run_and_a_second_trigger_returns_it(project) -> None:
    client = client_for("admin")
    url = f"/api/v1/projects/{project.pk}/reliability-runs"
    first = client.post(url, {"method": "glad", "params": {"keep_fraction": 0.4}}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "queued" and first.json()["params"]["keep_fraction"] == 0.4
    second = client.post(url, {"method": "ds"}, format="json")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_only_admins_start_runs(project, role: str) -> None:
    response = client_for(role).post(f"/api/v1/projects/{project.pk}/reliability-runs", {}, format="json")
    assert response.status_code == 403
    assert not ReliabilityRun.objects.exists()


def test_bad_input_gets_the_one_error_shape(project) -> None:
    client = client_for("admin")
    url = f"/api/v1/projects/{project.pk}/reliability-runs"
    assert client.post(url, {"method": "best"}, format="json").json()["error"]["code"] == "invalid"
    response = client.post(url, {"params": {"speed": 2}}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_params"
    assert client.post("/api/v1/projects/999999/reliability-runs", {}, format="json").status_code == 404


def test_researchers_list_runs_and_read_per_annotator_results(project) -> None:
    run = ReliabilityRun.objects.create(project=project, method="glad")
    reliability_run_execute(run=run)
    client = client_for("researcher")
    listing = client.get(f"/api/v1/projects/{project.pk}/reliability-runs").json()["results"]
    assert [r["id"] for r in listing] == [run.pk]
    assert listing[0]["status"] == "succeeded" and listing[0]["is_current"]
    detail = client.get(f"/api/v1/reliability-runs/{run.pk}").json()
    assert len(detail["annotators"]) == 12
    row = detail["annotators"][0]
    assert set(row) == {"annotator", "pseudonym", "reliability", "kept", "votes"}
    assert row["pseudonym"] and row["votes"] > 0
    assert detail["metrics"]["votes"] == 240


def test_annotators_cannot_read_runs(project) -> None:
    run = ReliabilityRun.objects.create(project=project)
    assert client_for("annotator").get(f"/api/v1/reliability-runs/{run.pk}").status_code == 403

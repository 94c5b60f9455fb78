"""Reliability and training run pages (Django test client), each page for each role."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client

from annotation.models import (
    DatasetExport,
    Face,
    Job,
    JobStatus,
    Project,
    Qualification,
    ReliabilityRun,
    TrainingRun,
)
from annotation.services.simulation import votes_simulate
from tests.annotation.export_factories import make_image, user
from tests.annotation.test_training_service import TINY_CONFIG, project_with_labels  # noqa: F401 (fixture)
from tests.factories import RUNNING_LEASE

pytestmark = pytest.mark.django_db
ROLES = ("annotator", "researcher", "admin")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def simulated_project(*, images: int = 12, annotators: int = 6, seed: int = 0) -> Project:
    """A tiny project with real photos, faces and a simulated crowd's votes (no run yet)."""
    project = Project.objects.create(name=f"simulated {seed}", votes_wanted=5, licence_text="CC BY 4.0")
    for i in range(images):
        make_image(project, seed * 1000 + i)
    votes_simulate(project=project, annotators=annotators, votes_per_image=5, spammers=0.2, seed=seed)
    return project


def as_role(role: str) -> Client:
    client = Client()
    client.force_login(user(f"{role}-{Client.__name__}-{id(client)}", role))
    return client


def recompute(project: Project, captured) -> ReliabilityRun:
    admin = as_role("admin")
    with captured(execute=True):
        response = admin.post(f"/api/v1/projects/{project.pk}/reliability-runs", {}, content_type="application/json")
    assert response.status_code == 201, response.content
    return ReliabilityRun.objects.get(pk=response.json()["id"])


@pytest.fixture
def run(django_capture_on_commit_callbacks) -> ReliabilityRun:
    project = simulated_project()
    run = recompute(project, django_capture_on_commit_callbacks)
    assert run.succeeded and run.is_current
    return run


def test_it_keeps_run_pages_from_annotators_and_anonymous_visitors(run):
    training = TrainingRun.objects.create(project=run.project, reliability_run=run)
    urls = [
        f"/projects/{run.project_id}/runs/",
        f"/reliability-runs/{run.pk}/",
        f"/training-runs/{training.pk}/",
        f"/training-runs/{training.pk}/plots/plot_curves",
    ]
    for url in urls:
        assert as_role("annotator").get(url).status_code == 403, url
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/"), url


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_it_lists_reliability_runs_with_the_current_one_marked(run, role):
    older = ReliabilityRun.objects.create(project=run.project, method="mv", succeeded=True, metrics={"annotators": 6})
    failed_job = Job.objects.create(kind="reliability", project=run.project, status=JobStatus.FAILED, message="boom")
    ReliabilityRun.objects.create(project=run.project, job=failed_job)
    response = as_role(role).get(f"/projects/{run.project_id}/runs/")
    assert response.status_code == 200
    html = response.content.decode()
    current = html[html.index(f'data-run="{run.pk}"') :].split("</tr>")[0]
    assert (
        'class="current-run"' in html[html.index(f'data-run="{run.pk}"') - 40 : html.index(f'data-run="{run.pk}"') + 60]
    )
    assert "current" in current and f"{run.metrics['annotators_kept']} of 6" in current
    assert f"{run.metrics['krippendorff_alpha']:.3f}" in current
    assert f'data-run="{older.pk}"' in html and "boom" in html
    assert ("Recompute reliability" in html) == (role == "admin")
    assert f'href="/reliability-runs/{run.pk}/"' in html


def test_it_returns_the_running_run_to_a_second_trigger(django_capture_on_commit_callbacks):
    project = simulated_project(images=4, annotators=5)
    admin = as_role("admin")
    # Not executed: the first run stays queued, as while a worker is busy.
    with django_capture_on_commit_callbacks(execute=False):
        first = admin.post(f"/api/v1/projects/{project.pk}/reliability-runs", {}, content_type="application/json")
    second = admin.post(f"/api/v1/projects/{project.pk}/reliability-runs", {}, content_type="application/json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    page = admin.get(f"/projects/{project.pk}/runs/").content.decode()
    # The page follows the queued run's job and keeps the button disabled meanwhile.
    assert f'data-job="{first.json()["job"]}"' in page
    assert 'id="recompute" disabled' in page


def test_it_shows_a_new_current_runs_reliabilities_on_the_dashboard_at_once(django_capture_on_commit_callbacks):
    project = simulated_project(images=6, annotators=5, seed=3)
    admin = as_role("admin")
    before = admin.get(f"/projects/{project.pk}/dashboard/data").json()  # fills the 20 s cache
    assert before["reliability_run"] is None
    assert all(row["reliability"] is None for row in before["annotators"])
    run = recompute(project, django_capture_on_commit_callbacks)
    after = admin.get(f"/projects/{project.pk}/dashboard/data").json()
    assert after["reliability_run"]["id"] == run.pk
    assert all(row["reliability"] is not None for row in after["annotators"])
    page = admin.get(f"/projects/{project.pk}/dashboard/").content.decode()
    assert f'href="/reliability-runs/{run.pk}/"' in page and "Recompute reliability" in page
    assert (
        "Recompute reliability" not in as_role("researcher").get(f"/projects/{project.pk}/dashboard/").content.decode()
    )


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_it_shows_a_runs_metrics_classes_annotators_and_export_controls(run, role):
    response = as_role(role).get(f"/reliability-runs/{run.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    classes = response.context["classes"]
    assert sum(row["total"] for row in classes) == run.images.count()
    assert {row["subset"] for row in classes} <= {"basic", "compound", "none"}
    for row in classes:
        assert row["train"] + row["test"] <= row["total"]
    annotators = response.context["annotators"]
    assert len(annotators) == 6 and sum(a.kept for a in annotators) == run.metrics["annotators_kept"]
    assert html.count("dropped</td>") == 6 - run.metrics["annotators_kept"]
    assert 'data-metric="krippendorff_alpha"' in html
    assert 'data-method="hds"' in html and "hierarchical Dawid-Skene (default)" in html
    assert "not measured (no votes on gold images)" in html
    assert "Export dataset" in html and 'id="training-form"' in html
    assert "No export of this run yet." in html


def test_it_lists_earlier_exports_with_expiring_download_links(run, django_capture_on_commit_callbacks):
    researcher = as_role("researcher")
    with django_capture_on_commit_callbacks(execute=True):
        started = researcher.post(
            f"/api/v1/projects/{run.project_id}/exports", {"run": run.pk}, content_type="application/json"
        )
    assert started.status_code == 202
    export = DatasetExport.objects.get(pk=started.json()["export"]["id"])
    html = researcher.get(f"/reliability-runs/{run.pk}/").content.decode()
    assert f"Download export {export.pk}" in html and "link expires" in html
    link = html.split(f"Download export {export.pk}")[0].rsplit('href="', 1)[1].split('"')[0]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(Client().get(link).streaming_content)))
    assert any(name.endswith("distributions.csv") for name in archive.namelist())


def test_it_offers_no_export_or_training_on_an_unfinished_run(run):
    job = Job.objects.create(
        kind="reliability", project=run.project, status=JobStatus.RUNNING, **RUNNING_LEASE, progress=0.4
    )
    pending = ReliabilityRun.objects.create(project=run.project, job=job)
    html = as_role("admin").get(f"/reliability-runs/{pending.pk}/").content.decode()
    assert "running" in html and "Export dataset" not in html and "training-form" not in html


def test_it_starts_a_training_run_with_the_forms_fields_through_the_api(run, monkeypatch):
    # The form posts this body; the training itself is the dlpcnn tests' business, so the task
    # is replaced by a no-op here and only the stored request is checked.
    from annotation import tasks

    monkeypatch.setattr(tasks.training_run_execute_task, "apply_async", lambda *a, **k: None)
    for face in Face.objects.filter(image__project=run.project):
        face.aligned_grey.save("grey.png", ContentFile(PNG), save=True)
    # Twelve images are too few for a class of min_class_size: call them all basic training images.
    run.images.update(subset="basic", split="train")
    body = {
        "reliability_run": run.pk,
        "subset": "basic",
        "config": {"loss": "center", "iters": 40, "batch_size": 8, "lr": 0.01, "lambda_": 0.003, "k": 3, "seed": 1},
    }
    response = as_role("researcher").post(
        f"/api/v1/projects/{run.project_id}/training-runs", body, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    training = TrainingRun.objects.get(pk=response.json()["id"])
    assert training.config["loss"] == "center" and training.config["iters"] == 40
    html = as_role("researcher").get(f"/training-runs/{training.pk}/").content.decode()
    assert "Cancel training" in html and 'data-active="1"' in html


def make_finished_training(run: ReliabilityRun) -> TrainingRun:
    job = Job.objects.create(
        kind="training", project=run.project, status=JobStatus.SUCCEEDED, progress=1.0, message="Finished"
    )
    training = TrainingRun.objects.create(
        project=run.project,
        reliability_run=run,
        job=job,
        config={"loss": "lp", "iters": 100},
        metrics={"basic_softmax_mean_diagonal": 0.61, "basic_softmax_accuracy": 0.72, "iterations": 100},
    )
    training.artefacts = {
        "onnx": default_storage.save(f"training/{run.project_id}/{training.pk}/model.onnx", ContentFile(b"onnx")),
        "eval": default_storage.save(f"training/{run.project_id}/{training.pk}/eval.json", ContentFile(b"{}")),
        "plot_curves": default_storage.save(f"training/{run.project_id}/{training.pk}/curves.png", ContentFile(PNG)),
    }
    training.save()
    return training


@pytest.mark.parametrize("role", ["researcher", "admin"])
def test_it_shows_a_finished_training_runs_metrics_plots_and_downloads(run, role):
    training = make_finished_training(run)
    client = as_role(role)
    html = client.get(f"/training-runs/{training.pk}/").content.decode()
    assert 'data-metric="basic_softmax_mean_diagonal">0.61<' in html
    assert f'src="/training-runs/{training.pk}/plots/plot_curves"' in html and 'alt="Plot: curves' in html
    assert f'href="/api/v1/training-runs/{training.pk}/model.zip"' in html
    assert f'href="/api/v1/training-runs/{training.pk}/artefacts/onnx"' in html
    assert "Cancel training" not in html
    assert ("Set as current model" in html) == (role == "admin")
    plot = client.get(f"/training-runs/{training.pk}/plots/plot_curves")
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"
    assert b"".join(plot.streaming_content) == PNG
    # Only plots are served here; the model and unknown keys are not.
    assert client.get(f"/training-runs/{training.pk}/plots/onnx").status_code == 404
    assert client.get(f"/training-runs/{training.pk}/plots/plot_nothing").status_code == 404


def test_it_lets_an_admin_make_a_finished_run_the_current_model(run):
    training = make_finished_training(run)
    admin = as_role("admin")
    assert as_role("researcher").post(f"/api/v1/training-runs/{training.pk}/make-current").status_code == 403
    assert admin.post(f"/api/v1/training-runs/{training.pk}/make-current").status_code == 200
    html = admin.get(f"/training-runs/{training.pk}/").content.decode()
    assert "current model" in html and "Set as current model" not in html
    listing = admin.get(f"/projects/{run.project_id}/runs/").content.decode()
    assert f'Training run {training.pk}</a> <span class="badge ok">current model' in listing


def test_it_links_runs_and_the_face_queue_by_role(run):
    trusted = user("trusted-editor", "annotator")
    Qualification.objects.create(annotator=trusted, project_id=run.project_id, may_edit_faces=True)
    trusted_client = Client()
    trusted_client.force_login(trusted)
    home = {role: as_role(role).get("/").content.decode() for role in ROLES}
    runs_link = f'href="/projects/{run.project_id}/runs/"'
    assert runs_link not in home["annotator"] and runs_link in home["researcher"] and runs_link in home["admin"]
    assert "Face queue" in home["admin"] and "Face queue" not in home["researcher"]
    assert "Face queue" not in home["annotator"] and "Face queue" in trusted_client.get("/").content.decode()
    # The face pages now share the main layout: skip link, navigation, log out.
    queue = trusted_client.get("/faces/").content.decode()
    assert "Skip to main content" in queue and 'aria-current="page">Face queue' in queue and "Log out" in queue


def test_it_shows_a_real_tiny_training_runs_plots_metrics_and_downloads(
    project_with_labels,  # noqa: F811 (the fixture imported above)
    django_capture_on_commit_callbacks,
):
    """End to end through the training service: the page shows what a finished run stored."""
    project = project_with_labels
    run = ReliabilityRun.objects.get(project=project, is_current=True)
    admin = as_role("admin")
    # The form's fields, plus a tiny network so that this stays a unit test.
    config = {**TINY_CONFIG, "loss": "lp", "lr": 0.01, "lambda_": 0.003, "seed": 0}
    with django_capture_on_commit_callbacks(execute=True):
        started = admin.post(
            f"/api/v1/projects/{project.pk}/training-runs",
            {"reliability_run": run.pk, "subset": "basic", "config": config},
            content_type="application/json",
        )
    assert started.status_code == 201, started.content
    training = TrainingRun.objects.get(pk=started.json()["id"])
    response = admin.get(f"/training-runs/{training.pk}/")
    html = response.content.decode()
    assert 'data-metric="basic_svm_mean_diagonal"' in html and "Set as current model" in html
    plots = response.context["plots"]
    assert "plot_curves" in {plot["key"] for plot in plots}
    for plot in plots:
        served = admin.get(f"/training-runs/{training.pk}/plots/{plot['key']}")
        assert served.status_code == 200 and served["Content-Type"] == "image/png"
        assert b"".join(served.streaming_content).startswith(b"\x89PNG")
    assert {"onnx", "eval", "model_card_md"} <= {key for key, _ in response.context["downloads"]}
    zipped = admin.get(f"/api/v1/training-runs/{training.pk}/model.zip")
    assert zipped.status_code == 200 and zipfile.is_zipfile(io.BytesIO(b"".join(zipped.streaming_content)))


def test_it_shows_the_gold_accuracy_with_its_interval(run):
    run.metrics = {**run.metrics, "gold_images": 40, "gold_accuracy": 0.925, "gold_accuracy_ci95": [0.7985, 0.9742]}
    run.save(update_fields=["metrics"])
    html = as_role("researcher").get(f"/reliability-runs/{run.pk}/").content.decode()
    assert "92.5% of 40 gold images (95% CI 79.8% to 97.4%)" in html


def test_it_says_why_an_older_run_has_no_gold_accuracy(run):
    run.metrics = {key: value for key, value in run.metrics.items() if not key.startswith("gold")}
    run.save(update_fields=["metrics"])
    html = as_role("admin").get(f"/reliability-runs/{run.pk}/").content.decode()
    assert "not measured (run made before gold scoring)" in html
